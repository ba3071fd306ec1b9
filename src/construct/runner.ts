import { createHash } from 'node:crypto';
import { Semaphore } from '../models/openai-dispatch.ts';
import { RECORD_SCHEMAS, zodIssues } from '../schema/index.ts';
import { MmalignError, RecordValidationError } from '../util/errors.ts';
import { type CommitItem, type FailureRow, type LedgerUsage, type RepairReport, StageLedger } from './ledger.ts';
import type { Stage, StageEnv, WorkItem, WorkOutcome } from './stage.ts';

/**
 * Runs one stage to completion, exactly once per work item: skip keys the ledger holds, keep at most `maxInFlight`
 * items running (the backends' semaphores hold each endpoint to its own limit), validate every output record,
 * group-commit finished items (all that finished in one event-loop turn go in one transaction), and stop early
 * after `maxConsecutiveFailures` failures in a row. Whatever was committed stays committed.
 */

export interface StageSummary {
  name: string;
  type: string;
  /** planned items (known after planning) */
  planned: number;
  /** items committed, over all runs */
  done: number;
  /** items committed by earlier runs */
  doneBefore: number;
  /** items committed by this run */
  doneNow: number;
  /** items whose last attempt failed (retried on the next run) */
  failed: number;
  records: number;
  /** tokens over all runs (from the ledger); requests counted per item */
  usage: LedgerUsage;
  /** HTTP attempts this run (retries included), where the backend counts them */
  attemptsNow?: number;
  elapsedMs: number;
  /** items per second this run */
  rate: number;
  repair: RepairReport;
  failures: FailureRow[];
  /** why the stage stopped before finishing its plan */
  stopped?: string;
  /** the stage's own statistics (Stage.summarize), when it finished its plan */
  stats?: Record<string, unknown>;
  output: string;
}

export type RunEvent =
  | { type: 'stage-start'; stage: string; total?: number; done: number; repair: RepairReport }
  | { type: 'progress'; stage: string; done: number; failed: number; total?: number }
  | { type: 'stage-end'; summary: StageSummary };

export interface RunStageOptions {
  stageDir: string;
  maxInFlight?: number;
  maxConsecutiveFailures?: number;
  durable?: boolean;
  onEvent?: (e: RunEvent) => void;
  /** HTTP attempts so far of the stage's models, to report this run's share */
  attempts?: () => number | undefined;
}

export function fingerprintHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

