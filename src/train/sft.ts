import { stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
  type CheckpointConfig,
  createVlm,
  encodeBatch,
  loadCheckpoint,
  numPatches,
  responseLogprobs,
  saveCheckpoint,
  tf,
  type Vlm,
  VlmConfig,
  WordTokenizer,
} from '../nn/index.ts';
import { hashString, Rng } from '../nn/rng.ts';
import { MmalignError } from '../util/errors.ts';
import { worldVocabulary } from '../world/text.ts';
import {
  AdamW,
  LAST_DIR,
  loadTrainerState,
  lrAt,
  OptimConfig,
  saveTrainingCheckpoint,
  TRAINER_STATE_FILE,
  type TrainerState,
  trainableWeights,
} from './common.ts';
import type { SftExample } from './data.ts';
import type { SftItem } from './losses.ts';
import { openTrainingPool, parallelStep, type ReplicaPool, scoreParallel, stridedShards } from './parallel/index.ts';

/**
 * Supervised fine-tuning of the embedded VLM: next-token cross-entropy on answer tokens only (prompt and image
 * positions are context), mean over the batch's answer tokens; AdamW with warmup + cosine, global-norm clipping.
 * Deterministic given the seed: the data order of epoch e is a shuffle seeded by (seed, e) and image dropout at
 * step s by (seed, s), so a run resumed from `<out>/last` continues exactly where it stopped.
 *
 * Each step's rows are split into `gradShards` strided shards; each shard's gradient is its rows' NLL sum over the
 * whole batch's answer-token count, and the shard gradients are summed in shard order before one update. With
 * `workers` > 1 the shards run on replicas on worker threads (parallel/), at most `gradShards` of them; since the
 * shards, not the workers, fix the float32 summation order, any number of workers trains the same bits.
 */

export const ModelArch = VlmConfig.omit({ vocabSize: true }).extend({
  imageSize: z.number().int().positive().default(48),
  // 16 px patches on a 48 px image: one patch per cell of ShapeWorld's 3×3 grid, 9 visual tokens
  patchSize: z.number().int().positive().default(16),
  mergeSize: z.number().int().positive().default(1),
  // FiLM: the image summary multiplies each text embedding, which is what lets yes/no questions leave chance
  imageSummary: z.enum(['none', 'add', 'film']).default('film'),
  patchNorm: z.boolean().default(true),
  dModel: z.number().int().positive().default(64),
  nHeads: z.number().int().positive().default(2),
  encLayers: z.number().int().nonnegative().default(1),
  decLayers: z.number().int().positive().default(2),
  mlpRatio: z.number().int().positive().default(4),
  maxTextLen: z.number().int().positive().default(48),
});
export type ModelArch = z.output<typeof ModelArch>;

export const SftConfig = z.strictObject({
  model: ModelArch.prefault({}),
  seed: z.number().int().default(0),
  steps: z.number().int().positive().default(800),
  batchSize: z.number().int().positive().default(32),
  optim: OptimConfig.prefault({}),
  /** share of examples trained without their image (teaches the `noImage` tokens used by visual mode "none") */
  imageDropout: z.number().min(0).max(1).default(0.05),
  /** held out from the training examples for the eval loss when no eval set is given */
  evalFraction: z.number().min(0).lt(1).default(0.05),
  /** eval loss every this many steps (0 = only at the end) */
  evalEvery: z.number().int().nonnegative().default(200),
  /** at most this many eval examples */
  evalMax: z.number().int().positive().default(256),
  /** resumable checkpoint to <out>/last every this many steps (0 = only at the end) */
  checkpointEvery: z.number().int().nonnegative().default(200),
  /**
   * Length bucketing: each window of this many batches is sorted by text length before being cut into batches
   * (then the batches are shuffled), so short yes/no rows are not padded to caption length. 1 = off.
   */
  lengthWindow: z.number().int().positive().default(8),
  /** data split to train on (records without a split are always used) */
  split: z.string().default('train'),
  /** tasks to train on (default: every task in the data) */
  tasks: z.array(z.string()).optional(),
  /**
   * Task curriculum: phases run in order, each for `steps` steps on its `tasks` only; the steps left after the
   * last phase train on every task. A tiny VLM trained on the full mixture from step 0 settles on the language prior
   * and never starts looking at the image; captions first make it ground, the mixture then adds the other skills.
   */
  curriculum: z
    .array(z.strictObject({ steps: z.number().int().positive(), tasks: z.array(z.string()).min(1) }))
    .default([]),
  /**
   * Each batch is cut into this many strided shards whose gradients are summed in order, on one thread or on up to
   * this many replicas: results do not depend on `workers`, and more workers than shards leave the extra ones idle.
   * 2 matches this project's 2-core machines; one thread pays ~9% for two half-batches (bench/train-throughput.ts).
   */
  gradShards: z.number().int().positive().default(2),
});
export type SftConfig = z.output<typeof SftConfig>;
export type SftConfigInput = z.input<typeof SftConfig>;

