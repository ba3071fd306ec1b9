import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { disposeVlm, initTf } from '../nn/index.ts';
import { type CompareResult, compareRuns, RunMetrics, renderCompareReport } from '../report/index.ts';
import { loadSftData, trainSft } from '../train/index.ts';
import { MmalignError } from '../util/errors.ts';
import { generateWorld, parseWorldConfig, type WorldConfig } from '../world/index.ts';
import { type Aggregate, aggregateSeeds, aggregateText, renderAggregateReport } from './aggregate.ts';
import { runCachedStage, type StageRecord } from './cache.ts';
import { runInLanes } from './lanes.ts';
import {
  type AlignResult,
  type BuiltSet,
  type MethodContext,
  type MethodRecords,
  methodRunner,
  type StageRunner,
} from './methods.ts';
import { type PromptTask, promptTasksOf, type Recipe } from './schema.ts';
import { controlsOf, type MethodRow, methodTable, renderRecipeReport, tableText } from './summary.ts';

/**
 * Runs a recipe: world → SFT → preference sets → one aligned checkpoint per method → the same eval suite on every
 * checkpoint → a comparison report. Every stage is cached by the hash of its config and inputs (./cache.ts), so a
 * rerun skips finished stages and a killed run resumes where it stopped. With `workers` > 1, SFT spreads its fixed
 * gradient shards over replicas, set sampling its prompts, and the methods (align + eval, ./methods.ts) run side by
 * side on lane threads (./lanes.ts); none of it changes a number.
 */
export interface RecipeEvents {
  stage?: (name: string, state: 'start' | 'cached' | 'done', seconds?: number) => void;
  progress?: (stage: string, done: number, total: number, info?: Record<string, number>) => void;
  log?: (line: string) => void;
  /** a multi-seed run starts seed `seed` (the `index`-th of `of`) */
  seed?: (seed: number, index: number, of: number) => void;
}

export interface RecipeResult {
  out: string;
  seed: number;
  rows: MethodRow[];
  /** each method's eval metrics (per-item values included), by method name */
  runs: Record<string, RunMetrics>;
  table: string;
  reportPath: string;
  metricsPath: string;
  stages: { name: string; key: string; cached: boolean; seconds: number }[];
}

