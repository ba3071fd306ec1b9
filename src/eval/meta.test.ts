import { describe, expect, it } from 'vitest';
import { pairedEffect, randomEffects, seedMean, tCritical, tTwoSidedP } from './meta.ts';

// reference values: scipy 1.17.1 (stats.t.ppf / stats.t.sf) and a numpy transcription of DL + HKSJ (ad hoc floor)
describe("Student's t", () => {
  it('quantiles match scipy', () => {
    expect(tCritical(4)).toBeCloseTo(2.7764451051977934, 10);
    expect(tCritical(1)).toBeCloseTo(12.706204736174694, 9);
    expect(tCritical(10)).toBeCloseTo(2.228138851986274, 10);
  });
  it('two-sided p-values match scipy', () => {
    expect(tTwoSidedP(2, 10)).toBeCloseTo(0.07338803477074037, 12);
    expect(tTwoSidedP(-0.5, 3)).toBeCloseTo(0.651447964848151, 12);
    expect(tTwoSidedP(7.3, 2)).toBeCloseTo(0.018253039980788487, 12);
    expect(tTwoSidedP(0, 5)).toBe(1);
  });
});

describe('seedMean', () => {
  it('is the mean with a t interval over seeds', () => {
    const m = seedMean([0.2, 0.3, 0.25, 0.4])!;
    expect(m.mean).toBeCloseTo(0.2875, 12);
    expect(m.low).toBeCloseTo(0.1516234558101992, 10);
    expect(m.high).toBeCloseTo(0.42337654418980075, 10);
    expect(seedMean([0.5])).toEqual({ mean: 0.5, low: null, high: null, sd: null, k: 1 });
    expect(seedMean([])).toBeNull();
  });
});

describe('pairedEffect', () => {
  it('is the mean paired difference with variance s²/n', () => {
    const e = pairedEffect([1, 0, 1, 1, 0, 1], [1, 1, 1, 0, 1, 1])!;
    expect(e.effect).toBeCloseTo(1 / 6, 12);
    expect(e.variance).toBeCloseTo(0.09444444444444446, 12);
    expect(e.n).toBe(6);
    expect(() => pairedEffect([1], [1, 0])).toThrow(RangeError);
  });
});

describe('randomEffects (DerSimonian–Laird τ², Hartung–Knapp–Sidik–Jonkman test)', () => {
  it('matches a numpy transcription on heterogeneous seeds', () => {
    const y = [-0.08, -0.05, -0.11, -0.02, -0.07];
    const v = [0.0004, 0.0009, 0.0005, 0.0007, 0.0006];
    const r = randomEffects(y.map((effect, i) => ({ effect, variance: v[i]!, n: 250 })))!;
    expect(r.effect).toBeCloseTo(-0.06892711799793172, 12);
    expect(r.tau2).toBeCloseTo(0.0005050022232103155, 12);
    expect(r.q).toBeCloseTo(7.451078699483439, 10);
    expect(r.pValue).toBeCloseTo(0.009917847642903547, 10);
    expect(r.low).toBeCloseTo(-0.11039405273088738, 10);
    expect(r.k).toBe(5);
  });
  it('has τ² = 0 when seeds agree more than their sampling error says, and the floor keeps the interval honest', () => {
    const r = randomEffects([
      { effect: 0.1, variance: 0.01, n: 50 },
      { effect: 0.11, variance: 0.02, n: 50 },
      { effect: 0.09, variance: 0.015, n: 50 },
    ])!;
    expect(r.tau2).toBe(0);
    expect(r.effect).toBeCloseTo(0.09923076923076922, 12);
    expect(r.pValue).toBeCloseTo(0.28156834688520005, 10);
  });
  it('needs two seeds', () => {
    expect(randomEffects([{ effect: 0.1, variance: 0.01, n: 10 }])).toBeNull();
  });
});
