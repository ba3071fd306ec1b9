import { setMaxListeners } from 'node:events';
import { createReadStream, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readJsonl } from '../io/jsonl.ts';
import { OpenAIBackend } from '../models/openai.ts';
import { resolveModel } from '../models/registry.ts';
import type { GenerateParams } from '../models/types.ts';
import { nowIso } from '../schema/index.ts';
import { MmalignError, RecordValidationError } from '../util/errors.ts';
import type { ConstructConfig } from './config.ts';
import { StageLedger } from './ledger.ts';
import { fingerprintHash, type RunEvent, runStage, type StageSummary } from './runner.ts';
import type { InputRecord, ResolvedModel, StageEnv } from './stage.ts';

/**
 * A construction run: the config's stages, in order, over one run folder:
 *
 *   RUN/run.json                     config, seed, timings
 *   RUN/media/…                      images written by data sources (content-addressed)
 *   RUN/stages/<name>/out.jsonl      the stage's records (exactly once each)
 *   RUN/stages/<name>/ledger.sqlite  the stage's ledger (WAL)
 *   RUN/summary.json                 counts per stage, failures, tokens/requests
 *
 * Rerunning the same command resumes: finished items are skipped, failed ones retried.
 */
export interface RunPipelineOptions {
  runDir: string;
  /** run only these stages (by name); their inputs must have finished */
  only?: readonly string[];
  maxInFlight?: number;
  /** fsync every commit (survives a power cut); default from the config's `durability` */
  durable?: boolean;
  onEvent?: (e: RunEvent) => void;
  signal?: AbortSignal;
}

export interface RunSummary {
  runDir: string;
  stages: StageSummary[];
  /** every stage that ran finished its plan, within the failure budget */
  ok: boolean;
  elapsedMs: number;
}

function stageDir(runDir: string, name: string): string {
  return path.join(runDir, 'stages', name);
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}

async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>)
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  return n;
}

async function isFinished(dir: string): Promise<boolean> {
  if (!existsSync(path.join(dir, 'ledger.sqlite'))) return false;
  const l = await StageLedger.open(dir);
  try {
    return l.getMeta('finished') === '1';
  } finally {
    l.close();
  }
}

