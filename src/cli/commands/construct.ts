import path from 'node:path';
import type { Command } from 'commander';
import type { RunEvent, RunSummary } from '../../construct/index.ts';
import { STAGE_TYPES, STAGES } from '../../construct/stages/index.ts';
import { MmalignError } from '../../util/errors.ts';
import { createProgress, type Progress } from '../progress.ts';

/**
 * `mmalign construct CONFIG` runs a preference-data construction pipeline; `mmalign construct <stage> CONFIG` runs
 * only the stage(s) of that type, for scripting. Rerunning the same command resumes where a killed run stopped.
 */
interface Opts {
  run?: string;
  concurrency?: string;
  name?: string[];
  json?: boolean;
  workers?: string;
}

function formatSummary(s: RunSummary): string {
  const rows = s.stages.map((st) => {
    const tok = st.usage.promptTokens + st.usage.completionTokens;
    const parts = [
      `${st.name} (${st.type}): ${st.done}/${st.planned} items`,
      `${st.records} records`,
      `${st.doneNow} now at ${st.rate.toFixed(1)}/s`,
      `${st.failed} failed`,
      `${st.usage.requests} requests`,
      `${tok} tokens (${st.usage.promptTokens} prompt + ${st.usage.completionTokens} completion)`,
    ];
    if (st.attemptsNow !== undefined) parts.push(`${st.attemptsNow} HTTP attempts this run`);
    if (st.repair.truncatedBytes || st.repair.reappended || st.repair.rebuilt)
      parts.push(`repaired output (cut ${st.repair.truncatedBytes} bytes, re-appended ${st.repair.reappended} items)`);
    const fails = st.failures.slice(0, 3).map((f) => `\n    failed ${f.key}: ${f.message} [${f.code}]`);
    return `  ${parts.join(', ')}${fails.join('')}`;
  });
  return `construct: ${s.runDir} (${(s.elapsedMs / 1000).toFixed(1)} s)\n${rows.join('\n')}\n`;
}

