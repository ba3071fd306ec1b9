import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { atomicWriteFile } from '../../io/atomic.ts';
import type { VisionLanguageModel } from '../../models/types.ts';
import { renderRunReport } from '../../report/html.ts';
import { RunMetrics, type RunMetricsInput } from '../../report/metrics.ts';
import { lookup } from '../../util/table.ts';
import type { WorldConfig } from '../../world/index.ts';
import { buildContext, type SuiteContext } from './context.ts';
import { type FileSuiteOptions, runAmberFileSuite, runPopeFileSuite } from './file-suites.ts';
import { runMmhalFileSuite, runRewardFileSuite } from './mmhal-reward-suites.ts';
import { runShapesSuite, type SuiteOutput } from './shapes.ts';
import { SUITE_INFO, type SuiteName } from './suites.ts';

/** Every suite of SUITE_INFO with its function (`satisfies` makes a missing or extra one a type error). */
export const SUITES = {
  shapes: { description: SUITE_INFO.shapes, run: (ctx: SuiteContext) => runShapesSuite(ctx) },
  pope: { description: SUITE_INFO.pope, run: runPopeFileSuite },
  amber: { description: SUITE_INFO.amber, run: runAmberFileSuite },
  mmhal: { description: SUITE_INFO.mmhal, run: runMmhalFileSuite },
  reward: { description: SUITE_INFO.reward, run: runRewardFileSuite },
} as const satisfies Record<
  SuiteName,
  { description: string; run: (ctx: SuiteContext, o: FileSuiteOptions) => Promise<SuiteOutput> }
>;

export function mmalignVersion(): string {
  const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

export interface RunOptions {
  suite: string;
  modelSpec: string;
  model: VisionLanguageModel;
  judgeSpec?: string;
  judge?: VisionLanguageModel;
  referenceSpec?: string;
  reference?: VisionLanguageModel;
  out: string;
  seed?: number;
  limit?: number;
  /** `shapes` suite: items of particular tasks, overriding `limit` for them */
  limits?: Readonly<Record<string, number>>;
  /** ShapeWorld knobs for the `shapes` suite (default: the world's defaults) */
  world?: WorldConfig;
  resamples?: number;
  log?: (line: string) => void;
  /** file-based suites: benchmark files, image folder, parsing rule */
  data?: string[];
  images?: string;
  parser?: string;
  /** called once per response, score or judgement written to the run's caches (for the `interrupted:` line) */
  onCached?: () => void;
}

export interface RunResult {
  out: string;
  metricsPath: string;
  reportPath: string;
  metrics: RunMetrics;
}

/** Run a suite into `out`: cached responses, metrics.json (reproducibility info included) and report.html. */
export async function runSuite(o: RunOptions): Promise<RunResult> {
  const suite = lookup(SUITES, 'suite', o.suite);
  const log = o.log ?? (() => {});
  mkdirSync(o.out, { recursive: true });
  const seed = o.seed ?? 0;
  const started = Date.now();
  const runJson = {
    suite: o.suite,
    model: o.modelSpec,
    judge: o.judgeSpec ?? null,
    reference: o.referenceSpec ?? null,
    seed,
    limit: o.limit ?? null,
    limits: o.limits ?? null,
    startedAt: new Date(started).toISOString(),
  };
  const ctx = buildContext({
    seed,
    limit: o.limit,
    limits: o.limits,
    world: o.world,
    outDir: o.out,
    boot: { seed, resamples: o.resamples ?? 1000 },
    log,
    onCached: o.onCached,
    model: o.model,
    judge: o.judge,
    reference: o.reference,
  });
  const res = await suite.run(ctx, { data: o.data ?? [], images: o.images, parser: o.parser });
  const metricsIn: RunMetricsInput = {
    schema: 'mmalign.eval/1',
    mmalign_version: mmalignVersion(),
    created_at: new Date().toISOString(),
    suite: o.suite,
    model: { spec: o.modelSpec, id: o.model.id },
    judge: res.judge ? { spec: o.judgeSpec ?? 'rule', id: res.judge.id, prompts: res.judge.prompts } : null,
    decoding: res.decoding,
    seeds: { suite: seed, bootstrap: seed },
    files: res.files,
    benchmarks: res.entries,
    timings: { total: (Date.now() - started) / 1000 },
    notes: res.notes,
  };
  const metrics = RunMetrics.parse(metricsIn);
  // Only the response caches grow during the run; the files that describe it are written together at the end, each
  // atomically, so an interrupted rerun leaves a previous run's files as they were (the caches are keyed by request).
  for (const f of res.outputs ?? []) await atomicWriteFile(path.join(o.out, f.path), f.text);
  await atomicWriteFile(path.join(o.out, 'run.json'), `${JSON.stringify(runJson, null, 2)}\n`);
  const metricsPath = path.join(o.out, 'metrics.json');
  await atomicWriteFile(metricsPath, `${JSON.stringify(metrics, null, 2)}\n`);
  const reportPath = path.join(o.out, 'report.html');
  await atomicWriteFile(reportPath, renderRunReport(metrics));
  return { out: o.out, metricsPath, reportPath, metrics };
}
