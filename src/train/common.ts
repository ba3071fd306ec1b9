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
 */
export class AdamW {
  readonly params: [string, tf.Variable][];
  readonly cfg: OptimConfig;
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];
  /** updates applied so far (t of the bias correction) */
  t = 0;

  constructor(params: [string, tf.Variable][], cfg: OptimConfig) {
    this.params = params;
    this.cfg = cfg;
    this.m = params.map(([, p]) => tf.variable(tf.zerosLike(p), false));
    this.v = params.map(([, p]) => tf.variable(tf.zerosLike(p), false));
  }

  /**
   * Clips `grads` (keyed by variable name, as tf.variableGrads returns them) to the global norm and applies one
   * update. Call inside tf.tidy. Returns the pre-clipping global norm as a scalar tensor (read it later: no sync).
   */
  apply(grads: tf.NamedTensorMap, lr: number): tf.Scalar {
    const { beta1: b1, beta2: b2, eps, weightDecay, gradClip } = this.cfg;
    this.t += 1;
    // a weight the loss did not touch (e.g. noImage when no image was dropped) has no gradient: use zeros
    const gs = this.params.map(([, p]) => grads[p.name] ?? tf.zerosLike(p));
    const norm = tf.sqrt(tf.addN(gs.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    // torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6), clamped to 1
    const coef = gradClip > 0 ? tf.minimum(1, tf.div(gradClip, tf.add(norm, 1e-6))) : tf.scalar(1);
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    this.params.forEach(([, p], i) => {
      const g = tf.mul(gs[i] as tf.Tensor, coef);
      const m = tf.add(tf.mul(this.m[i] as tf.Variable, b1), tf.mul(g, 1 - b1));
      const v = tf.add(tf.mul(this.v[i] as tf.Variable, b2), tf.mul(tf.square(g), 1 - b2));
      (this.m[i] as tf.Variable).assign(m);
      (this.v[i] as tf.Variable).assign(v);
      const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
      const decayed = weightDecay > 0 && p.rank >= 2 ? tf.mul(p, 1 - lr * weightDecay) : p;
      p.assign(tf.sub(decayed, tf.mul(update, lr)));
    });
    return norm;
  }

  stateTensors(): [string, tf.Tensor][] {
    return this.params.flatMap(([name], i) => [
      [`m.${name}`, this.m[i] as tf.Tensor],
      [`v.${name}`, this.v[i] as tf.Tensor],
    ]);
  }

  loadState(tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array | Int32Array }>, t: number): void {
    const slots: [string, tf.Variable][] = this.params.flatMap(([name], i) => [
      [`m.${name}`, this.m[i] as tf.Variable],
      [`v.${name}`, this.v[i] as tf.Variable],
    ]);
    for (const [key, variable] of slots) {
      const s = tensors.get(key);
      if (!s || s.shape.join(',') !== variable.shape.join(',')) {
        throw new MmalignError('MMALIGN_BAD_CHECKPOINT', `optimizer state ${key} is missing or has the wrong shape`);
      }
      const value = tf.tensor(s.data, s.shape, 'float32');
      variable.assign(value);
      value.dispose();
    }
    this.t = t;
  }

  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}

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
  await writeFileAtomic(path.join(tmp, OPTIMIZER_FILE), encodeSafetensors(tensorsToSt(opt.stateTensors())));
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
