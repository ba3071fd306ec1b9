import { responseLogprobs, tf, type Vlm } from '../nn/index.ts';

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
