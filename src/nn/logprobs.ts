import { encodeBatch } from './batch.ts';
import type { Vlm } from './checkpoint.ts';
import { imagesToFloat } from './image.ts';
import { tf } from './tf.ts';
import { numPatches, tokenLogprobsFromVisual, visualTokens } from './vlm.ts';

/**
 * log π(y | I, x) per token for a batch of (image, prompt, response), as tensors that carry gradients when called
 * inside `tf.variableGrads` — the quantity every DPO-family objective consumes.
 *
 * Visual input per row: the item's image bytes as given (pass I_neg bytes for "replace"), or no image (null bytes,
 * or `visual: 'none'` for the whole batch), which uses the learned `noImage` tokens (see vlm.ts).
 */
export interface ScoreItem {
  /** RGB bytes [I, I, 3] or null */
  image: Uint8Array | null;
  prompt: string;
  response: string;
}

export interface ScoredBatch {
  /** [B, T−1]: log π of each answer token (and <eos>), 0 outside the answer */
  tokenLogps: tf.Tensor;
  /** [B, T−1]: 1 on answer positions */
  mask: tf.Tensor;
  /** [B]: Σ_t of tokenLogps = log π(y | I, x) */
  seqLogps: tf.Tensor;
  /** answer token ids per row (with <eos> unless truncated) */
  answers: number[][];
  /** rows that had to be truncated to fit maxTextLen */
  truncated: number;
  /** non-pad text tokens in the batch (for tokens/s) */
  textTokens: number;
}

export function responseLogprobs(
  m: Vlm,
  items: readonly { image: Uint8Array | null; prompt: string; response: string }[],
  opts: { visual?: 'given' | 'none' } = {},
): ScoredBatch {
  const { config: cfg, weights: w } = m;
  const enc = encodeBatch(
    m.tokenizer,
    items.map((it) => ({ prompt: it.prompt, answer: it.response })),
    cfg.maxTextLen,
  );
  const { B, T } = enc;
  const I = cfg.imageSize;
  const has = items.map((it) => opts.visual !== 'none' && it.image !== null);
  const ids = tf.tensor2d(enc.ids, [B, T], 'int32'); // [B, T]
  let visual: tf.Tensor; // [B, P, C]
  if (has.every((h) => !h)) visual = visualTokens(w, cfg, null, B);
  else {
    const zeros = new Uint8Array(I * I * 3).fill(128);
    const imgs = tf.tensor4d(
      imagesToFloat(
        items.map((it, b) => (has[b] ? (it.image as Uint8Array) : zeros)),
        I,
      ),
      [B, I, I, 3],
    );
    visual = visualTokens(w, cfg, imgs, B);
    if (!has.every((h) => h)) {
      const keep = tf.tensor3d(
        Float32Array.from(has, (h) => (h ? 1 : 0)),
        [B, 1, 1],
      ); // [B, 1, 1]
      const none = visualTokens(w, cfg, null, B);
      visual = tf.add(tf.mul(visual, keep), tf.mul(none, tf.sub(1, keep)));
    }
  }
  if (visual.shape[1] !== numPatches(cfg)) throw new Error('visual tokens do not match the config');
  const mask = tf.tensor2d(enc.answerMask, [B, T - 1]); // [B, T−1]
  const tokenLogps = tf.mul(tokenLogprobsFromVisual(w, cfg, visual, ids), mask); // [B, T−1]
  return {
    tokenLogps,
    mask,
    seqLogps: tf.sum(tokenLogps, 1),
    answers: enc.answers,
    truncated: enc.truncated,
    textTokens: enc.lengths.reduce((a, b) => a + b, 0),
  };
}
