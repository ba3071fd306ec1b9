/**
 * The embedded vision-language model, read top to bottom: leaf ops, the config, the weight record, the vision
 * encoder + projector, the causal decoder, teacher-forced log-probs, and the KV-cache step used by `generate.ts`.
 *
 * Architecture (LLaVA in miniature): a ViT encodes an image into E patch tokens, M×M neighbours are merged and a
 * 2-layer GELU MLP projects them into the decoder's space (P tokens), and a decoder-only transformer (pre-LN, ReLU
 * MLPs, untied head) runs over [image tokens; <bos> prompt <sep> answer <eos>]. Attention is prefix-LM: image
 * tokens see each other, text tokens see everything before them. Two options help a model this small see at all
 * (see their fields in VlmConfig): a second patch embedding of contrast-normalised pixels (`patchNorm`), and an
 * image summary s = mean of the visual tokens fed to every text input (`imageSummary`: e + s, or FiLM
 * e ⊙ (1 + s·W) + s).
 *
 * Dimension legend:
 *   B batch, N = B·S rows, E = G² encoder patches, P = E/M² visual tokens the decoder sees, T text tokens,
 *   S = P + T sequence, C channels (dModel), H heads, D = C/H head size, F = mlpRatio·C MLP width, V vocab,
 *   K = patch·patch·3 patch pixels, I image side in pixels, G = I/patch patches per side, M merge size.
 *
 * tfjs-wasm constraints (../shared/docs/stack.md): embeddings are oneHot·E and log-probs sum(oneHot ⊙ logSoftmax)
 * (no `gather` gradient), patches are cut by reshape/transpose (no conv backprop), and every matMul goes through
 * `mm`, whose gradient uses explicit transposes (wasm's transposeA/B path is 3–15× slower).
 *
 * "No image" (visual mode `none`): the P image tokens are replaced by one learned vector `noImage` [C] (the
 * decoder's position embeddings still tell the slots apart). SFT trains it by dropping the image of a small share
 * of examples (`imageDropout`), so log π(y | x) without the image is the model's language prior, not noise.
 */
import { z } from 'zod';
import { batchMatMulSimd } from './bmm.ts';
import { Rng } from './rng.ts';
import { tf } from './tf.ts';

// ---------------------------------------------------------------------------------------------------------------
// leaf ops

function swapLast(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1] as number, perm[r - 2] as number];
  return tf.transpose(t, perm);
}

/**
 * a @ b (rank 2 or batched rank 3) whose backward pass is dA = dy @ bᵀ, dB = aᵀ @ dy. Rank 2 runs tfjs's matMul
 * (XNNPACK) with explicit transposes in the gradient: its transposeA/B path is 3–15× slower (stack.md trap 1).
 * Rank 3 with a batch > 1 (attention) runs our SIMD kernel (bmm.ts): tfjs-wasm has only a scalar loop for it.
 */
export const mm = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  const batched = a.rank === 3 && b.rank === 3 && (a.shape[0] as number) > 1;
  return {
    value: batched ? batchMatMulSimd(a, b) : tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      if (batched) return [batchMatMulSimd(dy, sb, false, true), batchMatMulSimd(sa, dy, true, false)];
      return [tf.matMul(dy, swapLast(sb)), tf.matMul(swapLast(sa), dy)];
    },
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** x [N, Cin] @ w [Cin, Cout] + b [Cout] → [N, Cout] */
function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.add(mm(x, w), b);
}

/**
 * GELU, tanh approximation (GPT-2, ViT): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). Not ReLU: the projector has no
 * residual path, and a ReLU projector of this size dies early in training (all units negative → constant visual
 * tokens, zero gradient: a blind model).
 */
function gelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

/** LayerNorm over the last axis, from mean and rsqrt (no fused kernel needed). x [N, C] */
function layerNorm(x: tf.Tensor, ln: LayerNormWeights, eps = 1e-5): tf.Tensor {
  const mu = tf.mean(x, -1, true); // [N, 1]
  const xc = tf.sub(x, mu);
  const variance = tf.mean(tf.square(xc), -1, true); // [N, 1]
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, eps))), ln.g), ln.b);
}

