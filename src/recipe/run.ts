import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runSuite } from '../eval/run/runner.ts';
import { resolveModel } from '../models/registry.ts';
import { disposeVlm, initTf, loadCheckpoint } from '../nn/index.ts';
import { getObjective } from '../objectives/index.ts';
import { type CompareResult, compareRuns, RunMetrics, renderCompareReport } from '../report/index.ts';
import type { Sample } from '../schema/index.ts';
import {
  loadPrefData,
  loadPromptData,
  loadSftData,
  makeReward,
  type ReplayOptions,
  replayExamples,
  type SftExample,
  trainGrpo,
  trainPreference,
  trainSft,
} from '../train/index.ts';
import { MmalignError } from '../util/errors.ts';
import { generateWorld, parseWorldConfig, type WorldConfig } from '../world/index.ts';
import { type Aggregate, aggregateSeeds, aggregateText, renderAggregateReport } from './aggregate.ts';
import { runCachedStage, type StageRecord } from './cache.ts';
import { type AlignMethod, OnlineSettings, type PromptTask, promptTasksOf, type Recipe, setTasks } from './schema.ts';
import {
  correctedSet,
  corruptedSet,
  injectedSet,
  mixedSet,
  readSamples,
  type SetContext,
  type SetResult,
  STRATEGY_REVISIONS,
  safetySet,
  selfSampledSet,
  writeSet,
} from './sets.ts';
import { controlsOf, type MethodRow, methodTable, renderRecipeReport, tableText } from './summary.ts';

