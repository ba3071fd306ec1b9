import { appendFile, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { readJsonl } from '../io/jsonl.ts';
import { loadImageRgb } from '../nn/image.ts';
import {
  type CheckpointConfig,
  loadCheckpoint,
  namedWeights,
  responseLogprobs,
  saveCheckpoint,
  tf,
  type Vlm,
} from '../nn/index.ts';
import { hashString, Rng } from '../nn/rng.ts';
import { getObjective, type ObjectiveName, ParamsSchema } from '../objectives/index.ts';
import { promptText, Sample, zodIssues } from '../schema/index.ts';
import { MmalignError, RecordValidationError, type ValidationIssue } from '../util/errors.ts';
import { checkAnswer } from '../world/check.ts';
import {
  AdamW,
  LAST_DIR,
  loadTrainerState,
  lrAt,
  OptimConfig,
  readFlat,
  saveTrainingCheckpoint,
  TRAINER_STATE_FILE,
  type TrainerState,
  trainableWeights,
  trainStep,
} from './common.ts';
import { fileSha256, resolveSamplesFile, sampleImagePath } from './data.ts';
import { generateParallel, type ReplicaPool, withTrainingPool } from './parallel/index.ts';
import { unitHash } from './pref-data.ts';
import { type ReplayOptions, withReplay } from './replay.ts';
import type { RewardFn } from './rewards.ts';

/**
 * Online GRPO / RLOO on the embedded VLM: each step samples G responses for P prompts from the current policy,
 * scores them with the reward plug-ins, and takes one clipped policy-gradient step with the KL to the frozen
 * reference (k3 in the loss for grpo, in the reward for rloo). One update per batch, so π_old = π_θ (ratio 1; the
 * clip only matters for several epochs per batch, which this trainer does not do). Greedy held-out accuracy (the
 * rule judge's verdict) is measured before, every `evalEvery` steps and after. With `workers` > 1 the rollouts and
 * greedy evals are split across replicas (parallel/generate.ts): the same samples as one worker, bit for bit.
 */
export const GrpoConfig = z.strictObject({
  objective: z.enum(['grpo', 'rloo']).default('grpo'),
  /** KL coefficient (default: the objective's, 0.04 grpo / 0.05 rloo) */
  beta: z.number().nonnegative().optional(),
  params: ParamsSchema.prefault({}),
  /** reward plug-ins as name[=weight] (see rewards.ts) */
  rewards: z.array(z.string()).default(['verifiable']),
  seed: z.number().int().default(0),
  steps: z.number().int().positive().default(100),
  promptsPerStep: z.number().int().positive().default(8),
  groupSize: z.number().int().min(2).default(4),
  temperature: z.number().positive().default(1),
  maxTokens: z.number().int().positive().default(24),
  optim: OptimConfig.prefault({ lr: 2e-4, minLr: 2e-5, warmupSteps: 5 }),
  evalFraction: z.number().min(0).lt(1).default(0.1),
  evalEvery: z.number().int().nonnegative().default(25),
  evalMax: z.number().int().positive().default(128),
  checkpointEvery: z.number().int().nonnegative().default(25),
  split: z.string().default('train'),
  tasks: z.array(z.string()).optional(),
});
export type GrpoConfig = z.output<typeof GrpoConfig>;
export type GrpoConfigInput = z.input<typeof GrpoConfig>;

export interface PromptExample {
  sample: Sample;
  image: Uint8Array | null;
  prompt: string;
}

/** Prompts with ground truth (Sample records), images decoded once. */
export async function loadPromptData(
  dirOrFile: string,
  opts: { imageSize: number; split?: string; tasks?: readonly string[]; limit?: number },
): Promise<{ file: string; sha256: string; prompts: PromptExample[] }> {
  const { file, root } = await resolveSamplesFile(dirOrFile);
  const issues: ValidationIssue[] = [];
  const kept: { sample: Sample; image: string | null; line: number }[] = [];
  for await (const entry of readJsonl(file)) {
    if (!entry.ok) {
      issues.push(entry.issue);
      continue;
    }
    const r = Sample.safeParse(entry.value);
    if (!r.success) {
      issues.push(...zodIssues(r.error, { file, line: entry.line }));
      continue;
    }
    const s = r.data;
    if (opts.split && s.split !== undefined && s.split !== opts.split) continue;
    if (opts.tasks && (s.task === undefined || !opts.tasks.includes(s.task))) continue;
    const image = sampleImagePath(s);
    if (image === 'multi') continue;
    if (opts.limit === undefined || kept.length < opts.limit) kept.push({ sample: s, image, line: entry.line });
  }
  if (issues.length) throw new RecordValidationError(issues);
  const cache = new Map<string, Promise<Uint8Array>>();
  const prompts = await Promise.all(
    kept.map(async ({ sample, image, line }) => {
      let img: Uint8Array | null = null;
      if (image) {
        let p = cache.get(image);
        if (!p) {
          p = loadImageRgb(path.resolve(root, image), opts.imageSize).catch((e: Error) => {
            throw new MmalignError('MMALIGN_MISSING_MEDIA', `${file}:${line}: media.0: ${e.message}`);
          });
          cache.set(image, p);
        }
        img = await p;
      }
      return { sample, image: img, prompt: promptText(sample.messages, false) };
    }),
  );
  return { file, sha256: await fileSha256(file), prompts };
}

export interface GrpoEval {
  /** share of held-out prompts whose greedy answer the rule judge marks correct */
  accuracy: number;
  /** mean reward of the greedy answers */
  reward: number;
  /** share of greedy answers that parse at all */
  parseable: number;
  n: number;
}

export interface GrpoProgress {
  step: number;
  totalSteps: number;
  loss: number;
  metrics: Record<string, number>;
  eval?: GrpoEval;
}

export interface GrpoResult {
  model: Vlm;
  config: GrpoConfig;
  stepsRun: number;
  before: GrpoEval;
  after: GrpoEval;
  history: Record<string, number>[];
  wallMs: number;
}

export interface GrpoRunOptions {
  config: GrpoConfigInput;
  /** the policy (trained in place) */
  model: Vlm;
  /** the frozen reference π_ref (normally the same checkpoint loaded again, trainable = false) */
  reference: Vlm;
  reward: RewardFn;
  train: readonly PromptExample[];
  eval?: readonly PromptExample[];
  outDir?: string;
  resume?: boolean;
  data?: CheckpointConfig['data'];
  onProgress?: (p: GrpoProgress) => void;
  /**
   * replicas on worker threads for the rollouts and greedy evals (prompts split across them; samples are seeded per
   * prompt, so they do not depend on this); default 1 = all on this thread. The update itself stays on this thread.
   */
  workers?: number;
  /** λ · SFT loss on a batch of the SFT mixture at every step, against forgetting (replay.ts) */
  replay?: ReplayOptions;
}

export async function evaluateGreedy(
  m: Vlm,
  prompts: readonly PromptExample[],
  reward: RewardFn,
  maxTokens: number,
  pool?: ReplicaPool,
): Promise<GrpoEval> {
  if (prompts.length === 0) return { accuracy: Number.NaN, reward: Number.NaN, parseable: Number.NaN, n: 0 };
  const outs = await generateParallel(
    pool,
    m,
    prompts.map((p) => ({ image: p.image, prompt: p.prompt, key: p.sample.id })),
    { n: 1, temperature: 0, maxTokens, seed: 0 },
  );
  let right = 0;
  let parse = 0;
  let r = 0;
  prompts.forEach((p, i) => {
    const text = outs[i]![0]!.text;
    const v = checkAnswer(p.sample, text).verdict;
    if (v === 'correct') right++;
    if (v !== 'unparseable') parse++;
    r += reward({ sample: p.sample, image: p.image, prompt: p.prompt, completions: [text] })[0]!;
  });
  const n = prompts.length;
  return { accuracy: right / n, reward: r / n, parseable: parse / n, n };
}

function splitEval(prompts: readonly PromptExample[], fraction: number, seed: number) {
  const held = (p: PromptExample) => unitHash(p.sample.id, seed) < fraction;
  return { train: prompts.filter((p) => !held(p)), eval: prompts.filter(held) };
}

export async function trainGrpo(opts: GrpoRunOptions): Promise<GrpoResult> {
  return withTrainingPool(opts.model, opts.workers, (pool) => runGrpo(opts, pool));
}

async function runGrpo(opts: GrpoRunOptions, pool: ReplicaPool | undefined): Promise<GrpoResult> {
  const config = GrpoConfig.parse(opts.config);
  const name = config.objective as ObjectiveName;
  const entry = getObjective(name);
  const beta = config.beta ?? entry.defaultBeta ?? 0.04;
  const split = opts.eval
    ? { train: [...opts.train], eval: [...opts.eval] }
    : splitEval(opts.train, config.evalFraction, config.seed);
  const train = split.train;
  const evalSet = split.eval.slice(0, config.evalMax);
  if (train.length === 0)
    throw new MmalignError('MMALIGN_NO_DATA', 'no training prompts', { hint: 'check --data, the split and the tasks' });
  const { model, reference } = opts;
  const lastDir = opts.outDir ? path.join(opts.outDir, LAST_DIR) : undefined;
  const before = await evaluateGreedy(model, evalSet, opts.reward, config.maxTokens, pool);
  const opt = new AdamW(trainableWeights(model), config.optim);
  let startStep = 0;
  let history: Record<string, number>[] = [];
  if (opts.resume && lastDir && (await stat(path.join(lastDir, TRAINER_STATE_FILE)).catch(() => undefined))) {
    const saved = await loadTrainerState(lastDir);
    const { steps: _a, ...want } = config;
    const { steps: _b, ...have } = GrpoConfig.parse(saved.state.config);
    if (JSON.stringify(want) !== JSON.stringify(have))
      throw new MmalignError('MMALIGN_RESUME_MISMATCH', `${lastDir} was trained with a different config`, {
        hint: 'resume with the same config (only steps may change), or use a new --out',
      });
    const trained = await loadCheckpoint(lastDir);
    const src = new Map(namedWeights(trained.weights));
    for (const [n, v] of namedWeights(model.weights)) v.assign(src.get(n)!);
    for (const v of src.values()) v.dispose();
    opt.loadState(saved.optimizer, saved.state.optimizerT);
    startStep = saved.state.step;
    history = saved.state.history as Record<string, number>[];
    await pool?.load(model);
  }
  const metricsFile = opts.outDir ? path.join(opts.outDir, 'metrics.jsonl') : undefined;
  if (metricsFile) {
    await mkdir(opts.outDir!, { recursive: true });
    await writeFile(metricsFile, history.map((h) => `${JSON.stringify(h)}\n`).join(''));
  }
  const saveLast = async (step: number) => {
    if (!lastDir) return;
    const state: TrainerState = {
      step,
      optimizerT: opt.t,
      config: config as unknown as Record<string, unknown>,
      dataSha256: opts.data?.sha256,
      history,
    };
    await saveTrainingCheckpoint(lastDir, model, opt, state, { training: { grpo: config }, data: opts.data ?? null });
  };
  let perm: number[] = [];
  let permEpoch = -1;
  const promptAt = (k: number) => {
    const epoch = Math.floor(k / train.length);
    if (epoch !== permEpoch) {
      perm = new Rng(hashString(`epoch:${epoch}`, config.seed >>> 0)).shuffle(train.map((_, i) => i));
      permEpoch = epoch;
    }
    return train[perm[k % train.length]!]!;
  };
  const P = Math.min(config.promptsPerStep, train.length);
  const G = config.groupSize;
  const started = performance.now();
  let lastEval = before;
  for (let step = startStep; step < config.steps; step++) {
    const prompts = Array.from({ length: P }, (_, i) => promptAt(step * P + i));
    const gens = await generateParallel(
      pool,
      model,
      prompts.map((p) => ({ image: p.image, prompt: p.prompt, key: p.sample.id })),
      {
        n: G,
        temperature: config.temperature,
        maxTokens: config.maxTokens,
        seed: hashString(`step:${step}`, config.seed >>> 0),
      },
    );
    const rewards = prompts.map((p, i) =>
      opts.reward({ sample: p.sample, image: p.image, prompt: p.prompt, completions: gens[i]!.map((g) => g.text) }),
    );
    const items = prompts.flatMap((p, i) =>
      gens[i]!.map((g) => ({ image: p.image, prompt: p.prompt, response: g.text })),
    );
    const refTok = tf.tidy(() => responseLogprobs(reference, items).tokenLogps);
    let objMetrics: Record<string, number> = {};
    const lr = lrAt(step, config.steps, config.optim);
    const r = trainStep(opt, lr, (report) => {
      const s = responseLogprobs(model, items);
      const out = entry.fn(
        {
          policy_token_logps: s.tokenLogps,
          token_mask: s.mask,
          reference_token_logps: refTok,
          rewards: tf.tensor2d(rewards),
          beta: tf.scalar(beta),
        },
        config.params,
      );
      objMetrics = out.metrics;
      return withReplay(out.loss, model, opts.replay, step, report);
    });
    refTok.dispose();
    pool?.setWeights(readFlat(opt.params));
    const correct = prompts.reduce(
      (a, p, i) => a + gens[i]!.filter((g) => checkAnswer(p.sample, g.text).verdict === 'correct').length,
      0,
    );
    const row: Record<string, number> = {
      step: step + 1,
      loss: r.loss,
      lr,
      gradNorm: r.gradNorm,
      ...objMetrics,
      ...r.metrics,
      'samples/accuracy': correct / (P * G),
      'samples/length': items.reduce((a, it) => a + it.response.split(/\s+/).filter(Boolean).length, 0) / items.length,
    };
    const isLast = step + 1 === config.steps;
    let ev: GrpoEval | undefined;
    if (evalSet.length && ((config.evalEvery > 0 && (step + 1) % config.evalEvery === 0) || isLast)) {
      ev = await evaluateGreedy(model, evalSet, opts.reward, config.maxTokens, pool);
      lastEval = ev;
      Object.assign(row, { 'eval/accuracy': ev.accuracy, 'eval/reward': ev.reward, 'eval/parseable': ev.parseable });
    }
    history.push(row);
    if (metricsFile) await appendFile(metricsFile, `${JSON.stringify(row)}\n`);
    opts.onProgress?.({ step: step + 1, totalSteps: config.steps, loss: r.loss, metrics: row, eval: ev });
    if (config.checkpointEvery > 0 && (step + 1) % config.checkpointEvery === 0 && !isLast) await saveLast(step + 1);
  }
  const wallMs = performance.now() - started;
  await saveLast(config.steps);
  const after = lastEval;
  if (opts.outDir)
    await saveCheckpoint(opts.outDir, model, {
      training: { grpo: config, summary: { objective: name, steps: config.steps, before, after } },
      data: opts.data ?? null,
    });
  opt.dispose();
  return { model, config, stepsRun: config.steps - startStep, before, after, history, wallMs };
}