/**
 * One-hot rows as float32, built in JS from the id values: ids are inputs (never differentiated), and this is both
 * faster than wasm's OneHot kernel and avoids its bug in tfjs-wasm 4.22, which ignores a float32 dtype and writes
 * int32 bits into the float buffer (1 reads as 1.4e-45, silently zeroing every loss). ids [N] int32 → [N, depth]
 */
export function oneHotF(ids: tf.Tensor, depth: number): tf.Tensor {
  const values = ids.dataSync();
  const out = new Float32Array(values.length * depth);
  values.forEach((id, i) => {
    if (id >= 0 && id < depth) out[i * depth + id] = 1;
  });
  return tf.tensor2d(out, [values.length, depth]);
}

/** Σ_v oneHot(ids)_v · logSoftmax(logits)_v: the log-prob of each target id. logits [N, V], ids [N] → [N] */
export function pickLogprobs(logits: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const V = logits.shape[1] as number;
  return tf.sum(tf.mul(oneHotF(ids, V), tf.logSoftmax(logits)), -1);
}

// ---------------------------------------------------------------------------------------------------------------
// config

export const VlmConfig = z.strictObject({
  /** I: images are resized to I×I RGB */
  imageSize: z.number().int().positive(),
  /** pixels per patch side; must divide imageSize */
  patchSize: z.number().int().positive(),
  /**
   * M: the projector merges M×M neighbouring patch tokens into one decoder token (Qwen2-VL's patch merger), so the
   * decoder sees P = (G/M)² tokens: at 48 px, 8 px patches and M = 2, 9 tokens instead of 36. Must divide G.
   */
  mergeSize: z.number().int().positive().default(1),
  /** C */
  dModel: z.number().int().positive(),
  /** H; must divide dModel */
  nHeads: z.number().int().positive(),
  /** vision encoder blocks */
  encLayers: z.number().int().nonnegative(),
  /** decoder blocks */
  decLayers: z.number().int().positive(),
  /** F = mlpRatio · C */
  mlpRatio: z.number().int().positive(),
  /** V, including the special tokens */
  vocabSize: z.number().int().positive(),
  /** T max: <bos> prompt <sep> answer <eos> */
  maxTextLen: z.number().int().positive(),
  /**
   * A global image summary s = mean of the P visual tokens, fed to every text position beside the attention path:
   * `add` adds s to each text input; `film` also scales it, e ⊙ (1 + s·W_film) + s (FiLM, Perez et al. 2018). Adding
   * gives each word a direct route to what the image holds, so a tiny decoder starts grounding in hundreds of steps
   * instead of settling on the language prior; the FiLM product lets a word test itself against the image ("Is there
   * a star?" is a dot product of the word with s), which additive inputs can only reach through slow-to-learn
   * attention. Where objects are and which attribute binds to which object still come from attention.
   */
  imageSummary: z.enum(['none', 'add', 'film']).default('none'),
  /**
   * Adds a second patch embedding of each patch's pixels normalised to zero mean and unit variance over the patch.
   * A patch holding a shape is the shape's mask times its color: raw pixels are dominated by the color, so a
   * from-scratch ViT learns colors long before shapes (the small differences between, say, a circle and a hexagon).
   * The normalised copy makes the mask pattern as loud as the color, while the raw embedding keeps the color.
   */
  patchNorm: z.boolean().default(false),
});
export type VlmConfig = z.infer<typeof VlmConfig>;

/** P, the visual tokens the decoder sees per image. */
export function numPatches(cfg: VlmConfig): number {
  const g = cfg.imageSize / cfg.patchSize / cfg.mergeSize;
  return g * g;
}

/** E, the patches the vision encoder sees per image. */
export function encoderPatches(cfg: VlmConfig): number {
  const g = cfg.imageSize / cfg.patchSize;
  return g * g;
}

