import { encodeItem } from './batch.ts';
import type { Vlm } from './checkpoint.ts';
import { imagesToFloat } from './image.ts';
import { hashString, Rng } from './rng.ts';
import { tf } from './tf.ts';
import { EOS, joinToken } from './tokenizer.ts';
import { type DecodeState, prefill, step } from './vlm.ts';

/**
 * Greedy and sampled decoding with a KV cache. Requests with the same prompt length and image presence run as
 * one batch (rows = requests × n); the prefix [image; <bos> prompt <sep>] is computed once, then one position per
 * step. Sampling uses a per-row Rng seeded from (seed, request key, sample index), so results do not depend on
 * batching. Reported log-probs are the model's own log π(y_t | …) at temperature 1, the quantity DPO-family
 * scoring uses, whatever temperature/top-p shaped the sampling.
 */
export interface GenerateRequest {
  /** RGB bytes [I, I, 3], or null for no image */
  image: Uint8Array | null;
  prompt: string;
  /**
   * The start of the answer, already written (prefill): decoding continues after it, and the returned text, tokens
   * and log-probs are the continuation's only.
   */
  answerPrefix?: string;
  /** seeds this request's samples (defaults to the prompt) */
  key?: string;
}

export interface SampleOptions {
  n?: number;
  /** 0 = greedy; default 1 */
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  seed?: number;
  stop?: readonly string[];
  /** rows per decoding batch (memory/speed trade-off) */
  batchRows?: number;
}

export interface GeneratedText {
  text: string;
  /** token ids of the text (without <eos>) */
  ids: number[];
  tokens: string[];
  logprobs: number[];
  finishReason: 'stop' | 'length';
}

interface Row {
  req: number;
  rng: Rng;
  ids: number[];
  tokens: string[];
  logprobs: number[];
  text: string;
  done: boolean;
  finish: 'stop' | 'length';
}