export async function runRecipe(
  recipe: Recipe,
  opts: {
    out?: string;
    events?: RecipeEvents /** where the report goes (default: out); stages stay in out */;
    resultsDir?: string;
    workers?: number;
  } = {},
): Promise<RecipeResult> {
  const out = path.resolve(opts.out ?? recipe.out ?? path.join('runs', recipe.name));
  const results = path.resolve(opts.resultsDir ?? out);
  mkdirSync(results, { recursive: true });
  await initTf();
  const ev = opts.events ?? {};
  const log = ev.log ?? (() => {});
  const stages: StageRecord<unknown>[] = [];
  const runStage: StageRunner = async (name, material, run) => {
    ev.stage?.(name, 'start');
    const r = await runCachedStage(out, name, material, run);
    ev.stage?.(name, r.cached ? 'cached' : 'done', r.seconds);
    return r;
  };
  /** a stage of this function's own (the methods' stages come back in their records) */
  const stage: StageRunner = async (name, material, run) => {
    const r = await runStage(name, material, run);
    stages.push(r);
    return r;
  };
  const world: WorldConfig = parseWorldConfig(recipe.world.config);
  const createdAt = new Date(Date.UTC(2025, 0, 1) + recipe.seed * 1000).toISOString();

  // 1. data: SFT world and the caption prompts the preference sets are built from (fresh scenes, other seed)
  const sftWorld = await stage('world', { world: recipe.world, seed: recipe.seed }, async (dir) => {
    const m = generateWorld(world, {
      seed: recipe.seed,
      n: recipe.world.train,
      counts: recipe.world.counts,
      outDir: dir,
      tasks: recipe.world.tasks,
      splits: ['train'],
    });
    return {
      dir,
      samples: Object.values(m.counts).reduce((a, c) => a + Object.values(c).reduce((x, y) => x + y, 0), 0),
    };
  });
  /**
   * Fresh prompt scenes of the construct split (never the SFT world's or the eval suite's): captions for the
   * hallucination sets, and the other scenarios' tasks (count / arith, safety requests) in a world of their own, built
   * only when a set or method asks, so the caption prompts (and every hallucination result) stay what they were.
   * `tasks` is part of the key only for the latter (the caption stage's key predates it).
   */
  const promptStage = (name: string, tasks: readonly PromptTask[], seedOffset: number) =>
    stage(
      name,
      {
        world: recipe.world.config,
        n: recipe.construct.prompts,
        seed: recipe.seed,
        split: recipe.construct.split,
        tasks: name === 'prompts' ? undefined : tasks,
      },
      async (dir) => {
        generateWorld(world, {
          seed: recipe.seed + seedOffset,
          n: recipe.construct.prompts,
          outDir: dir,
          tasks: [...tasks],
          splits: [recipe.construct.split],
        });
        return { dir };
      },
    );
  const promptWorld = await promptStage('prompts', ['caption'], 7919);
  const otherTasks = promptTasksOf(recipe).filter((t) => t !== 'caption');
  const taskWorld = otherTasks.length === 0 ? null : await promptStage('task-prompts', otherTasks, 15838);

  // 2. SFT
  const sft = await stage('sft', { sft: recipe.sft, world: sftWorld.key, seed: recipe.seed }, async (dir) => {
    const ckpt = path.join(dir, 'checkpoint');
    const imageSize = world.imageSize;
    const data = await loadSftData(sftWorld.result.dir, { imageSize, split: 'train' });
    const r = await trainSft({
      config: { seed: recipe.seed, ...recipe.sft },
      train: data.examples,
      outDir: ckpt,
      resume: true,
      workers: opts.workers,
      data: { path: data.file, sha256: data.sha256, samples: data.examples.length },
      onProgress: (p) => ev.progress?.('sft', p.step, p.totalSteps, { loss: p.loss, 'tok/s': p.tokensPerSec }),
    });
    const result = {
      checkpoint: ckpt,
      wallSeconds: r.wallMs / 1000,
      steps: r.steps,
      parameters: r.parameters,
      tokensPerSec: r.tokensPerSec,
      evalLoss: r.evalLoss,
    };
    disposeVlm(r.model);
    return result;
  });

  // 3. preference sets, in the order the recipe lists them
  const ctx: MethodContext = {
    recipe,
    out,
    createdAt,
    sft: { key: sft.key, checkpoint: sft.result.checkpoint },
    sftWorld: sftWorld.result.dir,
    captions: { root: promptWorld.result.dir, stage: promptWorld.key },
    tasks: taskWorld ? { root: taskWorld.result.dir, stage: taskWorld.key } : null,
    sets: {},
  };
  const setResults = new Map<string, BuiltSet>();
  await methodRunner(ctx, stage, { progress: ev.progress, log }).buildSets(
    Object.keys(recipe.construct.sets),
    sft.result.checkpoint,
    sft.key,
    setResults,
  );
  ctx.sets = Object.fromEntries(setResults);

  // 4–5. per method: an aligned checkpoint, then the same suite on it; methods side by side on lanes when there are
  // workers to spare (results are the same either way: each method runs on one thread)
  const runner = methodRunner(ctx, runStage, { progress: ev.progress, log });
  const methodNames = Object.keys(recipe.align.methods);
  const records = new Map<string, MethodRecords>();
  for (const name of methodNames) {
    const done = runner.cached(name);
    if (!done) continue;
    for (const r of done.stages) ev.stage?.(r.name, 'cached', r.seconds);
    records.set(name, done);
  }
  const toRun = methodNames.filter((n) => !records.has(n));
  const lanes = Math.min(Math.max(1, Math.floor(opts.workers ?? 1)), toRun.length);
  if (lanes > 1) {
    // no progress bars from the lanes (two at once would fight over one line): each stage's line says when it ends
    // longest first, so that no long method starts last and runs alone while the other lanes idle
    const longestFirst = [...toRun].sort((a, b) => methodCost(recipe, b) - methodCost(recipe, a));
    const laneResults = await runInLanes(ctx, longestFirst, lanes, { stage: ev.stage, log });
    for (const [name, r] of laneResults) records.set(name, r);
  } else {
    for (const name of toRun) records.set(name, await runner.alignAndEval(name));
  }
  const aligned = new Map<string, StageRecord<AlignResult>>();
  const evals = new Map<string, RunMetrics>();
  for (const name of methodNames) {
    const r = records.get(name) as MethodRecords;
    stages.push(...r.stages);
    aligned.set(name, r.align);
    evals.set(name, RunMetrics.parse(JSON.parse(readFileSync(r.eval.result.metricsPath, 'utf8'))));
  }

  // 6. compare: against SFT and against each method's SFT-on-chosen control
  const names = [...evals.keys()];
  const labels = names.map((n) => recipe.align.methods[n].label ?? n);
  const runs = names.map((n) => evals.get(n)!);
  const controls = controlsOf(recipe.align.methods, recipe.compare.control);
  const comparisons: Record<string, CompareResult> = {};
  for (const base of new Set([recipe.compare.baseline, ...Object.values(controls)])) {
    if (!base || !evals.has(base)) continue;
    const order = [base, ...names.filter((n) => n !== base)];
    comparisons[base] = compareRuns(
      order.map((n) => evals.get(n)!),
      order.map((n) => recipe.align.methods[n].label ?? n),
      { resamples: recipe.eval.bootstrap, seed: recipe.seed },
    );
  }
  const rows = methodTable(names, labels, runs, {
    align: Object.fromEntries([...aligned].map(([n, r]) => [n, r.result])),
    sets: Object.fromEntries([...setResults].map(([n, s]) => [n, { records: s.records, cost: s.cost }])),
    methods: recipe.align.methods,
    comparisons,
    baseline: recipe.compare.baseline,
    controls,
    sftSeconds: sft.result.wallSeconds,
  });
  const table = tableText(rows);
  const metricsPath = path.join(results, 'metrics.json');
  const summary = {
    recipe: recipe.name,
    seed: recipe.seed,
    sft: sft.result,
    sets: Object.fromEntries(
      [...setResults].map(([n, s]) => [n, { records: s.records, stats: s.stats, cost: s.cost }]),
    ),
    methods: rows,
    stages: stages.map((s) => ({ name: s.name, key: s.key, cached: s.cached, seconds: s.seconds })),
  };
  writeFileSync(metricsPath, `${JSON.stringify(summary, null, 2)}\n`);
  const reportPath = path.join(results, 'report.html');
  writeFileSync(
    reportPath,
    renderRecipeReport(recipe, rows, summary, Object.values(comparisons).map(renderCompareReport)),
  );
  writeFileSync(path.join(results, 'table.txt'), `${table}\n`);
  return {
    out: results,
    seed: recipe.seed,
    rows,
    runs: Object.fromEntries(evals),
    table,
    reportPath,
    metricsPath,
    stages: summary.stages,
  };
}

