import { describe, expect, it } from 'vitest';
import { cohenKappa, fleissKappa, krippendorffAlpha, percentAgreement } from './agreement.ts';

const rep = (v: string, n: number) => new Array<string>(n).fill(v);

describe('cohenKappa', () => {
  it('matches the hand-worked 50-item example: p_o = 0.7, p_e = 0.5, κ = 0.4', () => {
    // a/b: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no. p_e = (25/50)(30/50) + (25/50)(20/50) = 0.3 + 0.2 = 0.5.
    const a = [...rep('y', 20), ...rep('y', 5), ...rep('n', 10), ...rep('n', 15)];
    const b = [...rep('y', 20), ...rep('n', 5), ...rep('y', 10), ...rep('n', 15)];
    expect(cohenKappa(a, b)).toBeCloseTo(0.4, 12);
  });
  it('is 1 for perfect agreement over two categories, negative for systematic disagreement, null when undefined', () => {
    expect(cohenKappa(['a', 'b', 'a'], ['a', 'b', 'a'])).toBe(1);
    // p_o = 0, p_e = 0.5 → κ = −1.
    expect(cohenKappa(['a', 'b'], ['b', 'a'])).toBe(-1);
    expect(cohenKappa(['a', 'a'], ['a', 'a'])).toBeNull();
    expect(cohenKappa([], [])).toBeNull();
  });
});

describe('fleissKappa', () => {
  it("matches Fleiss' worked example (10 subjects, 14 raters, 5 categories): P̄ = 0.378, P̄_e = 0.2128, κ = 0.2099", () => {
    const counts = [
      [0, 0, 0, 0, 14],
      [0, 2, 6, 4, 2],
      [0, 0, 3, 5, 6],
      [0, 3, 9, 2, 0],
      [2, 2, 8, 1, 1],
      [7, 7, 0, 0, 0],
      [3, 2, 6, 3, 0],
      [2, 5, 3, 2, 2],
      [6, 5, 2, 1, 0],
      [0, 2, 2, 3, 7],
    ];
    // P̄ = 0.37802..., P̄_e = 0.21275..., κ = (0.378022 − 0.212755) / (1 − 0.212755) = 0.209930.
    expect(fleissKappa(counts)).toBeCloseTo(0.20993, 5);
  });
  it('gives null when rater counts differ', () => {
    expect(
      fleissKappa([
        [2, 0],
        [1, 2],
      ]),
    ).toBeNull();
  });
  it('equals a hand-worked 2-rater case: items (2,0),(0,2),(1,1) → P̄ = 2/3, p = (1/2,1/2), κ = 1/3', () => {
    expect(
      fleissKappa([
        [2, 0],
        [0, 2],
        [1, 1],
      ]),
    ).toBeCloseTo(1 / 3, 12);
  });
});

describe('krippendorffAlpha', () => {
  // Krippendorff (2011) reliability data: 4 observers, 12 units, missing values; published α nominal 0.743, interval 0.849.
  const units: number[][] = [
    [1, 1, 1],
    [2, 2, 3, 2],
    [3, 3, 3, 3],
    [3, 3, 3, 3],
    [2, 2, 2, 2],
    [1, 2, 3, 4],
    [4, 4, 4, 4],
    [1, 1, 2, 1],
    [2, 2, 2, 2],
    [5, 5, 5],
    [1, 1],
    [3],
  ];
  it('reproduces the published nominal value 0.743', () => {
    expect(krippendorffAlpha(units, 'nominal')).toBeCloseTo(0.743, 3);
  });
  it('reproduces the published interval value 0.849', () => {
    expect(krippendorffAlpha(units, 'interval')).toBeCloseTo(0.849, 3);
  });
  it('hand-worked nominal case: units (a,a),(a,b),(b,b) → o_aa=2,o_ab=o_ba=1,o_bb=2, n=6, α = 1 − 5·2/18 = 4/9', () => {
    expect(
      krippendorffAlpha(
        [
          ['a', 'a'],
          ['a', 'b'],
          ['b', 'b'],
        ],
        'nominal',
      ),
    ).toBeCloseTo(4 / 9, 12);
  });
  it('is null when every value is the same (no expected disagreement)', () => {
    expect(
      krippendorffAlpha(
        [
          ['a', 'a'],
          ['a', 'a'],
        ],
        'nominal',
      ),
    ).toBeNull();
  });
});

describe('percentAgreement', () => {
  it('counts exact matches', () => {
    expect(percentAgreement(['a', 'b', 'c', 'd'], ['a', 'b', 'x', 'd'])).toBe(0.75);
  });
});
