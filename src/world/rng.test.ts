import { describe, expect, it } from 'vitest';
import { hash32, sfc32, streamRng } from './rng.ts';

describe('rng', () => {
  it('FNV-1a matches the reference vectors', () => {
    // FNV-1a 32-bit test vectors (Fowler/Noll/Vo): "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
    expect(hash32('')).toBe(0x811c9dc5);
    expect(hash32('a')).toBe(0xe40c292c);
    expect(hash32('foobar')).toBe(0xbf9cf968);
  });

  it('replays the same sequence for the same seed and differs otherwise', () => {
    const a = Array.from({ length: 5 }, sfc32(42).next);
    const seqA = sfc32(42);
    expect(Array.from({ length: 5 }, () => seqA.next())).toEqual(a);
    const seqB = sfc32(43);
    expect(Array.from({ length: 5 }, () => seqB.next())).not.toEqual(a);
    const first = (s: number, l: string, i: number) => streamRng(s, l, i).next();
    const keys = new Set<number>();
    for (let seed = 0; seed < 20; seed++)
      for (const label of ['scene/train', 'scene/test']) for (let i = 0; i < 200; i++) keys.add(first(seed, label, i));
    expect(keys.size).toBe(20 * 2 * 200);
  });

  it('draws integers in range, uniformly enough, and weighted picks by weight', () => {
    const r = sfc32(7);
    const hist = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) hist[r.int(0, 5)]++;
    for (const h of hist) expect(Math.abs(h - 10_000)).toBeLessThan(400); // ±4σ for a binomial(60k, 1/6)
    const w = new Array(3).fill(0);
    for (let i = 0; i < 40_000; i++) w[r.weighted([1, 0, 3])]++;
    expect(w[1]).toBe(0);
    expect(Math.abs(w[2] / 40_000 - 0.75)).toBeLessThan(0.01);
    const sh = r.shuffle([1, 2, 3, 4, 5]);
    expect([...sh].sort()).toEqual([1, 2, 3, 4, 5]);
  });
});
