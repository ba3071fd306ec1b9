import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runSuite } from '../eval/run/runner.ts';
import { resolveModel } from '../models/registry.ts';
import { disposeVlm, loadCheckpoint } from '../nn/index.ts';
import { getObjective } from '../objectives/index.ts';
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
} from '../train/index.ts';
import { MmalignError } from '../util/errors.ts';
import { parseWorldConfig } from '../world/index.ts';
import { readCachedStage, type StageRecord } from './cache.ts';
import { type AlignMethod, OnlineSettings, type PromptTask, type Recipe, setTasks } from './schema.ts';
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

/**
 * The stages of a recipe after SFT: preference sets, then per method one align stage (an aligned checkpoint) and
 * one eval stage (the suite on it). Everything they read is plain data (`MethodContext`), so the same code runs the
 * methods one after another on the main thread or side by side on lane workers (./lanes.ts). Methods train on one
 * thread each: the parallelism is across methods, which keeps every result independent of the number of workers.
 */

/** Where a set's prompts come from: a prompt world's folder and its stage key. */
export interface PromptSource {
  root: string;
  stage: string;
}

export type BuiltSet = SetResult & { dir: string };

/** What the set and method stages read: the recipe and the records of the stages before them. */
export interface MethodContext {
  recipe: Recipe;
  /** the run folder (stages live in <out>/stages) */
  out: string;
  createdAt: string;
  sft: { key: string; checkpoint: string };
  /** the SFT world's folder (the replay mixture is read from it) */
  sftWorld: string;
  captions: PromptSource;
  /** the other scenarios' prompt world, when a set or method asks for one */
  tasks: PromptSource | null;
  /** the preference sets built so far, by name */
  sets: Record<string, BuiltSet>;
}

export type StageRunner = <T>(
  name: string,
  material: unknown,
  run: (dir: string) => Promise<T>,
) => Promise<StageRecord<T>>;

export interface AlignResult {
  checkpoint: string;
  wallSeconds: number;
  steps: number;
  pairs: number;
  chosenShift: number | null;
  heldOutAccuracy: number | null;
  rounds: number;
  constructionCost: { requests: number; completionTokens: number };
}

export interface EvalResult {
  metricsPath: string;
}

/** A method's stage records, in the order they ran: sets of its own rounds (iterative methods), align, eval. */
export interface MethodRecords {
  stages: StageRecord<unknown>[];
  align: StageRecord<AlignResult>;
  eval: StageRecord<EvalResult>;
}

export type ProgressEvent = (stage: string, done: number, total: number, info?: Record<string, number>) => void;

export interface MethodRunner {
  /** Builds `names` in order into `into` (name → set); on-policy sets sample from `policyCkpt`. */
  buildSets(
    names: readonly string[],
    policyCkpt: string,
    policyKey: string,
    into: Map<string, BuiltSet>,
    slice?: (all: readonly Sample[]) => Sample[],
    tag?: string,
  ): Promise<void>;
  /** The method's align and eval stages (run, or read from the cache). */
  alignAndEval(name: string): Promise<MethodRecords>;
  /** The method's records when both its stages are cached, without running anything; else undefined. */
  cached(name: string): MethodRecords | undefined;
}