export function checkConfig(cfg: z.input<typeof VlmConfig>): VlmConfig {
  const parsed = VlmConfig.parse(cfg);
  if (parsed.imageSize % parsed.patchSize !== 0) throw new Error('imageSize must be a multiple of patchSize');
  if (parsed.dModel % parsed.nHeads !== 0) throw new Error('dModel must be a multiple of nHeads');
  if ((parsed.imageSize / parsed.patchSize) % parsed.mergeSize !== 0) {
    throw new Error('mergeSize must divide imageSize / patchSize');
  }
  return parsed;
}

// ---------------------------------------------------------------------------------------------------------------
// weights: one record; init, checkpoints, parameter count and the optimizer all walk it through `namedWeights`

export interface LayerNormWeights {
  g: tf.Variable; // [C]
  b: tf.Variable; // [C]
}

export interface BlockWeights {
  ln1: LayerNormWeights;
  wq: tf.Variable; // [C, C]   heads contiguous: columns h·D … (h+1)·D − 1
  bq: tf.Variable; // [C]
  wk: tf.Variable; // [C, C]
  bk: tf.Variable; // [C]
  wv: tf.Variable; // [C, C]
  bv: tf.Variable; // [C]
  proj: tf.Variable; // [C, C]
  projB: tf.Variable; // [C]
  ln2: LayerNormWeights;
  fc: tf.Variable; // [C, F]
  fcB: tf.Variable; // [F]
  out: tf.Variable; // [F, C]
  outB: tf.Variable; // [C]
}

export interface VlmWeights {
  vision: {
    patch: tf.Variable; // [K, C]
    /** present when `patchNorm` is set */
    patchNormed?: tf.Variable; // [K, C]
    patchB: tf.Variable; // [C]
    pos: tf.Variable; // [E, C]
    blocks: BlockWeights[]; // encLayers
    ln: LayerNormWeights;
  };
  projector: {
    w1: tf.Variable; // [M²·C, C]
    b1: tf.Variable; // [C]
    w2: tf.Variable; // [C, C]
    b2: tf.Variable; // [C]
  };
  noImage: tf.Variable; // [C]
  text: {
    embed: tf.Variable; // [V, C]
    pos: tf.Variable; // [P + T max, C]
    blocks: BlockWeights[]; // decLayers
    ln: LayerNormWeights;
    head: tf.Variable; // [C, V]
    /** present when `imageSummary` is `film` */
    film?: tf.Variable; // [C, C]
  };
}

type WeightTree = tf.Variable | WeightTree[] | { [k: string]: WeightTree };

/** Dotted names in a fixed order ("text.blocks.0.wq"), the names used in safetensors files. */
export function namedWeights(w: VlmWeights): [string, tf.Variable][] {
  const out: [string, tf.Variable][] = [];
  const walk = (node: WeightTree, prefix: string) => {
    if (node instanceof tf.Variable) out.push([prefix, node]);
    else if (Array.isArray(node)) {
      for (const [i, n] of node.entries()) walk(n, `${prefix}.${i}`);
    } else for (const [k, v] of Object.entries(node)) walk(v, prefix ? `${prefix}.${k}` : k);
  };
  walk(w as unknown as WeightTree, '');
  return out;
}

export function parameterCount(w: VlmWeights): number {
  return namedWeights(w).reduce((n, [, v]) => n + v.size, 0);
}

/**
 * GPT-2-style init: N(0, 0.02) matrices and embeddings, residual output projections scaled by 1/√(2·layers),
 * LayerNorm gain 1, biases 0. Values come from our seeded Rng, so the same seed gives the same model on any backend.
 */