/**
 * A method's rough cost in preference-batch steps, to order the lanes' queue: an online step samples a group per
 * prompt (8 × 8 rollouts, measured ~4× a batch step), an iterative method samples its rounds' sets too.
 */
function methodCost(recipe: Recipe, name: string): number {
  const m = recipe.align.methods[name];
  if (m.objective === 'none') return 0;
  const steps = m.steps ?? recipe.align.steps;
  return steps * (m.online ? 4 : 1) * (m.rounds > 1 ? 1.5 : 1);
}

export interface SeedsResult {
  out: string;
  perSeed: RecipeResult[];
  aggregate: Aggregate;
  table: string;
  reportPath: string;
  metricsPath: string;
}

/**
 * The recipe once per seed, every seed's stages in the same `<out>/stages` (keys include the seed, so a seed run
 * before, alone or with other seeds, is reused), each seed's report in `<out>/seed-<s>/`, and the aggregate
 * (aggregate.ts) in `<out>/`: table.txt, metrics.json, report.html.
 */
export async function runRecipeSeeds(
  recipe: Recipe,
  seeds: readonly number[],
  opts: { out?: string; events?: RecipeEvents; workers?: number } = {},
): Promise<SeedsResult> {
  if (new Set(seeds).size !== seeds.length)
    throw new MmalignError('MMALIGN_RECIPE_SEEDS', `seeds repeat: ${seeds.join(', ')}`, {
      hint: 'give each seed once, e.g. --seeds 1,2,3',
    });
  const out = path.resolve(opts.out ?? recipe.out ?? path.join('runs', recipe.name));
  const perSeed: RecipeResult[] = [];
  for (const seed of seeds) {
    opts.events?.seed?.(seed, perSeed.length, seeds.length);
    perSeed.push(
      await runRecipe(
        { ...recipe, seed },
        { out, events: opts.events, resultsDir: path.join(out, `seed-${seed}`), workers: opts.workers },
      ),
    );
  }
  const aggregate = aggregateSeeds(
    perSeed.map((r) => ({ seed: r.seed, rows: r.rows, runs: r.runs })),
    recipe.compare.baseline,
  );
  const table = aggregateText(aggregate);
  const metricsPath = path.join(out, 'metrics.json');
  writeFileSync(
    metricsPath,
    `${JSON.stringify({ recipe: recipe.name, seeds, aggregate, perSeed: perSeed.map((r) => ({ seed: r.seed, metrics: path.relative(out, r.metricsPath) })) }, null, 2)}\n`,
  );
  const reportPath = path.join(out, 'report.html');
  writeFileSync(reportPath, renderAggregateReport(recipe.name, recipe.description, aggregate));
  writeFileSync(path.join(out, 'table.txt'), `${table}\n`);
  return { out, perSeed, aggregate, table, reportPath, metricsPath };
}