export async function runStage(stage: Stage, env: StageEnv, opts: RunStageOptions): Promise<StageSummary> {
  const started = Date.now();
  const ledger = await StageLedger.open(opts.stageDir, 'out.jsonl', { durable: opts.durable });
  let closed = false;
  const close = () => {
    if (!closed) ledger.close();
    closed = true;
  };
  try {
    const fp = fingerprintHash({ type: stage.type, input: stage.input, fingerprint: stage.fingerprint });
    const prev = ledger.getMeta('fingerprint');
    if (prev && prev !== fp)
      throw new MmalignError(
        'MMALIGN_STAGE_CHANGED',
        `stage "${stage.name}" in ${opts.stageDir} was run with different parameters or models; its records would mix`,
        { hint: `use a new run folder, or delete ${opts.stageDir} (and the stages after it) to redo it` },
      );
    if (!prev) ledger.setMeta('fingerprint', fp);
    ledger.setMeta('finished', '0');

    const done = ledger.doneKeys();
    const doneBefore = done.size;
    const total = await stage.count(env);
    opts.onEvent?.({ type: 'stage-start', stage: stage.name, total, done: doneBefore, repair: ledger.repairReport });
    const attemptsAtStart = opts.attempts?.();
    const cap = Math.max(1, opts.maxInFlight ?? (await stage.concurrency(env)));
    const maxConsecutive = opts.maxConsecutiveFailures ?? 25;
    const schema = RECORD_SCHEMAS[stage.output];

    const sem = new Semaphore(cap);
    const running = new Set<Promise<void>>();
    const seen = new Set<string>();
    let pending: CommitItem[] = [];
    let pendingFail: { key: string; code: string; message: string }[] = [];
    let flushScheduled = false;
    let fatal: unknown;
    let stopped: string | undefined;
    let consecutive = 0;
    let doneNow = 0;
    let failedNow = 0;
    let planned = 0;

    const flush = () => {
      flushScheduled = false;
      const items = pending;
      const fails = pendingFail;
      pending = [];
      pendingFail = [];
      ledger.commit(items, fails);
    };
    const schedule = () => {
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(() => {
          try {
            flush();
          } catch (e) {
            fatal ??= e;
          }
        });
      }
    };

    const settle = (item: WorkItem, outcome: WorkOutcome) => {
      if (outcome.ok) {
        let lines = '';
        for (const rec of outcome.records) {
          const r = schema.safeParse(rec);
          if (!r.success)
            throw new RecordValidationError(
              zodIssues(r.error).map((i) => ({ ...i, file: `stage ${stage.name}`, path: `${item.key}: ${i.path}` })),
              'a stage produced an invalid record: this is a bug in the stage',
            );
          lines += `${JSON.stringify(r.data)}\n`;
        }
        pending.push({ key: item.key, lines, records: outcome.records.length, usage: outcome.usage });
        consecutive = 0;
        doneNow++;
      } else {
        pendingFail.push({ key: item.key, code: outcome.error.code, message: outcome.error.message });
        failedNow++;
        if (++consecutive >= maxConsecutive && !stopped)
          stopped = `${consecutive} items failed in a row; last: ${outcome.error.message} [${outcome.error.code}]`;
      }
      schedule();
      opts.onEvent?.({ type: 'progress', stage: stage.name, done: doneBefore + doneNow, failed: failedNow, total });
    };

    try {
      for await (const item of stage.plan(env)) {
        if (fatal || stopped || env.signal.aborted) break;
        if (seen.has(item.key))
          throw new MmalignError('MMALIGN_STAGE_KEY', `stage "${stage.name}" planned the key "${item.key}" twice`);
        seen.add(item.key);
        planned++;
        if (done.has(item.key)) continue;
        await sem.acquire();
        if (fatal || stopped || env.signal.aborted) {
          sem.release();
          break;
        }
        const p: Promise<void> = stage
          .run(item, env)
          .then(
            (o) => settle(item, o),
            (e) => {
              fatal ??= e;
            },
          )
          .catch((e) => {
            fatal ??= e;
          })
          .finally(() => {
            sem.release();
            running.delete(p);
          });
        running.add(p);
      }
    } catch (e) {
      fatal ??= e;
    }
    await Promise.all(running);
    flush();
    if (env.signal.aborted && !stopped) stopped = 'aborted';
    if (fatal) throw fatal;

    const totals = ledger.totals();
    const stats = !stopped && stage.summarize ? await stage.summarize(env, ledger.outPath) : undefined;
    if (!stopped) ledger.setMeta('finished', '1');
    const attemptsEnd = opts.attempts?.();
    const elapsedMs = Date.now() - started;
    const summary: StageSummary = {
      name: stage.name,
      type: stage.type,
      planned,
      done: totals.items,
      doneBefore,
      doneNow,
      failed: totals.failed,
      records: totals.records,
      usage: totals.usage,
      attemptsNow:
        attemptsAtStart !== undefined && attemptsEnd !== undefined ? attemptsEnd - attemptsAtStart : undefined,
      elapsedMs,
      rate: doneNow / Math.max(1e-3, elapsedMs / 1000),
      repair: ledger.repairReport,
      failures: ledger.failures(),
      stopped,
      ...(stats ? { stats } : {}),
      output: ledger.outPath,
    };
    close();
    opts.onEvent?.({ type: 'stage-end', summary });
    return summary;
  } finally {
    close();
  }
}