export function generateText(
  m: Vlm,
  requests: readonly GenerateRequest[],
  opts: SampleOptions = {},
): GeneratedText[][] {
  const n = opts.n ?? 1;
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const encoded = requests.map((r) => {
    const ids = encodeItem(m.tokenizer, { prompt: r.prompt }, m.config.maxTextLen).ids;
    return r.answerPrefix ? [...ids, ...m.tokenizer.encode(r.answerPrefix)].slice(0, m.config.maxTextLen - 1) : ids;
  });
  const groups = new Map<string, number[]>();
  encoded.forEach((ids, i) => {
    const key = `${ids.length}:${requests[i]?.image ? 1 : 0}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const out: GeneratedText[][] = requests.map(() => []);
  const perBatch = Math.max(1, Math.floor((opts.batchRows ?? 64) / n));
  for (const members of groups.values()) {
    for (let s = 0; s < members.length; s += perBatch) {
      const chunk = members.slice(s, s + perBatch);
      const rows = runBatch(m, requests, encoded, chunk, n, seed, opts);
      for (const r of rows) {
        out[r.req]?.push({ text: r.text, ids: r.ids, tokens: r.tokens, logprobs: r.logprobs, finishReason: r.finish });
      }
    }
  }
  return out;
}

function runBatch(
  m: Vlm,
  requests: readonly GenerateRequest[],
  encoded: number[][],
  chunk: number[],
  n: number,
  seed: number,
  opts: SampleOptions,
): Row[] {
  const { config: cfg, weights: w, tokenizer: tok } = m;
  const rows: Row[] = [];
  for (const req of chunk) {
    for (let j = 0; j < n; j++) {
      const key = requests[req]?.key ?? requests[req]?.prompt ?? '';
      rows.push({
        req,
        rng: new Rng(hashString(`${seed}:${j}:${key}`)),
        ids: [],
        tokens: [],
        logprobs: [],
        text: '',
        done: false,
        finish: 'length',
      });
    }
  }
  const R = rows.length;
  const promptLen = encoded[chunk[0] as number]?.length ?? 0;
  const room = cfg.maxTextLen - promptLen;
  const maxTokens = Math.min(opts.maxTokens ?? room, room);
  const temperature = opts.temperature ?? 1;
  const topP = opts.topP ?? 1;
  const stop = opts.stop ?? [];
  const V = cfg.vocabSize;
  const I = cfg.imageSize;

  const hasImage = requests[chunk[0] as number]?.image != null;
  let state: DecodeState = tidyState(() => {
    const ids = tf.tensor2d(
      rows.flatMap((r) => encoded[r.req] as number[]),
      [R, promptLen],
      'int32',
    ); // [R, T]
    const images = hasImage
      ? tf.tensor4d(
          imagesToFloat(
            rows.map((r) => requests[r.req]?.image as Uint8Array),
            I,
          ),
          [R, I, I, 3],
        )
      : null;
    return prefill(w, cfg, images, ids);
  });
  try {
    for (let t = 0; t < maxTokens; t++) {
      const logits = state.logits.dataSync() as Float32Array; // [R, V]
      const next = new Int32Array(R).fill(EOS);
      rows.forEach((row, r) => {
        if (row.done) return;
        const lp = logSoftmax(logits.subarray(r * V, (r + 1) * V));
        // <pad>/<unk>/<bos>/<sep> are never outputs: excluded from the choice (their mass stays in the reported log-probs)
        const allowed = Float64Array.from(lp, (x, i) => (i < EOS ? Number.NEGATIVE_INFINITY : x));
        const id = temperature === 0 ? argmax(allowed) : sampleToken(allowed, temperature, topP, row.rng);
        next[r] = id;
        if (id === EOS) {
          row.done = true;
          row.finish = 'stop';
          return;
        }
        const token = tok.token(id);
        const text = joinToken(row.text, token);
        const hit = stop.map((s) => (s ? text.indexOf(s) : -1)).filter((i) => i >= 0);
        if (hit.length) {
          row.text = text.slice(0, Math.min(...hit)).trimEnd();
          row.done = true;
          row.finish = 'stop';
          return;
        }
        row.ids.push(id);
        row.tokens.push(token);
        row.logprobs.push(lp[id] as number);
        row.text = text;
      });
      if (rows.every((r) => r.done) || t === maxTokens - 1) break;
      const prev = state;
      state = tidyState(() => step(w, cfg, prev, tf.tensor1d(next, 'int32')));
      disposeState(prev);
    }
  } finally {
    disposeState(state);
  }
  return rows;
}

/** tf.tidy for a DecodeState: frees intermediates, keeps the logits and caches. */
function tidyState(fn: () => DecodeState): DecodeState {
  let out: DecodeState | undefined;
  tf.tidy(() => {
    out = fn();
    return [out.logits, ...out.caches.flatMap((c) => [c.kT, c.v]), ...(out.summary ? [out.summary] : [])];
  });
  return out as DecodeState;
}

function disposeState(s: DecodeState): void {
  s.logits.dispose();
  s.summary?.dispose();
  for (const c of s.caches) {
    c.kT.dispose();
    c.v.dispose();
  }
}

export function logSoftmax(logits: Float32Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const x of logits) if (x > max) max = x;
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(logits, (x) => x - lse);
}

function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if ((xs[i] as number) > (xs[best] as number)) best = i;
  return best;
}

/** Samples from softmax(logp / temperature), restricted to the smallest top set of mass ≥ topP (nucleus). */
export function sampleToken(logp: Float64Array, temperature: number, topP: number, rng: Rng): number {
  const scaled = Array.from(logp, (x) => x / temperature);
  const max = Math.max(...scaled);
  const probs = scaled.map((x) => Math.exp(x - max));
  const order = probs.map((_, i) => i).sort((a, b) => (probs[b] as number) - (probs[a] as number));
  const total = probs.reduce((a, b) => a + b, 0);
  const kept: number[] = [];
  let mass = 0;
  for (const i of order) {
    kept.push(i);
    mass += (probs[i] as number) / total;
    if (mass >= topP) break;
  }
  const keptMass = kept.reduce((a, i) => a + (probs[i] as number), 0);
  let u = rng.next() * keptMass;
  for (const i of kept) {
    u -= probs[i] as number;
    if (u <= 0) return i;
  }
  return kept[kept.length - 1] as number;
}
