import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
  decodeSafetensors,
  encodeSafetensors,
  saveCheckpoint,
  tensorsToSt,
  tf,
  type Vlm,
  writeFileAtomic,
} from '../nn/index.ts';
import { namedWeights } from '../nn/vlm.ts';
import { MmalignError } from '../util/errors.ts';

/**
 * Pieces every trainer shares (SFT here; DPO-family, reward-model and GRPO trainers reuse them): AdamW, the
 * warmup + cosine schedule, global-norm gradient clipping, one optimisation step, and resumable checkpoints.
 */

export const OptimConfig = z.strictObject({
  /** peak learning rate, reached after warmup */
  lr: z.number().positive().default(5e-3),
  /** floor of the cosine decay */
  minLr: z.number().nonnegative().default(5e-4),
  warmupSteps: z.number().int().nonnegative().default(30),
  /** decoupled weight decay (AdamW), applied to matrices only (rank ≥ 2), not to biases or LayerNorm gains */
  weightDecay: z.number().nonnegative().default(0.01),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.99),
  eps: z.number().positive().default(1e-8),
  /** max global L2 norm of the gradient (0 = no clipping) */
  gradClip: z.number().nonnegative().default(1),
});
export type OptimConfig = z.output<typeof OptimConfig>;
export type OptimConfigInput = z.input<typeof OptimConfig>;

/**
 * Learning rate at `step` (0-based) of `total`: linear warmup from lr/warmup to lr, then cosine decay to minLr
 * (the nanoGPT / HF `cosine_with_min_lr` shape).
 */
export function lrAt(step: number, total: number, c: Pick<OptimConfig, 'lr' | 'minLr' | 'warmupSteps'>): number {
  if (step < c.warmupSteps) return (c.lr * (step + 1)) / c.warmupSteps;
  const span = Math.max(1, total - c.warmupSteps);
  const progress = Math.min(1, (step - c.warmupSteps) / span);
  return c.minLr + 0.5 * (c.lr - c.minLr) * (1 + Math.cos(Math.PI * progress));
}

/**
 * AdamW (Loshchilov & Hutter 2019, as torch.optim.AdamW): p ← p − lr·λ·p; m ← β1·m + (1−β1)·g;
 * v ← β2·v + (1−β2)·g²; p ← p − lr·m̂/(√v̂ + ε) with bias-corrected m̂, v̂. State is named like the weights so it
 * can be saved beside them.
 *
 * Fused: m, v and the update run on all parameters flattened into one vector (params order), so a step costs a
 * dozen kernels instead of ~18 per weight tensor; on tfjs-wasm each kernel call has a fixed cost that, for the
 * default model's 40-odd tensors, was a tenth of a training step.
 */
export class AdamW {
  readonly params: [string, tf.Variable][];
  readonly cfg: OptimConfig;
  /** updates applied so far (t of the bias correction) */
  t = 0;
  /** every parameter's value after the last update, flat in params order (what data-parallel replicas are sent) */
  values: Float32Array | undefined;
  /** m and v of every parameter, flattened and concatenated in params order */
  private readonly m: tf.Variable;
  private readonly v: tf.Variable;
  private readonly sizes: number[];
  /**
   * Where each parameter starts in the flat vectors. The update is cut back into tensors in JS: wasm's Slice and
   * SplitV copy the whole input per piece (40 slices of 300k floats: 25 ms; dataSync + 40 tensors: 1 ms).
   */
  private readonly offsets: number[];
  /** 1 where weight decay applies (matrices, rank ≥ 2), 0 for biases and LayerNorm gains; flat like m; and 1 − it */
  private readonly decayMask: tf.Tensor1D;
  private readonly keepMask: tf.Tensor1D;

  constructor(params: [string, tf.Variable][], cfg: OptimConfig) {
    this.params = params;
    this.cfg = cfg;
    this.sizes = params.map(([, p]) => p.size);
    this.offsets = [];
    let total = 0;
    for (const size of this.sizes) {
      this.offsets.push(total);
      total += size;
    }
    this.m = tf.variable(tf.zeros([total]), false);
    this.v = tf.variable(tf.zeros([total]), false);
    const mask = new Float32Array(total);
    params.forEach(([, p], i) => {
      if (p.rank >= 2) mask.fill(1, this.offsets[i], (this.offsets[i] as number) + p.size);
    });
    this.decayMask = tf.tensor1d(mask);
    this.keepMask = tf.tensor1d(mask.map((x) => 1 - x));
  }