export function initWeights(cfg: VlmConfig, seed: number, trainable = true): VlmWeights {
  const rng = new Rng(seed);
  const C = cfg.dModel;
  const F = cfg.mlpRatio * C;
  const P = numPatches(cfg);
  const E = encoderPatches(cfg);
  const M2 = cfg.mergeSize * cfg.mergeSize;
  const K = cfg.patchSize * cfg.patchSize * 3;
  const V = cfg.vocabSize;
  const v = (shape: number[], fill: 'normal' | 'zeros' | 'ones', std = 0.02) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (fill === 'ones') data.fill(1);
    else if (fill === 'normal') for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    return tf.variable(tf.tensor(data, shape, 'float32'), trainable);
  };
  const ln = (): LayerNormWeights => ({ g: v([C], 'ones'), b: v([C], 'zeros') });
  const block = (layers: number): BlockWeights => ({
    ln1: ln(),
    wq: v([C, C], 'normal'),
    bq: v([C], 'zeros'),
    wk: v([C, C], 'normal'),
    bk: v([C], 'zeros'),
    wv: v([C, C], 'normal'),
    bv: v([C], 'zeros'),
    proj: v([C, C], 'normal', 0.02 / Math.sqrt(2 * layers)),
    projB: v([C], 'zeros'),
    ln2: ln(),
    fc: v([C, F], 'normal'),
    fcB: v([F], 'zeros'),
    out: v([F, C], 'normal', 0.02 / Math.sqrt(2 * layers)),
    outB: v([C], 'zeros'),
  });
  const w: VlmWeights = {
    vision: {
      patch: v([K, C], 'normal'),
      patchB: v([C], 'zeros'),
      pos: v([E, C], 'normal'),
      blocks: Array.from({ length: cfg.encLayers }, () => block(cfg.encLayers)),
      ln: ln(),
    },
    projector: { w1: v([M2 * C, C], 'normal'), b1: v([C], 'zeros'), w2: v([C, C], 'normal'), b2: v([C], 'zeros') },
    noImage: v([C], 'normal'),
    text: {
      embed: v([V, C], 'normal'),
      pos: v([P + cfg.maxTextLen, C], 'normal'),
      blocks: Array.from({ length: cfg.decLayers }, () => block(cfg.decLayers)),
      ln: ln(),
      head: v([C, V], 'normal'),
    },
  };
  // drawn last, so the other weights of a seed do not depend on the option
  if (cfg.patchNorm) w.vision.patchNormed = v([K, C], 'normal');
  if (cfg.imageSummary === 'film') w.text.film = v([C, C], 'zeros'); // starts as plain `add`
  return w;
}

export function disposeWeights(w: VlmWeights): void {
  for (const [, t] of namedWeights(w)) t.dispose();
}

// ---------------------------------------------------------------------------------------------------------------
// transformer block

/** Per-layer attention keys (pre-transposed) and values, for KV-cache decoding. */
export interface LayerCache {
  kT: tf.Tensor; // [B·H, D, S]
  v: tf.Tensor; // [B·H, S, D]
}

/**
 * Multi-head self-attention over x [N = B·S, C]. `mask` [S, S] is added to the scores (−1e9 where attention is not
 * allowed) or null for full attention. When `past` is given, x holds only the new positions and attends to the
 * cached ones too (decoding). Returns the output [N, C] and this layer's keys/values for the cache.
 */
function attention(
  x: tf.Tensor,
  blk: BlockWeights,
  B: number,
  S: number,
  H: number,
  mask: tf.Tensor | null,
  past?: LayerCache,
): { y: tf.Tensor; cache: LayerCache } {
  const C = x.shape[1] as number;
  const D = C / H;
  // three matmuls instead of one [C, 3C] + split: wasm's SplitV (and its concat gradient) costs more than they do
  const q = linear(x, blk.wq, blk.bq); // [N, C]
  const k = linear(x, blk.wk, blk.bk); // [N, C]
  const v = linear(x, blk.wv, blk.bv); // [N, C]
  const qh = tf
    .transpose(tf.reshape(tf.mul(q, 1 / Math.sqrt(D)), [B, S, H, D]), [0, 2, 1, 3]) // [B, H, S, D]
    .reshape([B * H, S, D]); // [B·H, S, D]
  let kT = tf.transpose(tf.reshape(k, [B, S, H, D]), [0, 2, 3, 1]).reshape([B * H, D, S]); // [B·H, D, S]
  let vh = tf.transpose(tf.reshape(v, [B, S, H, D]), [0, 2, 1, 3]).reshape([B * H, S, D]); // [B·H, S, D]
  if (past) {
    kT = tf.concat([past.kT, kT], 2); // [B·H, D, S_past + S]
    vh = tf.concat([past.v, vh], 1); // [B·H, S_past + S, D]
  }
  let scores = mm(qh, kT); // [B·H, S, S_all]
  if (mask) scores = tf.add(scores, mask);
  const att = tf.softmax(scores, -1);
  const y = tf
    .transpose(tf.reshape(mm(att, vh), [B, H, S, D]), [0, 2, 1, 3]) // [B, S, H, D]
    .reshape([B * S, C]); // [N, C]
  return { y: linear(y, blk.proj, blk.projB), cache: { kT, v: vh } };
}