async function run(configFile: string, o: Opts, only?: (names: { name: string; type: string }[]) => string[]) {
  const { parseWorkers, setSamplingWorkers } = await import('../../train/parallel/index.ts');
  setSamplingWorkers(parseWorkers(o.workers));
  const { loadConstructConfig, runPipeline } = await import('../../construct/index.ts');
  const config = loadConstructConfig(configFile, STAGES);
  const runDir = o.run ?? (config.run ? path.resolve(config.dir, config.run) : undefined);
  if (!runDir) throw new MmalignError('MMALIGN_CLI', 'no run folder: give --run DIR or `run:` in the config');
  let maxInFlight: number | undefined;
  if (o.concurrency !== undefined) {
    maxInFlight = Number(o.concurrency);
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1)
      throw new MmalignError('MMALIGN_CLI', `--concurrency must be a positive integer, got "${o.concurrency}"`);
  }
  const bars = new Map<string, Progress>();
  let itemsNow = 0;
  const onEvent = (e: RunEvent) => {
    if (e.type === 'stage-start') {
      // the bar counts this run's items: resumed ones are reported once, not as a burst of progress
      const left = e.total === undefined ? 0 : Math.max(0, e.total - e.done);
      const p = createProgress(e.done ? `${e.stage} (${e.done} done before)` : e.stage, left, { unit: 'items' });
      bars.set(e.stage, p);
      const r = e.repair;
      if (r.truncatedBytes || r.reappended || r.rebuilt)
        process.stderr.write(
          `${e.stage}: resumed; output repaired (cut ${r.truncatedBytes} bytes${r.rebuilt ? ', rebuilt from the ledger' : ''}, re-appended ${r.reappended} items)\n`,
        );
    } else if (e.type === 'progress') {
      itemsNow++;
      bars.get(e.stage)?.tick(1, { failed: e.failed });
    } else bars.get(e.summary.name)?.stop();
  };
  const ac = new AbortController();
  const { interruptExitCode, interruptMessage, onGracefulStop } = await import('../interrupt.ts');
  const offStop = onGracefulStop(
    () => ac.abort(new Error('interrupted')),
    'construct: finishing the requests in flight (Ctrl-C again to quit now; finished ones are kept)',
  );
  try {
    const summary = await runPipeline(config, {
      runDir,
      maxInFlight,
      only: only?.(config.stages),
      onEvent,
      signal: ac.signal,
    });
    process.stderr.write(formatSummary(summary));
    if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    if (ac.signal.aborted) {
      process.stderr.write(`${interruptMessage({ done: itemsNow, unit: 'items (this run)' })}\n`);
      process.exitCode = interruptExitCode();
    }
  } catch (e) {
    if (!ac.signal.aborted) throw e;
    process.stderr.write(`${interruptMessage({ done: itemsNow, unit: 'items (this run)' })}\n`);
    process.exitCode = interruptExitCode();
  } finally {
    offStop();
    for (const b of bars.values()) b.stop();
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('construct')
    .description(
      `Build preference data with a resumable pipeline from a YAML/JSON config (stages: ${STAGE_TYPES.join(', ')})`,
    )
    .argument('[config]', 'pipeline config (YAML or JSON)')
    .option('--run <dir>', 'run folder (default: `run:` in the config, relative to it)')
    .option('--concurrency <n>', "items in flight per stage (default: the models' endpoint capacity)")
    .option('--json', 'also print the run summary as JSON on stdout')
    .option(
      '--workers <n>',
      'embedded-model sampling split across replicas on worker threads (default: the number of cores)',
    )
    .addHelpText(
      'after',
      `
Example config (YAML; every key is checked, a misspelt one is an error naming it):
  run: runs/demo
  seed: 1
  models:
    policy: { spec: "http://127.0.0.1:8000/v1", concurrency: 16, temperature: 1.0, policy: true }
    other:  { spec: "openai:gpt-4o-mini@https://api.example.com/v1", apiKeyEnv: OPENAI_API_KEY }
  stages:
    - stage: source
      shapeworld: { tasks: [caption], n: 200 }      # or: files: [samples.jsonl]
    - stage: responses
      models: [policy, other]
      n: 4

Kill it at any moment and rerun the same command: finished requests are kept, none is written twice.
Output: RUN/stages/<name>/out.jsonl, a summary in RUN/summary.json.`,
    )
    .action(async (config: string | undefined, o: Opts) => {
      if (!config) {
        cmd.help({ error: true });
        return;
      }
      await run(config, o);
    });
  for (const type of STAGE_TYPES) {
    cmd
      .command(type)
      .description(`run only the ${type} stage(s) of CONFIG: ${STAGES[type].description}`)
      .argument('<config>', 'pipeline config (YAML or JSON)')
      .option('--run <dir>', 'run folder (default: `run:` in the config)')
      .option('--name <stage...>', `which ${type} stage(s), by name (default: all of this type)`)
      .option('--concurrency <n>', 'items in flight')
      .option('--json', 'also print the run summary as JSON on stdout')
      .option(
        '--workers <n>',
        'embedded-model sampling split across replicas on worker threads (default: the number of cores)',
      )
      .action(async (config: string, _o: Opts, sub: Command) => {
        // options shared with `construct` may be parsed by it: read both levels
        const o = sub.optsWithGlobals<Opts>();
        await run(config, o, (stages) => {
          const mine = stages.filter((s) => s.type === type).map((s) => s.name);
          if (mine.length === 0) throw new MmalignError('MMALIGN_CLI', `${config} has no ${type} stage`);
          for (const n of o.name ?? [])
            if (!mine.includes(n))
              throw new MmalignError(
                'MMALIGN_CLI',
                `${config} has no ${type} stage named "${n}"; it has: ${mine.join(', ')}`,
              );
          return o.name ?? mine;
        });
      });
  }
}
