import { encodeBatch, responseLogprobs, tf, type Vlm } from '../nn/index.ts';

/**
 * Trainer objectives written as sums over rows, so a batch can be split across data-parallel replicas: each shard
 * divides by the whole batch's normaliser, its loss and gradient are its additive part, and the shards' parts sum
 * to the batch's objective (exactly in real arithmetic; float32 differs by summation order only).
 */

export interface SftItem {
  /** RGB bytes [I, I, 3], or null for an example trained without its image (image dropout) */
  image: Uint8Array | null;
  prompt: string;
  response: string;
}

/**
 * SFT's part of these rows: −Σ_rows Σ_answer tokens log π(y_t | I, x, y_<t) / denom. With denom = the answer
 * tokens of the whole batch, the shards sum to the batch's per-token mean NLL (not a mean of per-shard means,
 * which would weight a shard's tokens by 1 / its own token count).
 */
export function sftShardLoss(model: Vlm, items: readonly SftItem[], denom: number): tf.Scalar {
  const s = responseLogprobs(model, items);
  return tf.div(tf.neg(tf.sum(s.tokenLogps)), denom) as tf.Scalar;
}

/**
 * Answer-token values laid out as `responseLogprobs` lays out its [rows, T−1] outputs (T = the rows' padded
 * length): row r's k-th value goes to its k-th answer position, zeros elsewhere.
 */
export function placeAnswerValues(model: Vlm, items: readonly SftItem[], values: readonly (readonly number[])[]) {
  const enc = encodeBatch(
    model.tokenizer,
    items.map((it) => ({ prompt: it.prompt, answer: it.response })),
    model.config.maxTextLen,
  );
  const W = enc.T - 1;
  const out = new Float32Array(enc.B * W);
  for (let r = 0; r < enc.B; r++) {
    const v = values[r] ?? [];
    let k = 0;
    for (let t = 0; t < W; t++) if (enc.answerMask[r * W + t]) out[r * W + t] = v[k++] ?? 0;
  }
  return { data: out, shape: [enc.B, W] as [number, number], answerMask: enc.answerMask };
}

/**
 * The back-propagation half of a data-parallel step for an objective of the whole batch's token log-probs: given
 * upstream[r][k] = ∂L/∂ log π(answer token k of row r) (computed where the rows were gathered), the gradient of
 * Σ upstream ⊙ log π over these rows is their part of ∂L/∂θ (the chain rule, split by rows).
 */
export function tokenVjpLoss(
  model: Vlm,
  items: readonly SftItem[],
  upstream: readonly (readonly number[])[],
): tf.Scalar {
  const s = responseLogprobs(model, items);
  const u = placeAnswerValues(model, items, upstream);
  return tf.sum(tf.mul(s.tokenLogps, tf.tensor2d(u.data, u.shape))) as tf.Scalar;
}