/**
 * Runs a recipe: world → SFT → preference sets → one aligned checkpoint per method → the same eval suite on every
 * checkpoint → a comparison report. Every stage is cached by the hash of its config and inputs (./cache.ts), so a
 * rerun skips finished stages and a killed run resumes where it stopped.
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

interface AlignResult {
  checkpoint: string;
  wallSeconds: number;
  steps: number;
  pairs: number;
  chosenShift: number | null;
  heldOutAccuracy: number | null;
  rounds: number;
  constructionCost: { requests: number; completionTokens: number };
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
  const stage = async <T>(
    name: string,
    material: unknown,
    run: (dir: string) => Promise<T>,
  ): Promise<StageRecord<T>> => {
    ev.stage?.(name, 'start');
    const r = await runCachedStage(out, name, material, run);
    ev.stage?.(name, r.cached ? 'cached' : 'done', r.seconds);
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
  const prompts = (await readSamples(path.join(promptWorld.result.dir, 'samples.jsonl'))).filter(
    (s) => s.task === 'caption',
  );
  const taskPrompts = taskWorld ? await readSamples(path.join(taskWorld.result.dir, 'samples.jsonl')) : [];
  /** a set's prompts and the folder their images are in: captions, or the other tasks' prompts */
  const promptsOf = (tasks: readonly PromptTask[]) =>
    tasks.includes('caption')
      ? { samples: prompts, root: promptWorld.result.dir, stage: promptWorld.key }
      : {
          samples: taskPrompts.filter((s) => s.task && (tasks as readonly string[]).includes(s.task)),
          root: taskWorld!.result.dir,
          stage: taskWorld!.key,
        };
  const built = new Map<string, string>();
  const setResults = new Map<string, SetResult & { dir: string }>();
  const buildSets = async (
    names: string[],
    policyCkpt: string,
    policyKey: string,
    slice?: (all: readonly Sample[]) => Sample[],
    tag = '',
  ) => {
    for (const name of names) {
      const set = recipe.construct.sets[name];
      const deps =
        set.strategy === 'corrupt'
          ? { from: setResults.get(set.from)?.dir }
          : set.strategy === 'mix'
            ? { from: set.from.map((f) => setResults.get(f)?.dir) }
            : {};
      const needsPolicy =
        set.strategy === 'self' ||
        set.strategy === 'correct' ||
        set.strategy === 'dropout' ||
        set.strategy === 'safety';
      const source = promptsOf(setTasks(set));
      const promptSlice = slice ? slice(source.samples) : [...source.samples];
      const material = {
        set,
        prompts: source.stage,
        n: promptSlice.length,
        deps,
        policy: needsPolicy ? policyKey : null,
        seed: recipe.seed,
        revision: STRATEGY_REVISIONS[set.strategy],
      };
      const rec = await stage(`set-${name}${tag}`, material, async (dir) => {
        const ctx: SetContext = {
          name,
          dir,
          prompts: promptSlice,
          promptsRoot: source.root,
          seed: recipe.seed,
          world,
          policy: () => resolveModel(policyCkpt),
          policyId: `embedded:${policyKey}`,
          built,
          createdAt,
          run: `${recipe.name}/${recipe.seed}`,
        };
        let made: Awaited<ReturnType<typeof injectedSet>>;
        switch (set.strategy) {
          case 'self':
            made = await selfSampledSet(set, ctx, (d, t) => ev.progress?.(`set-${name}${tag}`, d, t));
            break;
          case 'correct':
            made = await correctedSet(set, ctx, (d, t) => ev.progress?.(`set-${name}${tag}`, d, t));
            break;
          case 'safety':
            made = await safetySet(set, ctx, (d, t) => ev.progress?.(`set-${name}${tag}`, d, t));
            break;
          case 'mix':
            made = await mixedSet(set, ctx);
            break;
          case 'inject':
            made = await injectedSet(set, ctx);
            break;
          case 'corrupt':
            made = await corruptedSet(set, ctx);
            break;
          case 'dropout':
            throw new MmalignError('MMALIGN_RECIPE_STRATEGY', `set "${name}": recipes do not build dropout sets yet`, {
              hint: 'use self, inject or corrupt here; image-free continuation works in `mmalign construct` (a dropout stage, with the embedded backend or any server with prefill)',
            });
        }
        return { ...(await writeSet(dir, made.prefs, made.cost)), dir };
      });
      built.set(name, rec.result.dir);
      setResults.set(name, rec.result);
    }
  };
  await buildSets(Object.keys(recipe.construct.sets), sft.result.checkpoint, sft.key);

  /** The SFT mixture to replay (replay.ts), loaded once when a method asks for it. */
  let replayPool: Promise<SftExample[]> | undefined;
  async function replayFor(m: AlignMethod): Promise<ReplayOptions | undefined> {
    const weight = m.replay ?? recipe.align.replay;
    if (weight === 0) return undefined;
    replayPool ??= loadSftData(sftWorld.result.dir, { imageSize: world.imageSize, split: 'train' }).then((d) =>
      replayExamples(d.examples),
    );
    return { examples: await replayPool, weight, batchSize: m.batchSize ?? recipe.align.batchSize, seed: recipe.seed };
  }

  // 4. align: one checkpoint per method
  const aligned = new Map<string, StageRecord<AlignResult>>();
  for (const [name, m] of Object.entries(recipe.align.methods)) {
    const material = {
      method: m,
      sft: sft.key,
      sets: [m.data, m.imagePairs].map((s) => (s ? setResults.get(s)?.file : null)),
      align: { ...recipe.align, methods: undefined },
    };
    const rec = await stage(`align-${name}`, material, async (dir) => alignMethod(name, m, dir));
    aligned.set(name, rec);
  }

  /** Every aligned method's schedule: its lr (or the recipe's), cosine to a tenth, a short warmup. */
  function alignOptim(m: AlignMethod, steps: number) {
    const lr = m.lr ?? recipe.align.lr;
    return { lr, minLr: lr / 10, warmupSteps: Math.min(10, Math.floor(steps / 10)) };
  }

  /**
   * Online RL (GRPO / RLOO): each step samples a group of responses per caption prompt from the current policy,
   * scores them with the reward plug-ins (by default the rule judge the preference sets use) and updates against
   * the SFT model as π_ref. One step = one batch of prompts, so `steps` counts prompt batches, not pairs.
   */
  async function onlineMethod(name: string, m: AlignMethod, dir: string, steps: number, t0: number) {
    const o = m.online ?? OnlineSettings.parse({});
    const source = promptsOf(o.tasks);
    const data = await loadPromptData(source.root, { imageSize: world.imageSize, tasks: o.tasks });
    const model = await loadCheckpoint(sft.result.checkpoint, { trainable: true });
    const reference = await loadCheckpoint(sft.result.checkpoint);
    let completionTokens = 0;
    const r = await trainGrpo({
      config: {
        objective: m.objective as 'grpo' | 'rloo',
        beta: m.beta,
        params: m.params as Record<string, number>,
        rewards: o.rewards,
        seed: recipe.seed,
        steps,
        promptsPerStep: o.promptsPerStep,
        groupSize: o.groupSize,
        temperature: o.temperature,
        maxTokens: o.maxTokens,
        optim: alignOptim(m, steps),
        evalEvery: 0,
        checkpointEvery: Math.max(1, Math.floor(steps / 4)),
      },
      model,
      reference,
      reward: makeReward(o.rewards).fn,
      replay: await replayFor(m),
      train: data.prompts,
      // the greedy reward before/after on the first prompts (the eval suite's held-out scenes are the real test)
      eval: data.prompts.slice(0, 32),
      outDir: path.join(dir, 'checkpoint'),
      resume: true,
      workers: opts.workers,
      data: { path: data.file, sha256: data.sha256, samples: data.prompts.length },
      onProgress: (p) => {
        completionTokens += Math.round((p.metrics['samples/length'] ?? 0) * o.promptsPerStep * o.groupSize);
        ev.progress?.(`align-${name}`, p.step, p.totalSteps, { loss: p.loss, reward: p.metrics.reward ?? 0 });
      },
    });
    disposeVlm(r.model);
    disposeVlm(reference);
    return {
      checkpoint: path.join(dir, 'checkpoint'),
      wallSeconds: (performance.now() - t0) / 1000,
      steps: r.stepsRun,
      pairs: 0,
      chosenShift: null,
      heldOutAccuracy: r.after.accuracy,
      rounds: 1,
      constructionCost: { requests: r.stepsRun * o.promptsPerStep, completionTokens },
    };
  }

  async function trainOn(name: string, m: AlignMethod, dir: string, fromCkpt: string, setName: string, steps: number) {
    const setDir = setResults.get(setName)?.dir;
    if (!setDir) throw new MmalignError('MMALIGN_RECIPE_SET', `method ${name}: set ${setName} was not built`);
    const data = await loadPrefData(setDir, { imageSize: world.imageSize });
    const model = await loadCheckpoint(fromCkpt, { trainable: true });
    const r = await trainPreference({
      config: {
        objective: m.objective,
        beta: m.beta ?? recipe.align.beta,
        params: m.params as Record<string, number>,
        seed: recipe.seed,
        steps,
        patience: recipe.align.patience,
        batchSize: m.batchSize ?? recipe.align.batchSize,
        optim: alignOptim(m, steps),
      },
      model,
      train: data.examples,
      replay: await replayFor(m),
      outDir: dir,
      resume: true,
      workers: opts.workers,
      data: { path: data.file, sha256: data.sha256, samples: data.examples.length },
      onProgress: (p) => ev.progress?.(`align-${name}`, p.step, p.totalSteps, { loss: p.loss }),
    });
    disposeVlm(r.model);
    return { r, pairs: data.examples.length };
  }

  async function alignMethod(name: string, m: AlignMethod, dir: string): Promise<AlignResult> {
    const steps = m.steps ?? recipe.align.steps;
    const t0 = performance.now();
    if (m.objective === 'none')
      return {
        checkpoint: sft.result.checkpoint,
        wallSeconds: 0,
        steps: 0,
        pairs: 0,
        chosenShift: null,
        heldOutAccuracy: null,
        rounds: 0,
        constructionCost: { requests: 0, completionTokens: 0 },
      };
    if (getObjective(m.objective).data === 'groups') return onlineMethod(name, m, dir, steps, t0);
    if (!m.data) throw new MmalignError('MMALIGN_RECIPE_METHOD', `method ${name} needs data: a set name`);
    if (m.rounds === 1) {
      const { r, pairs } = await trainOn(name, m, path.join(dir, 'checkpoint'), sft.result.checkpoint, m.data, steps);
      const cost = setResults.get(m.data)?.cost ?? { requests: 0, completionTokens: 0 };
      return {
        checkpoint: path.join(dir, 'checkpoint'),
        wallSeconds: (performance.now() - t0) / 1000,
        steps: r.stepsRun,
        pairs,
        chosenShift: r.after.chosenShift,
        heldOutAccuracy: r.after.accuracy,
        rounds: 1,
        constructionCost: cost,
      };
    }
    // iterative on-policy: each round samples fresh prompts from the current policy, judges, and trains from it
    const set = recipe.construct.sets[m.data];
    if (set.strategy !== 'self' && set.strategy !== 'correct')
      throw new MmalignError(
        'MMALIGN_RECIPE_METHOD',
        `method ${name}: iterative rounds need an on-policy set (self or correct), not ${set.strategy}`,
      );
    let current = sft.result.checkpoint;
    let currentKey = sft.key;
    let pairs = 0;
    const cost = { requests: 0, completionTokens: 0 };
    let last: Awaited<ReturnType<typeof trainOn>>['r'] | undefined;
    for (let round = 0; round < m.rounds; round++) {
      const slice = (all: readonly Sample[]) => {
        const per = Math.ceil(all.length / m.rounds);
        return all.slice(round * per, (round + 1) * per);
      };
      await buildSets([m.data], current, currentKey, slice, `-${name}-r${round + 1}`);
      const setRes = setResults.get(m.data)!;
      cost.requests += setRes.cost.requests;
      cost.completionTokens += setRes.cost.completionTokens;
      const ckpt = path.join(dir, `round-${round + 1}`);
      const done = existsSync(path.join(ckpt, 'config.json')) && existsSync(path.join(ckpt, 'round.json'));
      if (done) {
        pairs += (JSON.parse(readFileSync(path.join(ckpt, 'round.json'), 'utf8')) as { pairs: number }).pairs;
      } else {
        const { r, pairs: n } = await trainOn(
          `${name} round ${round + 1}`,
          m,
          ckpt,
          current,
          m.data,
          Math.ceil(steps / m.rounds),
        );
        writeFileSync(
          path.join(ckpt, 'round.json'),
          JSON.stringify({ pairs: n, chosenShift: r.after.chosenShift, accuracy: r.after.accuracy }),
        );
        pairs += n;
        last = r;
      }
      current = ckpt;
      // the policy of the next round is this stage's (its key covers the method, the align config and the sets) after
      // `round + 1` rounds: a set sampled from it must not be reused when any of those change
      currentKey = `${path.basename(dir)}>r${round + 1}`;
    }
    return {
      checkpoint: current,
      wallSeconds: (performance.now() - t0) / 1000,
      steps,
      pairs,
      chosenShift: last?.after.chosenShift ?? null,
      heldOutAccuracy: last?.after.accuracy ?? null,
      rounds: m.rounds,
      constructionCost: cost,
    };
  }

  // 5. the same suite on every checkpoint
  const evals = new Map<string, RunMetrics>();
  for (const [name, rec] of aligned) {
    const e = await stage(
      `eval-${name}`,
      { ckpt: rec.key, eval: recipe.eval, world: recipe.world.config, seed: recipe.seed },
      async (dir) => {
        const model = await resolveModel(rec.result.checkpoint);
        const r = await runSuite({
          suite: recipe.eval.suite,
          modelSpec: rec.result.checkpoint,
          model,
          out: dir,
          seed: recipe.seed,
          resamples: recipe.eval.bootstrap,
          limit: recipe.eval.limit,
          limits: recipe.eval.limits,
          world,
          log,
        });
        await model.close?.();
        return { metricsPath: r.metricsPath };
      },
    );
    evals.set(name, RunMetrics.parse(JSON.parse(readFileSync(e.result.metricsPath, 'utf8'))));
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
