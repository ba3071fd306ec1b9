import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runSuite } from '../eval/run/runner.ts';
import { resolveModel } from '../models/registry.ts';
import { disposeVlm, initTf, loadCheckpoint } from '../nn/index.ts';
import { getObjective } from '../objectives/index.ts';
import { type CompareResult, compareRuns, RunMetrics, renderCompareReport } from '../report/index.ts';
import {
  loadPrefData,
  loadPromptData,
  loadSftData,
  makeReward,
  trainGrpo,
  trainPreference,
  trainSft,
} from '../train/index.ts';
import { MmalignError } from '../util/errors.ts';
import { generateWorld, parseWorldConfig, type WorldConfig } from '../world/index.ts';
import { runCachedStage, type StageRecord } from './cache.ts';
import { type AlignMethod, OnlineSettings, type Recipe } from './schema.ts';
import {
  correctedSet,
  corruptedSet,
  injectedSet,
  readSamples,
  type SetContext,
  type SetResult,
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
}

export interface RecipeResult {
  out: string;
  rows: MethodRow[];
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
  opts: { out?: string; events?: RecipeEvents; workers?: number } = {},
): Promise<RecipeResult> {
  const out = path.resolve(opts.out ?? recipe.out ?? path.join('runs', recipe.name));
  mkdirSync(out, { recursive: true });
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
  const promptWorld = await stage(
    'prompts',
    { world: recipe.world.config, n: recipe.construct.prompts, seed: recipe.seed, split: recipe.construct.split },
    async (dir) => {
      generateWorld(world, {
        seed: recipe.seed + 7919,
        n: recipe.construct.prompts,
        outDir: dir,
        tasks: ['caption'],
        splits: [recipe.construct.split],
      });
      return { dir };
    },
  );

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
  const built = new Map<string, string>();
  const setResults = new Map<string, SetResult & { dir: string }>();
  const buildSets = async (names: string[], policyCkpt: string, policyKey: string, promptSlice = prompts, tag = '') => {
    for (const name of names) {
      const set = recipe.construct.sets[name];
      const deps = set.strategy === 'corrupt' ? { from: setResults.get(set.from)?.dir } : {};
      const needsPolicy = set.strategy === 'self' || set.strategy === 'correct' || set.strategy === 'dropout';
      const material = {
        set,
        prompts: promptWorld.key,
        n: promptSlice.length,
        deps,
        policy: needsPolicy ? policyKey : null,
        seed: recipe.seed,
      };
      const rec = await stage(`set-${name}${tag}`, material, async (dir) => {
        const ctx: SetContext = {
          name,
          dir,
          prompts: promptSlice,
          promptsRoot: promptWorld.result.dir,
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
    const data = await loadPromptData(promptWorld.result.dir, { imageSize: world.imageSize, tasks: ['caption'] });
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
    const per = Math.ceil(prompts.length / m.rounds);
    for (let round = 0; round < m.rounds; round++) {
      const slice = prompts.slice(round * per, (round + 1) * per);
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
  const metricsPath = path.join(out, 'metrics.json');
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
  const reportPath = path.join(out, 'report.html');
  writeFileSync(
    reportPath,
    renderRecipeReport(recipe, rows, summary, Object.values(comparisons).map(renderCompareReport)),
  );
  writeFileSync(path.join(out, 'table.txt'), `${table}\n`);
  return { out, rows, table, reportPath, metricsPath, stages: summary.stages };
}