/** Pre-LN transformer block: x + attn(ln1 x), then + mlp(ln2 x). x [N, C] */
function block(
  x: tf.Tensor,
  blk: BlockWeights,
  B: number,
  S: number,
  H: number,
  mask: tf.Tensor | null,
  past?: LayerCache,
): { x: tf.Tensor; cache: LayerCache } {
  const a = attention(layerNorm(x, blk.ln1), blk, B, S, H, mask, past);
  const h = tf.add(x, a.y);
  // ReLU here (the residual path keeps a dead unit harmless) is ~10% faster per step than GELU on wasm
  const m = linear(tf.relu(linear(layerNorm(h, blk.ln2), blk.fc, blk.fcB)), blk.out, blk.outB); // [N, C]
  return { x: tf.add(h, m), cache: a.cache };
}

// ---------------------------------------------------------------------------------------------------------------
// vision encoder + projector

/** images [B, I, I, 3] in [-1, 1] → patch pixels [B·P, K], row-major over the G×G grid. */
export function patchify(images: tf.Tensor, patch: number): tf.Tensor {
  const [B, I] = images.shape as [number, number];
  const G = I / patch;
  return tf
    .transpose(tf.reshape(images, [B, G, patch, G, patch, 3]), [0, 1, 3, 2, 4, 5]) // [B, G, G, p, p, 3]
    .reshape([B * G * G, patch * patch * 3]); // [B·P, K]
}

/**
 * ViT over patches, M×M merge, then the projector: images [B, I, I, 3] → visual tokens [B·P, C] in the decoder's
 * space.
 */
export function encodeImages(w: VlmWeights, cfg: VlmConfig, images: tf.Tensor): tf.Tensor {
  const B = images.shape[0] as number;
  const E = encoderPatches(cfg);
  const P = numPatches(cfg);
  const C = cfg.dModel;
  const M = cfg.mergeSize;
  const g = cfg.imageSize / cfg.patchSize / M; // merged tokens per side
  const pixels = patchify(images, cfg.patchSize); // [B·E, K]
  let e = linear(pixels, w.vision.patch, w.vision.patchB); // [B·E, C]
  if (w.vision.patchNormed) {
    const { mean, variance } = tf.moments(pixels, 1, true); // [B·E, 1] each
    const normed = tf.div(tf.sub(pixels, mean), tf.sqrt(tf.add(variance, 1e-3))); // [B·E, K]
    e = tf.add(e, mm(normed, w.vision.patchNormed)); // [B·E, C]
  }
  let x = tf.reshape(tf.add(tf.reshape(e, [B, E, C]), w.vision.pos), [B * E, C]); // [B·E, C]
  for (const blk of w.vision.blocks) x = block(x, blk, B, E, cfg.nHeads, null).x;
  x = layerNorm(x, w.vision.ln); // [B·E, C]
  if (M > 1) {
    x = tf
      .transpose(tf.reshape(x, [B, g, M, g, M, C]), [0, 1, 3, 2, 4, 5]) // [B, g, g, M, M, C]
      .reshape([B * P, M * M * C]); // [B·P, M²·C]
  }
  const p = w.projector;
  return linear(gelu(linear(x, p.w1, p.b1)), p.w2, p.b2); // [B·P, C]
}