  /**
   * Clips `grads` (keyed by variable name, as tf.variableGrads returns them) to the global norm and applies one
   * update. Call inside tf.tidy. Returns the pre-clipping global norm as a scalar tensor (read it later: no sync).
   */
  apply(grads: tf.NamedTensorMap, lr: number): tf.Scalar {
    // a weight the loss did not touch (e.g. noImage when no image was dropped) has no gradient: use zeros
    const gs = this.params.map(([, p]) => grads[p.name] ?? tf.zerosLike(p));
    // per-tensor sums, then their sum: the same float32 rounding as the unfused optimiser had (runs reproduce)
    const norm = tf.sqrt(tf.addN(gs.map((x) => tf.sum(tf.square(x))))) as tf.Scalar;
    this.update(flatten(gs), norm, lr);
    return norm;
  }

  /**
   * `apply` for a gradient already flat in params order (the sum of data-parallel shards): its norm is one sum over
   * the vector (float32 rounding differs from `apply`'s per-tensor sums; cutting the vector into tensors to match
   * would cost more than the rest of the update on wasm). Call inside tf.tidy; returns the pre-clipping norm.
   */
  applyFlat(g: tf.Tensor1D, lr: number): tf.Scalar {
    const norm = tf.sqrt(tf.sum(tf.square(g))) as tf.Scalar;
    this.update(g, norm, lr);
    return norm;
  }

  private update(g: tf.Tensor, norm: tf.Scalar, lr: number): void {
    const { beta1: b1, beta2: b2, eps, weightDecay, gradClip } = this.cfg;
    this.t += 1;
    // torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6), clamped to 1
    const gc = gradClip > 0 ? tf.mul(g, tf.minimum(1, tf.div(gradClip, tf.add(norm, 1e-6)))) : g;
    const m = tf.add(tf.mul(this.m, b1), tf.mul(gc, 1 - b1));
    const v = tf.add(tf.mul(this.v, b2), tf.mul(tf.square(gc), 1 - b2));
    this.m.assign(m);
    this.v.assign(v);
    const update = tf.div(tf.div(m, 1 - b1 ** this.t), tf.add(tf.sqrt(tf.div(v, 1 - b2 ** this.t)), eps));
    const p = flatten(this.params.map(([, w]) => w));
    // factor 1 − lr·λ (rounded once, as a scalar would be) on decayed weights, exactly 1 elsewhere
    const decayed =
      weightDecay > 0 ? tf.mul(p, tf.add(tf.mul(this.decayMask, 1 - lr * weightDecay), this.keepMask)) : p;
    const next = tf.sub(decayed, tf.mul(update, lr)).dataSync() as Float32Array;
    this.params.forEach(([, w], i) => {
      w.assign(tf.tensor(this.part(next, i), w.shape, 'float32'));
    });
    this.values = next;
  }

  /** m.<name> and v.<name> per parameter, shaped like it (new tensors: the caller disposes them). */
  stateTensors(): [string, tf.Tensor][] {
    const m = this.m.dataSync() as Float32Array;
    const v = this.v.dataSync() as Float32Array;
    return this.params.flatMap(([name, p], i) => [
      [`m.${name}`, tf.tensor(this.part(m, i), p.shape, 'float32')],
      [`v.${name}`, tf.tensor(this.part(v, i), p.shape, 'float32')],
    ]);
  }

  /** parameter i's stretch of a flat vector (a copy: tf.tensor may keep the array it is given) */
  private part(flat: Float32Array, i: number): Float32Array {
    const at = this.offsets[i] as number;
    return flat.slice(at, at + (this.sizes[i] as number));
  }

  loadState(tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array | Int32Array }>, t: number): void {
    for (const [slot, variable] of [
      ['m', this.m],
      ['v', this.v],
    ] as const) {
      const flat = new Float32Array(variable.size);
      let offset = 0;
      for (const [name, p] of this.params) {
        const key = `${slot}.${name}`;
        const s = tensors.get(key);
        if (!s || s.shape.join(',') !== p.shape.join(',')) {
          throw new MmalignError('MMALIGN_BAD_CHECKPOINT', `optimizer state ${key} is missing or has the wrong shape`);
        }
        flat.set(s.data, offset);
        offset += p.size;
      }
      const value = tf.tensor1d(flat);
      variable.assign(value);
      value.dispose();
    }
    this.t = t;
  }

  dispose(): void {
    for (const x of [this.m, this.v, this.decayMask, this.keepMask]) x.dispose();
  }
}

