import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
  type CheckpointConfig,
  decode,
  decodeSafetensors,
  encodeBatch,
  encodeSafetensors,
  imagesToFloat,
  loadCheckpoint,
  mm,
  saveCheckpoint,
  tensorsToSt,
  tf,
  type Vlm,
  writeFileAtomic,
} from '../nn/index.ts';
import { hashString, Rng } from '../nn/rng.ts';
import { visualTokens } from '../nn/vlm.ts';
import { bt } from '../objectives/index.ts';
import { MmalignError } from '../util/errors.ts';
import { AdamW, lrAt, OptimConfig, trainableWeights, trainStep } from './common.ts';
import { type PrefExample, unitHash } from './pref-data.ts';

/**
 * Reward model on the embedded VLM: r_φ(I, x, y) = w·h_last + b, h_last the decoder's final hidden state at the
 * answer's last token (<eos>), trained with the Bradley–Terry loss (objective `bt`, optional per-pair margin) on
 * preference pairs. The checkpoint folder is a normal model checkpoint plus `reward_head.safetensors`.
 */
export const RmConfig = z.strictObject({
  seed: z.number().int().default(0),
  steps: z.number().int().positive().default(200),
  batchSize: z.number().int().positive().default(16),
  optim: OptimConfig.prefault({ lr: 1e-3, minLr: 1e-4, warmupSteps: 10 }),
  /** weight of the (r_w + r_l)² centring term (TRL `center_rewards_coefficient`) */
  centerRewards: z.number().nonnegative().default(0),
  evalFraction: z.number().min(0).lt(1).default(0.1),
  evalEvery: z.number().int().nonnegative().default(25),
  evalMax: z.number().int().positive().default(256),
});
export type RmConfig = z.output<typeof RmConfig>;
export type RmConfigInput = z.input<typeof RmConfig>;

export const HEAD_FILE = 'reward_head.safetensors';

export interface RewardModel {
  model: Vlm;
  head: tf.Variable;
  bias: tf.Variable;
}

/** r_φ for a batch of (image, prompt, response): [B], with gradients when called inside variableGrads. */
export function rewardScores(
  rm: RewardModel,
  items: readonly { image: Uint8Array | null; prompt: string; response: string }[],
): tf.Tensor {
  const { config: cfg, weights: w, tokenizer } = rm.model;
  const enc = encodeBatch(
    tokenizer,
    items.map((it) => ({ prompt: it.prompt, answer: it.response })),
    cfg.maxTextLen,
  );
  const { B, T } = enc;
  const I = cfg.imageSize;
  const has = items.map((it) => it.image !== null);
  const gray = new Uint8Array(I * I * 3).fill(128);
  let visual = has.some(Boolean)
    ? visualTokens(
        w,
        cfg,
        tf.tensor4d(
          imagesToFloat(
            items.map((it) => it.image ?? gray),
            I,
          ),
          [B, I, I, 3],
        ),
        B,
      )
    : visualTokens(w, cfg, null, B);
  if (has.some(Boolean) && !has.every(Boolean)) {
    const keep = tf.tensor3d(
      Float32Array.from(has, (h) => (h ? 1 : 0)),
      [B, 1, 1],
    );
    visual = tf.add(tf.mul(visual, keep), tf.mul(visualTokens(w, cfg, null, B), tf.sub(1, keep)));
  }
  const { hidden } = decode(w, cfg, visual, tf.tensor2d(enc.ids, [B, T], 'int32')); // [B, T, C]
  const last = new Float32Array(B * T);
  enc.lengths.forEach((n, b) => {
    last[b * T + n - 1] = 1;
  });
  const h = tf.sum(tf.mul(hidden, tf.tensor3d(last, [B, T, 1])), 1); // [B, C]
  return tf.add(tf.reshape(mm(h, rm.head), [B]), rm.bias);
}

/** Scores without gradients, as plain numbers (a reward plug-in for GRPO). */
export function scoreWithRewardModel(
  rm: RewardModel,
  items: readonly { image: Uint8Array | null; prompt: string; response: string }[],
  batchSize = 64,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < items.length; i += batchSize) {
    const t = tf.tidy(() => rewardScores(rm, items.slice(i, i + batchSize)));
    out.push(...(t.dataSync() as Float32Array));
    t.dispose();
  }
  return out;
}

export function newRewardModel(model: Vlm, seed: number): RewardModel {
  const rng = new Rng(seed >>> 0);
  const C = model.config.dModel;
  const head = tf.variable(
    tf.tensor2d(
      Float32Array.from({ length: C }, () => 0.02 * rng.normal()),
      [C, 1],
    ),
    true,
  );
  return { model, head, bias: tf.variable(tf.scalar(0), true) };
}

export async function saveRewardModel(dir: string, rm: RewardModel, info: Parameters<typeof saveCheckpoint>[2]) {
  await saveCheckpoint(dir, rm.model, info);
  await writeFileAtomic(
    path.join(dir, HEAD_FILE),
    encodeSafetensors(
      tensorsToSt([
        ['rm.head', rm.head],
        ['rm.bias', tf.reshape(rm.bias, [1])],
      ]),
    ),
  );
}