export function methodRunner(
  ctx: MethodContext,
  stage: StageRunner,
  events: { progress?: ProgressEvent; log?: (line: string) => void } = {},
): MethodRunner {
  const { recipe } = ctx;
  const world = parseWorldConfig(recipe.world.config);
  const progress = events.progress ?? (() => {});
  const samplesOf = new Map<string, Promise<Sample[]>>();
  const readPrompts = (root: string) => {
    let p = samplesOf.get(root);
    if (!p) {
      p = readSamples(path.join(root, 'samples.jsonl'));
      samplesOf.set(root, p);
    }
    return p;
  };
  /** a set's prompts and the folder their images are in: captions, or the other tasks' prompts */
  const promptsOf = async (tasks: readonly PromptTask[]) => {
    if (tasks.includes('caption')) {
      const all = await readPrompts(ctx.captions.root);
      return { samples: all.filter((s) => s.task === 'caption'), ...ctx.captions };
    }
    if (!ctx.tasks) throw new MmalignError('MMALIGN_RECIPE_SET', `no prompt world for tasks ${tasks.join(', ')}`);
    const all = await readPrompts(ctx.tasks.root);
    return { samples: all.filter((s) => s.task && (tasks as readonly string[]).includes(s.task)), ...ctx.tasks };
  };

  /** buildSets with the set stages run through `runStage` (an iterative method records its rounds' sets) */
  async function buildSetsWith(
    runStage: StageRunner,
    ...[names, policyCkpt, policyKey, into, slice, tag = '']: Parameters<MethodRunner['buildSets']>
  ): Promise<void> {
    for (const name of names) {
      const set = recipe.construct.sets[name];
      const deps =
        set.strategy === 'corrupt'
          ? { from: into.get(set.from)?.dir }
          : set.strategy === 'mix'
            ? { from: set.from.map((f) => into.get(f)?.dir) }
            : {};
      const needsPolicy =
        set.strategy === 'self' ||
        set.strategy === 'correct' ||
        set.strategy === 'dropout' ||
        set.strategy === 'safety';
      const source = await promptsOf(setTasks(set));
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
      const stageName = `set-${name}${tag}`;
      const onProgress = (d: number, t: number) => progress(stageName, d, t);
      const rec = await runStage(stageName, material, async (dir) => {
        const setCtx: SetContext = {
          name,
          dir,
          prompts: promptSlice,
          promptsRoot: source.root,
          seed: recipe.seed,
          world,
          policy: () => resolveModel(policyCkpt),
          policyId: `embedded:${policyKey}`,
          built: new Map([...into].map(([n, s]) => [n, s.dir])),
          createdAt: ctx.createdAt,
          run: `${recipe.name}/${recipe.seed}`,
        };
        let made: Awaited<ReturnType<typeof injectedSet>>;
        switch (set.strategy) {
          case 'self':
            made = await selfSampledSet(set, setCtx, onProgress);
            break;
          case 'correct':
            made = await correctedSet(set, setCtx, onProgress);
            break;
          case 'safety':
            made = await safetySet(set, setCtx, onProgress);
            break;
          case 'mix':
            made = await mixedSet(set, setCtx);
            break;
          case 'inject':
            made = await injectedSet(set, setCtx);
            break;
          case 'corrupt':
            made = await corruptedSet(set, setCtx);
            break;
          case 'dropout':
            throw new MmalignError('MMALIGN_RECIPE_STRATEGY', `set "${name}": recipes do not build dropout sets yet`, {
              hint: 'use self, inject or corrupt here; image-free continuation works in `mmalign construct` (a dropout stage, with the embedded backend or any server with prefill)',
            });
        }
        return { ...(await writeSet(dir, made.prefs, made.cost)), dir };
      });
      into.set(name, rec.result);
    }
  }

  /** The SFT world's examples (replay.ts picks the mixture to replay), loaded once when a method asks for them. */
  let sftExamples: Promise<SftExample[]> | undefined;
  async function replayFor(m: AlignMethod): Promise<ReplayOptions | undefined> {
    const weight = m.replay ?? recipe.align.replay;
    if (weight === 0) return undefined;
    sftExamples ??= loadSftData(ctx.sftWorld, { imageSize: world.imageSize, split: 'train' }).then((d) => d.examples);
    const examples = replayExamples(await sftExamples, { exactCaptions: m.replayExactCaptions });
    return { examples, weight, batchSize: m.batchSize ?? recipe.align.batchSize, seed: recipe.seed };
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
    const source = await promptsOf(o.tasks);
    const data = await loadPromptData(source.root, { imageSize: world.imageSize, tasks: o.tasks });
    const model = await loadCheckpoint(ctx.sft.checkpoint, { trainable: true });
    const reference = await loadCheckpoint(ctx.sft.checkpoint);
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
      data: { path: data.file, sha256: data.sha256, samples: data.prompts.length },
      onProgress: (p) => {
        completionTokens += Math.round((p.metrics['samples/length'] ?? 0) * o.promptsPerStep * o.groupSize);
        progress(`align-${name}`, p.step, p.totalSteps, { loss: p.loss, reward: p.metrics.reward ?? 0 });
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

  async function trainOn(
    name: string,
    m: AlignMethod,
    dir: string,
    fromCkpt: string,
    set: BuiltSet | undefined,
    steps: number,
  ) {
    if (!set) throw new MmalignError('MMALIGN_RECIPE_SET', `method ${name}: set ${m.data} was not built`);
    const data = await loadPrefData(set.dir, { imageSize: world.imageSize });
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
      data: { path: data.file, sha256: data.sha256, samples: data.examples.length },
      onProgress: (p) => progress(`align-${name}`, p.step, p.totalSteps, { loss: p.loss }),
    });
    disposeVlm(r.model);
    return { r, pairs: data.examples.length };
  }

  async function alignMethod(name: string, m: AlignMethod, dir: string, runStage: StageRunner): Promise<AlignResult> {
    const steps = m.steps ?? recipe.align.steps;
    const t0 = performance.now();
    if (m.objective === 'none')
      return {
        checkpoint: ctx.sft.checkpoint,
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
      const base = ctx.sets[m.data];
      const { r, pairs } = await trainOn(name, m, path.join(dir, 'checkpoint'), ctx.sft.checkpoint, base, steps);
      return {
        checkpoint: path.join(dir, 'checkpoint'),
        wallSeconds: (performance.now() - t0) / 1000,
        steps: r.stepsRun,
        pairs,
        chosenShift: r.after.chosenShift,
        heldOutAccuracy: r.after.accuracy,
        rounds: 1,
        constructionCost: base?.cost ?? { requests: 0, completionTokens: 0 },
      };
    }
    // iterative on-policy: each round samples fresh prompts from the current policy, judges, and trains from it
    const set = recipe.construct.sets[m.data];
    if (set.strategy !== 'self' && set.strategy !== 'correct')
      throw new MmalignError(
        'MMALIGN_RECIPE_METHOD',
        `method ${name}: iterative rounds need an on-policy set (self or correct), not ${set.strategy}`,
      );
    let current = ctx.sft.checkpoint;
    let currentKey = ctx.sft.key;
    let pairs = 0;
    const cost = { requests: 0, completionTokens: 0 };
    let last: Awaited<ReturnType<typeof trainOn>>['r'] | undefined;
    for (let round = 0; round < m.rounds; round++) {
      const slice = (all: readonly Sample[]) => {
        const per = Math.ceil(all.length / m.rounds);
        return all.slice(round * per, (round + 1) * per);
      };
      // the round's own set: the recipe's set of that name (which other methods read) stays as it was built
      const rounds = new Map(Object.entries(ctx.sets));
      await buildSetsWith(runStage, [m.data], current, currentKey, rounds, slice, `-${name}-r${round + 1}`);
      const setRes = rounds.get(m.data) as BuiltSet;
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
          setRes,
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

  const alignMaterial = (m: AlignMethod) => ({
    method: m,
    sft: ctx.sft.key,
    sets: [m.data, m.imagePairs].map((s) => (s ? ctx.sets[s]?.file : null)),
    align: { ...recipe.align, methods: undefined },
  });
  const evalMaterial = (alignKey: string) => ({
    ckpt: alignKey,
    eval: recipe.eval,
    world: recipe.world.config,
    seed: recipe.seed,
  });

  async function alignAndEval(name: string): Promise<MethodRecords> {
    const m = recipe.align.methods[name];
    const stages: StageRecord<unknown>[] = [];
    const tracked: StageRunner = async (n, material, run) => {
      const r = await stage(n, material, run);
      stages.push(r);
      return r;
    };
    const align = await stage(`align-${name}`, alignMaterial(m), (dir) => alignMethod(name, m, dir, tracked));
    stages.push(align);
    const ev = await stage(`eval-${name}`, evalMaterial(align.key), async (dir) => {
      const model = await resolveModel(align.result.checkpoint);
      const r = await runSuite({
        suite: recipe.eval.suite,
        modelSpec: align.result.checkpoint,
        model,
        out: dir,
        seed: recipe.seed,
        resamples: recipe.eval.bootstrap,
        limit: recipe.eval.limit,
        limits: recipe.eval.limits,
        world,
        log: events.log,
      });
      await model.close?.();
      return { metricsPath: r.metricsPath };
    });
    stages.push(ev);
    return { stages, align, eval: ev };
  }

  function cached(name: string): MethodRecords | undefined {
    const m = recipe.align.methods[name];
    const align = readCachedStage<AlignResult>(ctx.out, `align-${name}`, alignMaterial(m));
    if (!align) return undefined;
    const ev = readCachedStage<EvalResult>(ctx.out, `eval-${name}`, evalMaterial(align.key));
    return ev ? { stages: [align, ev], align, eval: ev } : undefined;
  }

  return {
    buildSets: (...args) => buildSetsWith(stage, ...args),
    alignAndEval,
    cached,
  };
}