const flatten = (ts: tf.Tensor[]) => tf.concat(ts.map((t) => tf.reshape(t, [-1])));

/** Trainable weights of a model in checkpoint order. */
export function trainableWeights(m: Vlm): [string, tf.Variable][] {
  return namedWeights(m.weights).filter(([, v]) => v.trainable);
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  metrics: Record<string, number>;
}

/**
 * One optimisation step: loss + gradients of `lossFn` w.r.t. the optimizer's weights, clip, AdamW. `lossFn` may
 * report scalar metrics through `report(name, t)` (read once, after the step, with the loss). Everything runs in
 * one tidy, so the tensor count stays flat.
 */
export function trainStep(
  opt: AdamW,
  lr: number,
  lossFn: (report: (name: string, t: tf.Tensor) => void) => tf.Scalar,
): StepResult {
  const names: string[] = [];
  const reported: tf.Tensor[] = [];
  const packed = tf.tidy(() => {
    // variableGrads runs lossFn in its own scope and frees everything but the loss: keep reported metrics by hand
    const report = (name: string, t: tf.Tensor) => {
      names.push(name);
      reported.push(tf.keep(tf.cast(tf.reshape(t, []), 'float32')));
    };
    const { value, grads } = tf.variableGrads(
      () => lossFn(report),
      opt.params.map(([, v]) => v),
    );
    const norm = opt.apply(grads, lr);
    return tf.stack([value, norm, ...reported]);
  });
  for (const r of reported) r.dispose();
  const values = packed.dataSync();
  packed.dispose();
  const metrics: Record<string, number> = {};
  names.forEach((n, i) => {
    metrics[n] = values[i + 2] as number;
  });
  return { loss: values[0] as number, gradNorm: values[1] as number, metrics };
}

// ---------------------------------------------------------------------------------------------------------------
// data-parallel pieces: a shard's gradient as one flat vector, and one update from the sum of the shards' vectors

/** Where each parameter starts in a flat vector of all of them (params order), and the total length. */
export function flatLayout(params: readonly [string, tf.Variable][]): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let total = 0;
  for (const [, p] of params) {
    offsets.push(total);
    total += p.size;
  }
  return { offsets, total };
}

export interface ShardGradient {
  /** this shard's part of the loss (shards' parts sum to the global loss) */
  loss: number;
  /** d loss / d params, flattened in params order; zeros for weights the loss does not reach */
  grads: Float32Array;
  /** metrics reported by the loss function, as in `trainStep` */
  metrics: Record<string, number>;
}

/**
 * Loss and gradients of one shard of a batch, no update: the data-parallel half of `trainStep`. The shard's loss
 * must be its additive part of the global objective (e.g. its token NLL sum over the whole batch's token count), so
 * the shards' gradients sum to the global gradient.
 */
export function shardGradient(
  params: readonly [string, tf.Variable][],
  lossFn: (report: (name: string, t: tf.Tensor) => void) => tf.Scalar,
): ShardGradient {
  const names: string[] = [];
  const reported: tf.Tensor[] = [];
  const [packed, ...perParam] = tf.tidy(() => {
    const report = (name: string, t: tf.Tensor) => {
      names.push(name);
      reported.push(tf.keep(tf.cast(tf.reshape(t, []), 'float32')));
    };
    const { value, grads } = tf.variableGrads(
      () => lossFn(report),
      params.map(([, v]) => v),
    );
    // not one tf.concat: on wasm it cost ~10 ms for the default model's 40 tensors, 40 reads cost < 1 ms
    return [tf.stack([value, ...reported]), ...params.map(([, p]) => grads[p.name] ?? tf.zerosLike(p))];
  });
  for (const r of reported) r.dispose();
  const values = packed.dataSync();
  packed.dispose();
  const { offsets, total } = flatLayout(params);
  const grads = new Float32Array(total);
  perParam.forEach((g, i) => {
    grads.set(g.dataSync() as Float32Array, offsets[i]);
    g.dispose();
  });
  const metrics: Record<string, number> = {};
  names.forEach((n, i) => {
    metrics[n] = values[i + 1] as number;
  });
  return { loss: values[0] as number, grads, metrics };
}