export async function loadRewardModel(dir: string, opts: { trainable?: boolean } = {}): Promise<RewardModel> {
  const file = path.join(dir, HEAD_FILE);
  if (!(await stat(file).catch(() => undefined)))
    throw new MmalignError('MMALIGN_BAD_CHECKPOINT', `${dir} has no ${HEAD_FILE}`, {
      hint: 'a reward model folder is written by `mmalign train rm`',
    });
  const model = await loadCheckpoint(dir, opts);
  const { tensors } = decodeSafetensors(await readFile(file), file);
  const head = tensors.get('rm.head');
  const bias = tensors.get('rm.bias');
  if (!head || !bias || head.shape.join(',') !== `${model.config.dModel},1`)
    throw new MmalignError('MMALIGN_BAD_CHECKPOINT', `${file}: rm.head [dModel, 1] and rm.bias are required`);
  const trainable = opts.trainable ?? true;
  return {
    model,
    head: tf.variable(tf.tensor2d(head.data as Float32Array, [model.config.dModel, 1]), trainable),
    bias: tf.variable(tf.scalar((bias.data as Float32Array)[0]!), trainable),
  };
}

export interface RmEval {
  /** share of held-out pairs with r(y_w) > r(y_l) */
  accuracy: number;
  /** mean r(y_w) − r(y_l) */
  margin: number;
  pairs: number;
}

export function evaluateRm(rm: RewardModel, pairs: readonly PrefExample[]): RmEval {
  const ok = pairs.filter((e) => e.chosen !== null && e.rejected !== null);
  if (!ok.length) return { accuracy: Number.NaN, margin: Number.NaN, pairs: 0 };
  const w = scoreWithRewardModel(
    rm,
    ok.map((e) => ({ image: e.image, prompt: e.prompt, response: e.chosen! })),
  );
  const l = scoreWithRewardModel(
    rm,
    ok.map((e) => ({ image: e.image, prompt: e.prompt, response: e.rejected! })),
  );
  const d = w.map((v, i) => v - l[i]!);
  return {
    accuracy: d.filter((x) => x > 0).length / d.length,
    margin: d.reduce((a, b) => a + b, 0) / d.length,
    pairs: d.length,
  };
}

export interface RmResult {
  rm: RewardModel;
  before: RmEval;
  after: RmEval;
  history: Record<string, number>[];
  wallMs: number;
}

/** Bradley–Terry training on pairs (records with both answers); the VLM body and the head are trained together. */
export async function trainRewardModel(opts: {
  config: RmConfigInput;
  model: Vlm;
  train: readonly PrefExample[];
  eval?: readonly PrefExample[];
  outDir?: string;
  data?: CheckpointConfig['data'];
  onProgress?: (p: {
    step: number;
    totalSteps: number;
    loss: number;
    metrics: Record<string, number>;
    eval?: RmEval;
  }) => void;
}): Promise<RmResult> {
  const config = RmConfig.parse(opts.config);
  const pairs = opts.train.filter((e) => e.chosen !== null && e.rejected !== null);
  const held = (e: PrefExample) => unitHash(e.id, config.seed) < config.evalFraction;
  const train = opts.eval ? pairs : pairs.filter((e) => !held(e));
  const evalSet = (opts.eval ?? pairs.filter(held)).slice(0, config.evalMax);
  if (!train.length)
    throw new MmalignError('MMALIGN_NO_DATA', 'no preference pairs (records with chosen and rejected)');
  const rm = newRewardModel(opts.model, config.seed);
  const opt = new AdamW(
    [
      ...trainableWeights(opts.model),
      ['rm.head', rm.head] as [string, tf.Variable],
      ['rm.bias', rm.bias] as [string, tf.Variable],
    ],
    config.optim,
  );
  const before = evaluateRm(rm, evalSet);
  const history: Record<string, number>[] = [];
  const B = Math.min(config.batchSize, train.length);
  let perm: number[] = [];
  let permEpoch = -1;
  const at = (k: number) => {
    const epoch = Math.floor(k / train.length);
    if (epoch !== permEpoch) {
      perm = new Rng(hashString(`epoch:${epoch}`, config.seed >>> 0)).shuffle(train.map((_, i) => i));
      permEpoch = epoch;
    }
    return train[perm[k % train.length]!]!;
  };
  const started = performance.now();
  let after = before;
  for (let step = 0; step < config.steps; step++) {
    const batch = Array.from({ length: B }, (_, i) => at(step * B + i));
    const margins = batch.every((e) => e.margin !== undefined) ? batch.map((e) => e.margin!) : undefined;
    let metrics: Record<string, number> = {};
    const lr = lrAt(step, config.steps, config.optim);
    const r = trainStep(opt, lr, () => {
      const s = rewardScores(rm, [
        ...batch.map((e) => ({ image: e.image, prompt: e.prompt, response: e.chosen! })),
        ...batch.map((e) => ({ image: e.image, prompt: e.prompt, response: e.rejected! })),
      ]);
      const out = bt(
        {
          chosen_rewards: tf.slice(s, 0, B),
          rejected_rewards: tf.slice(s, B, B),
          ...(margins ? { reward_margins: tf.tensor1d(margins) } : {}),
        },
        { center_rewards_coefficient: config.centerRewards },
      );
      metrics = out.metrics;
      return out.loss;
    });
    const row: Record<string, number> = { step: step + 1, loss: r.loss, lr, gradNorm: r.gradNorm, ...metrics };
    let ev: RmEval | undefined;
    if (
      evalSet.length &&
      ((config.evalEvery > 0 && (step + 1) % config.evalEvery === 0) || step + 1 === config.steps)
    ) {
      ev = evaluateRm(rm, evalSet);
      after = ev;
      Object.assign(row, { 'eval/accuracy': ev.accuracy, 'eval/margin': ev.margin });
    }
    history.push(row);
    opts.onProgress?.({ step: step + 1, totalSteps: config.steps, loss: r.loss, metrics: row, eval: ev });
  }
  const wallMs = performance.now() - started;
  if (opts.outDir)
    await saveRewardModel(opts.outDir, rm, {
      training: { rm: config, summary: { steps: config.steps, before, after } },
      data: opts.data ?? null,
    });
  opt.dispose();
  return { rm, before, after, history, wallMs };
}