/** The recipe of the default embedded model (see the report in the issue for what it reaches). */
export const DEFAULT_SFT_CONFIG: SftConfig = SftConfig.parse({});

export interface SftProgress {
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** answer + prompt text tokens per second (non-pad) */
  tokensPerSec: number;
  /** sequence positions (image + padded text) per second: the compute the model actually does */
  positionsPerSec: number;
  evalLoss?: number;
  elapsedMs: number;
  /** CPU time of this process since the start (≈ wall time on an idle machine; rates above use wall time) */
  cpuMs: number;
}

export interface SftRunOptions {
  config?: SftConfigInput;
  train: readonly SftExample[];
  /** held-out examples for the eval loss; default: `evalFraction` of `train` */
  eval?: readonly SftExample[];
  /** where checkpoints go; without it nothing is written */
  outDir?: string;
  /** continue from `<outDir>/last` if it exists */
  resume?: boolean;
  /** recorded in config.json */
  data?: CheckpointConfig['data'];
  tokenizer?: WordTokenizer;
  /** start from this model's weights (trainable; its architecture and tokenizer win over `config.model`) */
  init?: Vlm;
  onProgress?: (p: SftProgress) => void;
  /** stops after the current step, writes `<outDir>/last` and returns with `stopped: true` (resume later) */
  signal?: AbortSignal;
  /**
   * data-parallel replicas (this thread + workers − 1 worker threads, at most `gradShards`); default 1, which runs
   * everything on this thread. The trained weights are the same bits for any number.
   */
  workers?: number;
}

export interface SftResult {
  model: Vlm;
  config: SftConfig;
  steps: number;
  /** steps run by this call (fewer than `steps` after a resume) */
  stepsRun: number;
  parameters: number;
  wallMs: number;
  /** process CPU time (user + system) during training: the wall time this run takes on an idle core */
  cpuMs: number;
  tokensPerSec: number;
  positionsPerSec: number;
  finalLoss: number;
  evalLoss: number;
  history: Record<string, number>[];
  resumedFrom?: number;
  /** true when `signal` stopped the run early; `steps` is then the last completed step */
  stopped: boolean;
}

export function sftTokenizer(examples: readonly SftExample[]): WordTokenizer {
  return WordTokenizer.fromTexts(
    examples.flatMap((e) => [e.prompt, e.answer]),
    worldVocabulary(),
  );
}

/** Mean answer-token NLL of `examples` (no gradients), in batches. */
export function evalLoss(m: Vlm, examples: readonly SftExample[], batchSize = 64): number {
  let nll = 0;
  let count = 0;
  for (let i = 0; i < examples.length; i += batchSize) {
    const batch = examples.slice(i, i + batchSize);
    const sums = tf.tidy(() => {
      const r = responseLogprobs(
        m,
        batch.map((e) => ({ image: e.image, prompt: e.prompt, response: e.answer })),
      );
      return tf.stack([tf.neg(tf.sum(r.tokenLogps)), tf.sum(r.mask)]);
    });
    const [a, b] = sums.dataSync();
    sums.dispose();
    nll += a as number;
    count += b as number;
  }
  return count ? nll / count : Number.NaN;
}

const asTextItem = (it: SftItem) => ({ prompt: it.prompt, answer: it.response });

/**
 * `evalLoss` as the trainer reports it: the examples scored in `chunks` contiguous chunks, on this thread or spread
 * over the replicas, summed in float64, so the value is the same for any number of workers.
 */
