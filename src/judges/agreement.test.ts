import { describe, expect, it } from 'vitest';
import { accuracyAgainst, cohenKappa, cohenKappaOverlap, fleissKappa } from './agreement.ts';

describe('cohenKappa', () => {
  it('matches a hand-worked 2×2 table', () => {
    // 50 items: both yes 20, a-yes/b-no 5, a-no/b-yes 10, both no 15.
    // p_o = 35/50 = 0.7; p_e = (25/50)(30/50) + (25/50)(20/50) = 0.3 + 0.2 = 0.5; κ = 0.2/0.5 = 0.4.
    const a = [...Array(20).fill('y'), ...Array(5).fill('y'), ...Array(10).fill('n'), ...Array(15).fill('n')];
    const b = [...Array(20).fill('y'), ...Array(5).fill('n'), ...Array(10).fill('y'), ...Array(15).fill('n')];
    const r = cohenKappa(a, b);
    expect(r.observed).toBeCloseTo(0.7, 12);
    expect(r.expected).toBeCloseTo(0.5, 12);
    expect(r.kappa).toBeCloseTo(0.4, 12);
  });
  it('is 1 for identical raters, NaN when chance agreement is total, and uses only overlapping items', () => {
    expect(cohenKappa(['A', 'B', 'tie'], ['A', 'B', 'tie']).kappa).toBeCloseTo(1, 12);
    expect(cohenKappa(['A', 'A'], ['A', 'A']).kappa).toBeNaN();
    const a = new Map([
      ['1', 'A'],
      ['2', 'B'],
      ['3', 'A'],
    ]);
    const b = new Map([
      ['2', 'B'],
      ['3', 'B'],
      ['4', 'A'],
    ]);
    expect(cohenKappaOverlap(a, b).n).toBe(2);
  });
});

describe('fleissKappa', () => {
  it("matches Fleiss (1971)'s worked example as reproduced on Wikipedia (κ ≈ 0.210)", () => {
    // 10 subjects, 14 raters, 5 categories: counts per category per subject.
    const table = [
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
    const items = table.map((row) => row.flatMap((c, j) => Array(c).fill(String(j))));
    const r = fleissKappa(items);
    expect(r.observed).toBeCloseTo(0.378, 3);
    expect(r.expected).toBeCloseTo(0.213, 3);
    expect(r.kappa).toBeCloseTo(0.21, 2);
  });
});

describe('accuracyAgainst', () => {
  it('counts only items with a truth label', () => {
    const judge = new Map([
      ['a', 'yes'],
      ['b', 'no'],
      ['c', 'no'],
    ]);
    const truth = new Map([
      ['a', 'yes'],
      ['b', 'yes'],
    ]);
    expect(accuracyAgainst(judge, truth)).toEqual({ accuracy: 0.5, n: 2 });
  });
});
