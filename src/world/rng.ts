/**
 * The world's own PRNG, so a seed gives the same scenes on every Node version and machine: sfc32 (Chris Doty-Humphrey's
 * Small Fast Counter, 32-bit variant, as in PractRand) seeded through splitmix32. Every scene and every question draws
 * from its own stream keyed by (seed, label, index), so scene i is the same whether n is 10 or 10,000.
 */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Fisher–Yates on a copy. */
  shuffle<T>(items: readonly T[]): T[];
  /** Index drawn with probability proportional to `weights` (all ≥ 0, sum > 0). */
  weighted(weights: readonly number[]): number;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a over the UTF-16 code units of a label: stable stream keys without crypto. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function sfc32(seed: number): Rng {
  const sm = splitmix32(seed);
  let a = sm();
  let b = sm();
  let c = sm();
  let d = 1;
  const u32 = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) u32();
  const next = () => u32() / 4294967296;
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new RangeError('pick from an empty list');
      return items[Math.floor(next() * items.length)];
    },
    shuffle: (items) => {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
    weighted: (weights) => {
      const total = weights.reduce((s, w) => s + w, 0);
      if (!(total > 0)) throw new RangeError('weighted draw needs a positive total weight');
      let x = next() * total;
      for (let i = 0; i < weights.length; i++) {
        x -= weights[i];
        if (x < 0 && weights[i] > 0) return i;
      }
      for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
      return weights.length - 1;
    },
  };
}

/** murmur3's 32-bit finalizer: a bijection that spreads every input bit over the output. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** An independent stream for (seed, label, index): e.g. `streamRng(1, 'scene/train', 42)`. */
export function streamRng(seed: number, label: string, index = 0): Rng {
  return sfc32(fmix32(fmix32(fmix32(hash32(label)) ^ (seed >>> 0)) ^ (index >>> 0)));
}