/** The P visual tokens per row: encoded images, or the learned `noImage` vector when images is null. [B, P, C] */
export function visualTokens(w: VlmWeights, cfg: VlmConfig, images: tf.Tensor | null, B: number): tf.Tensor {
  const P = numPatches(cfg);
  const C = cfg.dModel;
  if (images === null) return tf.broadcastTo(tf.reshape(w.noImage, [1, 1, C]), [B, P, C]); // [B, P, C]
  return tf.reshape(encodeImages(w, cfg, images), [B, P, C]); // [B, P, C]
}

// ---------------------------------------------------------------------------------------------------------------
// decoder

/** Token embeddings through oneHot · E (wasm has no gather gradient). ids [B, T] int32 → [B, T, C] */
function embedTokens(w: VlmWeights, ids: tf.Tensor): tf.Tensor {
  const [B, T] = ids.shape as [number, number];
  const V = w.text.embed.shape[0] as number;
  const oh = oneHotF(tf.reshape(ids, [B * T]), V); // [B·T, V]
  return tf.reshape(mm(oh, w.text.embed), [B, T, w.text.embed.shape[1] as number]); // [B, T, C]
}

const maskCache = new Map<string, tf.Tensor>();

/** Prefix-LM additive mask [S, S]: 0 where row i may attend to column j (j ≤ i, or both in the image block), else −1e9. */
export function prefixMask(P: number, S: number): tf.Tensor {
  const key = `${P}:${S}`;
  let m = maskCache.get(key);
  if (!m) {
    const data = new Float32Array(S * S);
    for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) data[i * S + j] = j <= i || (i < P && j < P) ? 0 : -1e9;
    m = tf.keep(tf.tensor2d(data, [S, S]));
    maskCache.set(key, m);
  }
  return m;
}

/** Text inputs e [..., C] conditioned on the image summary s (broadcastable to e): e + s, or e ⊙ (1 + s·W_film) + s. */
function condition(w: VlmWeights, e: tf.Tensor, s: tf.Tensor): tf.Tensor {
  const film = w.text.film;
  if (!film) return tf.add(e, s);
  const C = film.shape[0] as number;
  const gain = tf.reshape(mm(tf.reshape(s, [-1, C]), film), s.shape); // like s
  return tf.add(tf.mul(e, tf.add(gain, 1)), s);
}

/**
 * Decoder over [visual tokens; text tokens]: visual [B, P, C], ids [B, T] → final hidden states of the text
 * positions [B, T, C], plus every layer's KV cache when asked.
 */
export function decode(
  w: VlmWeights,
  cfg: VlmConfig,
  visual: tf.Tensor,
  ids: tf.Tensor,
  withCache = false,
): { hidden: tf.Tensor; caches: LayerCache[]; summary: tf.Tensor | null } {
  const [B, T] = ids.shape as [number, number];
  const P = numPatches(cfg);
  const S = P + T;
  const C = cfg.dModel;
  if (T > cfg.maxTextLen) throw new Error(`text of ${T} tokens exceeds maxTextLen ${cfg.maxTextLen}`);
  const pos = tf.slice(w.text.pos, [0, 0], [S, C]); // [S, C]
  let text = embedTokens(w, ids); // [B, T, C]
  const summary = cfg.imageSummary === 'none' ? null : tf.mean(visual, 1); // [B, C]
  if (summary) text = tf.reshape(condition(w, tf.reshape(text, [B, T, C]), tf.reshape(summary, [B, 1, C])), [B, T, C]);
  let x = tf.reshape(tf.add(tf.concat([visual, text], 1), pos), [B * S, C]); // [B·S, C]
  const mask = prefixMask(P, S);
  const caches: LayerCache[] = [];
  for (const blk of w.text.blocks) {
    const r = block(x, blk, B, S, cfg.nHeads, mask);
    x = r.x;
    if (withCache) caches.push(r.cache);
  }
  const h = layerNorm(x, w.text.ln); // [B·S, C]
  const hidden = tf.slice(tf.reshape(h, [B, S, C]), [0, P, 0], [B, T, C]); // [B, T, C]
  return { hidden, caches, summary };
}