/**
 * Sums shard results in shard order (float32 adds, so a given N always rounds the same way): the global loss,
 * gradient and metrics (summed too: shards report additive parts, as they do of the loss).
 */
export function sumShards(shards: readonly ShardGradient[]): ShardGradient {
  const [first, ...rest] = shards as [ShardGradient, ...ShardGradient[]];
  const grads = Float32Array.from(first.grads);
  const metrics = { ...first.metrics };
  let loss = first.loss;
  for (const s of rest) {
    loss += s.loss;
    for (let i = 0; i < grads.length; i++) grads[i] = (grads[i] as number) + (s.grads[i] as number);
    for (const [k, v] of Object.entries(s.metrics)) metrics[k] = (metrics[k] ?? 0) + v;
  }
  return { loss, grads, metrics };
}

/** One AdamW update (clip included) from a flat gradient in the optimizer's params order; returns the pre-clip norm. */
export function applyFlatGradient(opt: AdamW, flat: Float32Array, lr: number): number {
  const norm = tf.tidy(() => opt.applyFlat(tf.tensor1d(flat), lr));
  const value = norm.dataSync()[0] as number;
  norm.dispose();
  return value;
}

/** The values of `params`, flattened in order (what replicas are sent after an update). */
export function readFlat(params: readonly [string, tf.Variable][]): Float32Array {
  const { offsets, total } = flatLayout(params);
  const out = new Float32Array(total);
  params.forEach(([, p], i) => {
    out.set(p.dataSync() as Float32Array, offsets[i]);
  });
  return out;
}

/** Sets `params` from a flat vector laid out as `readFlat` writes it. */
export function assignFlat(params: readonly [string, tf.Variable][], flat: Float32Array): void {
  const { offsets, total } = flatLayout(params);
  if (flat.length !== total) throw new Error(`flat weights have ${flat.length} values, the params need ${total}`);
  params.forEach(([, p], i) => {
    const at = offsets[i] as number;
    const value = tf.tensor(flat.slice(at, at + p.size), p.shape, 'float32');
    p.assign(value);
    value.dispose();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// resumable checkpoints: <out>/last = model files + optimizer.safetensors + trainer_state.json

export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const TRAINER_STATE_FILE = 'trainer_state.json';
export const LAST_DIR = 'last';

export const TrainerState = z.looseObject({
  /** optimisation steps done */
  step: z.number().int().nonnegative(),
  /** AdamW bias-correction counter */
  optimizerT: z.number().int().nonnegative(),
  /** the trainer's config, to refuse resuming with a different one */
  config: z.record(z.string(), z.unknown()),
  dataSha256: z.string().optional(),
  history: z.array(z.record(z.string(), z.number())).default([]),
});
export type TrainerState = z.infer<typeof TrainerState>;

/**
 * Writes a resumable checkpoint to `dir` (a complete checkpoint folder plus optimizer state) through `dir.tmp` and
 * a rename, so an interrupted write leaves the previous one intact.
 */
export async function saveTrainingCheckpoint(
  dir: string,
  m: Vlm,
  opt: AdamW,
  state: TrainerState,
  info: Parameters<typeof saveCheckpoint>[2],
): Promise<void> {
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const moments = opt.stateTensors();
  try {
    await writeFileAtomic(path.join(tmp, OPTIMIZER_FILE), encodeSafetensors(tensorsToSt(moments)));
  } finally {
    for (const [, t] of moments) t.dispose();
  }
  await writeFileAtomic(path.join(tmp, TRAINER_STATE_FILE), `${JSON.stringify(state)}\n`);
  await saveCheckpoint(tmp, m, info);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

export async function loadTrainerState(dir: string): Promise<{
  state: TrainerState;
  optimizer: Map<string, { shape: number[]; data: Float32Array | Int32Array }>;
}> {
  const file = path.join(dir, TRAINER_STATE_FILE);
  const parsed = TrainerState.safeParse(JSON.parse(await readFile(file, 'utf8')));
  if (!parsed.success) throw new MmalignError('MMALIGN_BAD_CHECKPOINT', `${file}: ${parsed.error.issues[0]?.message}`);
  const optFile = path.join(dir, OPTIMIZER_FILE);
  return { state: parsed.data, optimizer: decodeSafetensors(await readFile(optFile), optFile).tensors };
}