async function evalLossSharded(
  pool: ReplicaPool | undefined,
  m: Vlm,
  examples: readonly SftExample[],
  chunks: number,
): Promise<number> {
  const { tok } = await scoreParallel(
    pool,
    m,
    examples.map((e) => ({ image: e.image, prompt: e.prompt, response: e.answer })),
    chunks,
  );
  const count = tok.reduce((n, t) => n + t.length, 0);
  return count ? -tok.reduce((a, t) => a + t.reduce((x, y) => x + y, 0), 0) / count : Number.NaN;
}

function splitEval(
  examples: readonly SftExample[],
  fraction: number,
  seed: number,
): { train: SftExample[]; eval: SftExample[] } {
  const held = (e: SftExample) => hashString(e.id, seed >>> 0) / 2 ** 32 < fraction;
  return { train: examples.filter((e) => !held(e)), eval: examples.filter(held) };
}

/** Config fields that must match to resume (steps may grow: that extends a finished run). */
function resumeKey(c: SftConfig): string {
  const { steps: _s, ...rest } = c;
  return JSON.stringify(rest);
}

interface Phase {
  start: number;
  /** exclusive; the last phase ends at Infinity */
  end: number;
  /** indices into the training examples */
  pool: number[];
}

/** The curriculum's phases over step ranges, each with the examples of its tasks. */
function curriculumPhases(config: SftConfig, train: readonly SftExample[]): Phase[] {
  const all = train.map((_, i) => i);
  const phases: Phase[] = [];
  let start = 0;
  for (const [k, c] of config.curriculum.entries()) {
    const pool = all.filter((i) => {
      const task = train[i]?.task;
      return task === undefined || c.tasks.includes(task);
    });
    if (pool.length === 0) {
      throw new MmalignError(
        'MMALIGN_NO_DATA',
        `curriculum[${k}]: no training examples of tasks ${c.tasks.join(', ')}`,
        {
          hint: 'the phase tasks must be among the tasks of the data',
        },
      );
    }
    phases.push({ start, end: start + c.steps, pool });
    start += c.steps;
  }
  phases.push({ start, end: Number.POSITIVE_INFINITY, pool: all });
  return phases;
}

/**
 * Batches over `pool` as a pure function of the batch index: epoch e is a shuffle seeded by (seed, phase, e); each
 * window of `window` batches is sorted by length before being cut (short yes/no rows are not padded to caption
 * length), then the window's batches are shuffled.
 */
function lengthBucketedBatches(
  pool: readonly number[],
  lengths: readonly number[],
  batchSize: number,
  window: number,
  seed: number,
  phase: number,
): (index: number) => number[] {
  const B = Math.min(batchSize, pool.length);
  const tag = phase === 0 ? '' : `phase:${phase}:`; // phase 0 keeps the seeds of runs without a curriculum
  let perm: number[] = [];
  let permEpoch = -1;
  const exampleAt = (k: number): number => {
    const epoch = Math.floor(k / pool.length);
    if (epoch !== permEpoch) {
      perm = new Rng(hashString(`${tag}epoch:${epoch}`, seed >>> 0)).shuffle([...pool]);
      permEpoch = epoch;
    }
    return perm[k % pool.length] as number;
  };
  let windowAt = -1;
  let windowBatches: number[][] = [];
  return (index) => {
    const w = Math.floor(index / window);
    if (w !== windowAt) {
      const idx = Array.from({ length: window * B }, (_, i) => exampleAt(w * window * B + i));
      idx.sort((a, b) => (lengths[a] as number) - (lengths[b] as number) || a - b);
      windowBatches = new Rng(hashString(`${tag}window:${w}`, seed >>> 0)).shuffle(
        Array.from({ length: window }, (_, j) => idx.slice(j * B, (j + 1) * B)),
      );
      windowAt = w;
    }
    return windowBatches[index % window] as number[];
  };
}

/**
 * The training examples (indices) of every step, a pure function of the step so a resumed run continues exactly.
 * Each curriculum phase draws from its own pool with its own shuffles; without a curriculum this is one phase over
 * every example.
 */