export async function runPipeline(config: ConstructConfig, opts: RunPipelineOptions): Promise<RunSummary> {
  const started = Date.now();
  const runDir = path.resolve(opts.runDir);
  mkdirSync(runDir, { recursive: true });
  const runId = `construct-${fingerprintHash(config.raw).slice(0, 10)}`;
  const source = config.stages.find((s) => s.mediaRoot);
  const mediaRoot = source?.mediaRoot?.(runDir) ?? runDir;
  const runJson = path.join(runDir, 'run.json');
  writeJsonAtomic(runJson, {
    format: 'mmalign-construct',
    version: 1,
    run: runId,
    configFile: config.file,
    config: config.raw,
    seed: config.seed,
    mediaRoot,
    stages: config.stages.map((s) => ({ name: s.name, type: s.type, input: s.input })),
    startedAt: new Date(started).toISOString(),
    node: process.version,
  });

  const models = new Map<string, Promise<ResolvedModel>>();
  const resolve = (name: string): Promise<ResolvedModel> => {
    let m = models.get(name);
    if (!m) {
      const cfg = config.models[name];
      if (!cfg) throw new MmalignError('MMALIGN_CONFIG', `unknown model "${name}"`);
      m = (async () => {
        const apiKey = cfg.apiKeyEnv ? process.env[cfg.apiKeyEnv] : undefined;
        if (cfg.apiKeyEnv && !apiKey)
          throw new MmalignError('MMALIGN_CONFIG', `model "${name}": environment variable ${cfg.apiKeyEnv} is not set`);
        const model = await resolveModel(cfg.spec, {
          apiKey,
          concurrency: cfg.concurrency,
          retry: {
            ...(cfg.timeoutMs !== undefined ? { timeoutMs: cfg.timeoutMs } : {}),
            ...(cfg.maxRetries !== undefined ? { maxRetries: cfg.maxRetries } : {}),
            ...(cfg.retryDelayMs !== undefined ? { baseDelayMs: cfg.retryDelayMs } : {}),
          },
        });
        const defaults: GenerateParams = {};
        if (cfg.temperature !== undefined) defaults.temperature = cfg.temperature;
        if (cfg.topP !== undefined) defaults.topP = cfg.topP;
        if (cfg.maxTokens !== undefined) defaults.maxTokens = cfg.maxTokens;
        // an in-process model computes one request at a time; more in flight only queues
        const capacity = model instanceof OpenAIBackend ? model.capacity() : 1;
        return { name, config: cfg, model, capacity, defaults };
      })();
      m.catch(() => models.delete(name));
      models.set(name, m);
    }
    return m;
  };

  const abort = new AbortController();
  // every request in flight listens on this signal
  setMaxListeners(0, abort.signal);
  const onAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const summaries: StageSummary[] = [];
  let ok = true;
  try {
    for (const stage of config.stages) {
      if (opts.only && !opts.only.includes(stage.name)) continue;
      if (stage.input) {
        const dir = stageDir(runDir, stage.input);
        if (!(await isFinished(dir)))
          throw new MmalignError(
            'MMALIGN_STAGE_INPUT',
            `stage "${stage.name}" reads "${stage.input}", which has not finished`,
            {
              hint: `run it first: mmalign construct ${config.stages.find((s) => s.name === stage.input)?.type ?? stage.input} CONFIG`,
            },
          );
      }
      const env: StageEnv = {
        runDir,
        stageDir: stageDir(runDir, stage.name),
        mediaRoot,
        runId,
        seed: config.seed,
        now: nowIso,
        model: resolve,
        async *readInput(name: string): AsyncGenerator<InputRecord> {
          const file = path.join(stageDir(runDir, name), 'out.jsonl');
          for await (const e of readJsonl(file)) {
            if (!e.ok) throw new RecordValidationError([e.issue]);
            yield { value: e.value, file, line: e.line };
          }
        },
        countInput: (name: string) => countLines(path.join(stageDir(runDir, name), 'out.jsonl')),
        signal: abort.signal,
      };
      const backends: OpenAIBackend[] = [];
      for (const name of stage.models) {
        const m = (await resolve(name)).model;
        if (m instanceof OpenAIBackend) backends.push(m);
      }
      const attempts = () => (backends.length ? backends.reduce((t, b) => t + b.usage().attempts, 0) : undefined);
      const summary = await runStage(stage, env, {
        stageDir: env.stageDir,
        maxInFlight: opts.maxInFlight ?? config.concurrency,
        maxConsecutiveFailures: config.maxConsecutiveFailures,
        durable: opts.durable ?? config.durability === 'power',
        onEvent: opts.onEvent,
        attempts,
      });
      summaries.push(summary);
      if (summary.stopped) {
        ok = false;
        throw new MmalignError('MMALIGN_STAGE_STOPPED', `stage "${stage.name}" stopped: ${summary.stopped}`, {
          hint: `${summary.done} items are committed in ${summary.output}; fix the cause and rerun the same command to finish`,
        });
      }
      const allowed = Math.floor(config.maxFailedFraction * summary.planned);
      if (summary.failed > allowed) {
        ok = false;
        const first = summary.failures[0];
        throw new MmalignError(
          'MMALIGN_STAGE_FAILURES',
          `stage "${stage.name}": ${summary.failed} of ${summary.planned} items failed (allowed ${allowed})${first ? `; e.g. ${first.key}: ${first.message}` : ''}`,
          { hint: 'rerun the same command to retry only the failed items, or raise maxFailedFraction' },
        );
      }
    }
    return { runDir, stages: summaries, ok, elapsedMs: Date.now() - started };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    writeJsonAtomic(path.join(runDir, 'summary.json'), {
      run: runId,
      ok,
      finishedAt: new Date().toISOString(),
      elapsedMs: Date.now() - started,
      stages: summaries,
    });
    for (const m of models.values()) {
      const r = await m.catch(() => undefined);
      await r?.model.close?.();
    }
  }
}