/**
 * Teacher-forced token log-probs, with gradients: out[b, t] = log π(ids[b, t+1] | image_b, ids[b, ≤t]).
 * images [B, I, I, 3] (the given image, or I_neg for "replace") or null for "no image"; ids [B, T] → [B, T−1].
 * Mask the result with the answer mask of the batch (see `encodeBatch`) before summing.
 */
export function tokenLogprobs(w: VlmWeights, cfg: VlmConfig, images: tf.Tensor | null, ids: tf.Tensor): tf.Tensor {
  return tokenLogprobsFromVisual(w, cfg, visualTokens(w, cfg, images, ids.shape[0] as number), ids);
}

/** `tokenLogprobs` over precomputed visual tokens [B, P, C] (e.g. a per-row mix of images and `noImage`). */
export function tokenLogprobsFromVisual(w: VlmWeights, cfg: VlmConfig, visual: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const [B, T] = ids.shape as [number, number];
  const C = cfg.dModel;
  const { hidden } = decode(w, cfg, visual, ids);
  const h = tf.reshape(tf.slice(hidden, [0, 0, 0], [B, T - 1, C]), [B * (T - 1), C]); // [B·(T−1), C]
  const logits = mm(h, w.text.head); // [B·(T−1), V]
  const targets = tf.reshape(tf.slice(ids, [0, 1], [B, T - 1]), [B * (T - 1)]); // [B·(T−1)]
  return tf.reshape(pickLogprobs(logits, targets), [B, T - 1]); // [B, T−1]
}

// ---------------------------------------------------------------------------------------------------------------
// KV-cache decoding (used by generate.ts)

export interface DecodeState {
  caches: LayerCache[];
  /** positions already in the cache (P + text so far) */
  length: number;
  /** logits for the next token [B, V] */
  logits: tf.Tensor;
  /** the image summary s [B, C] that conditions every text input, unless `imageSummary` is `none` */
  summary: tf.Tensor | null;
}

/** Runs the prefix [visual; ids] once and keeps every layer's K/V. ids [B, T] */
export function prefill(w: VlmWeights, cfg: VlmConfig, images: tf.Tensor | null, ids: tf.Tensor): DecodeState {
  const [B, T] = ids.shape as [number, number];
  const C = cfg.dModel;
  const { hidden, caches, summary } = decode(w, cfg, visualTokens(w, cfg, images, B), ids, true);
  const last = tf.reshape(tf.slice(hidden, [0, T - 1, 0], [B, 1, C]), [B, C]); // [B, C]
  return { caches, length: numPatches(cfg) + T, logits: mm(last, w.text.head), summary };
}

/** Appends one token per row (ids [B] int32) at position `state.length`; returns the new state. */
export function step(w: VlmWeights, cfg: VlmConfig, state: DecodeState, ids: tf.Tensor): DecodeState {
  const B = ids.shape[0] as number;
  const C = cfg.dModel;
  if (state.length >= numPatches(cfg) + cfg.maxTextLen) throw new Error('decoding past maxTextLen');
  const pos = tf.slice(w.text.pos, [state.length, 0], [1, C]); // [1, C]
  let e = tf.reshape(embedTokens(w, tf.reshape(ids, [B, 1])), [B, C]); // [B, C]
  if (state.summary) e = condition(w, e, state.summary); // [B, C]
  let x = tf.add(e, pos); // [B, C]
  const caches: LayerCache[] = [];
  w.text.blocks.forEach((blk, l) => {
    const r = block(x, blk, B, 1, cfg.nHeads, null, state.caches[l]);
    x = r.x;
    caches.push(r.cache);
  });
  return {
    caches,
    length: state.length + 1,
    logits: mm(layerNorm(x, w.text.ln), w.text.head),
    summary: state.summary ? tf.clone(state.summary) : null, // its own handle: the caller disposes the old state
  };
}