export function sftBatchSchedule(
  config: SftConfig,
  train: readonly SftExample[],
  lengths: readonly number[],
): (step: number) => number[] {
  const phases = curriculumPhases(config, train);
  const batchers = phases.map((ph, k) =>
    lengthBucketedBatches(ph.pool, lengths, config.batchSize, config.lengthWindow, config.seed, k),
  );
  return (step) => {
    const k = phases.findIndex((ph) => step < ph.end);
    return (batchers[k] as (i: number) => number[])(step - (phases[k] as Phase).start);
  };
}

export async function trainSft(opts: SftRunOptions): Promise<SftResult> {
  const config = SftConfig.parse(opts.config ?? {});
  const split = opts.eval
    ? { train: [...opts.train], eval: [...opts.eval] }
    : splitEval(opts.train, config.evalFraction, config.seed);
  const train = split.train;
  const evalSet = split.eval.slice(0, config.evalMax);
  if (train.length === 0) {
    throw new MmalignError('MMALIGN_NO_DATA', 'no training examples', {
      hint: 'check --data, the split and the tasks of the config',
    });
  }
  const lastDir = opts.outDir ? path.join(opts.outDir, LAST_DIR) : undefined;
  let model: Vlm;
  let startStep = 0;
  let history: Record<string, number>[] = [];
  let resumeState: Awaited<ReturnType<typeof loadTrainerState>> | undefined;
  if (opts.resume && lastDir && (await stat(path.join(lastDir, TRAINER_STATE_FILE)).catch(() => undefined))) {
    resumeState = await loadTrainerState(lastDir);
    const saved = SftConfig.parse(resumeState.state.config);
    if (resumeKey(saved) !== resumeKey(config)) {
      throw new MmalignError('MMALIGN_RESUME_MISMATCH', `${lastDir} was trained with a different config`, {
        hint: 'use the same --config to resume (only `steps` may change), or a new --out',
      });
    }
    if (opts.data && resumeState.state.dataSha256 && resumeState.state.dataSha256 !== opts.data.sha256) {
      throw new MmalignError('MMALIGN_RESUME_MISMATCH', `${lastDir} was trained on different data (sha256 differs)`);
    }
    model = await loadCheckpoint(lastDir);
    startStep = resumeState.state.step;
    history = resumeState.state.history as Record<string, number>[];
  } else {
    model = opts.init ?? createVlm(config.model, opts.tokenizer ?? sftTokenizer(train), config.seed);
  }
  const params = trainableWeights(model);
  const opt = new AdamW(params, config.optim);
  if (resumeState) opt.loadState(resumeState.optimizer, resumeState.state.optimizerT);
  const parameters = params.reduce((n, [, v]) => n + v.size, 0);
  const P = numPatches(model.config);

  const saveLast = async (step: number) => {
    if (!lastDir) return;
    const state: TrainerState = {
      step,
      optimizerT: opt.t,
      config: config as unknown as Record<string, unknown>,
      dataSha256: opts.data?.sha256,
      history,
    };
    await saveTrainingCheckpoint(lastDir, model, opt, state, { training: { sft: config }, data: opts.data ?? null });
  };

  const lengths = train.map((e) => model.tokenizer.encode(e.prompt).length + model.tokenizer.encode(e.answer).length);
  const scheduled = sftBatchSchedule(config, train, lengths);
  const batchAt = (step: number): SftExample[] => scheduled(step).map((i) => train[i] as SftExample);

  // replicas start before the clock: their ~1 s start-up is not training throughput
  const pool = await openTrainingPool(model, Math.min(opts.workers ?? 1, config.gradShards));
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const cpuMs = () => {
    const u = process.cpuUsage(cpuStart);
    return (u.user + u.system) / 1000;
  };
  let tokens = 0;
  let positions = 0;
  let last = { loss: Number.NaN, evalLoss: Number.NaN };
  let stoppedAt: number | undefined;
  try {
    for (let step = startStep; step < config.steps; step++) {
      const rng = new Rng(hashString(`step:${step}`, config.seed >>> 0));
      const batch = batchAt(step);
      const items: SftItem[] = batch.map((e) => ({
        image: rng.next() < config.imageDropout ? null : e.image,
        prompt: e.prompt,
        response: e.answer,
      }));
      const lr = lrAt(step, config.steps, config.optim);
      const shards = stridedShards(items, config.gradShards);
      const encoded = shards.map((rows) => encodeBatch(model.tokenizer, rows.map(asTextItem), model.config.maxTextLen));
      const denom = Math.max(
        1,
        encoded.reduce((n, e) => n + e.answerMask.reduce((a, b) => a + b, 0), 0),
      );
      const r = await parallelStep(
        pool,
        opt,
        model,
        lr,
        'sftGrad',
        shards.map((rows) => ({ items: rows, denom })),
      );
      for (const e of encoded) {
        tokens += e.lengths.reduce((a, b) => a + b, 0);
        positions += e.B * (P + e.T);
      }
      const row: Record<string, number> = { step: step + 1, loss: r.loss, lr, gradNorm: r.gradNorm };
      const isLast = step + 1 === config.steps;
      if (evalSet.length && ((config.evalEvery > 0 && (step + 1) % config.evalEvery === 0) || isLast)) {
        row.evalLoss = await evalLossSharded(pool, model, evalSet, config.gradShards);
        last.evalLoss = row.evalLoss;
      }
      last.loss = r.loss;
      history.push(row);
      const secs = (performance.now() - started) / 1000;
      opts.onProgress?.({
        step: step + 1,
        totalSteps: config.steps,
        loss: r.loss,
        lr,
        gradNorm: r.gradNorm,
        tokensPerSec: tokens / secs,
        positionsPerSec: positions / secs,
        evalLoss: row.evalLoss,
        elapsedMs: secs * 1000,
        cpuMs: cpuMs(),
      });
      // a step is synchronous tfjs work: let the event loop run, or a Ctrl-C handler would only fire at the next
      // checkpoint
      if (opts.signal) await new Promise((resolve) => setImmediate(resolve));
      if (opts.signal?.aborted && !isLast) {
        stoppedAt = step + 1;
        break;
      }
      if (config.checkpointEvery > 0 && (step + 1) % config.checkpointEvery === 0 && !isLast) await saveLast(step + 1);
    }
  } finally {
    await pool?.close();
  }
  if (stoppedAt !== undefined) {
    await saveLast(stoppedAt);
    opt.dispose();
    const wall = performance.now() - started;
    return {
      model,
      config,
      steps: stoppedAt,
      stepsRun: stoppedAt - startStep,
      parameters,
      wallMs: wall,
      cpuMs: cpuMs(),
      tokensPerSec: tokens / (wall / 1000),
      positionsPerSec: positions / (wall / 1000),
      finalLoss: last.loss,
      evalLoss: last.evalLoss,
      history,
      resumedFrom: resumeState ? startStep : undefined,
      stopped: true,
    };
  }
  const wallMs = performance.now() - started;
  if (!Number.isFinite(last.evalLoss) && evalSet.length)
    last = { ...last, evalLoss: await evalLossSharded(undefined, model, evalSet, config.gradShards) };
  const result: SftResult = {
    model,
    config,
    steps: config.steps,
    stepsRun: config.steps - startStep,
    parameters,
    wallMs,
    cpuMs: cpuMs(),
    tokensPerSec: tokens / (wallMs / 1000),
    positionsPerSec: positions / (wallMs / 1000),
    finalLoss: last.loss,
    evalLoss: last.evalLoss,
    history,
    resumedFrom: resumeState ? startStep : undefined,
    stopped: false,
  };
  if (opts.outDir) {
    await saveLast(config.steps);
    await saveCheckpoint(opts.outDir, model, {
      training: {
        sft: config,
        summary: {
          steps: config.steps,
          parameters,
          wallMs: Math.round(wallMs),
          cpuMs: Math.round(result.cpuMs),
          tokensPerSec: Math.round(result.tokensPerSec),
          positionsPerSec: Math.round(result.positionsPerSec),
          finalLoss: result.finalLoss,
          evalLoss: result.evalLoss,
          trainExamples: train.length,
          evalExamples: evalSet.length,
        },
      },
      data: opts.data ?? null,
    });
  }
  opt.dispose();
  return result;
}
