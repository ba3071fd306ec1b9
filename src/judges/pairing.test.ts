import { describe, expect, it } from 'vitest';
import { Preference, type Sample } from '../schema/index.ts';
import { dedupResponses, pairResponses, preferenceStats, type ScoredResponse } from './pairing.ts';

const sample: Sample = {
  id: 's1',
  messages: [
    {
      role: 'user',
      content: [
        { type: 'image', media: 0 },
        { type: 'text', text: 'Describe the image.' },
      ],
    },
  ],
  media: [{ kind: 'image', path: 'media/ab/x.png' }],
  provenance: { source: 'test', createdAt: '2026-01-01T00:00:00.000Z' },
};
const opts = {
  annotator: { kind: 'rule' as const, id: 'truth' },
  provenance: { source: 'test', createdAt: '2026-01-01T00:00:00.000Z', strategy: 'sample' },
};
const r = (id: string, text: string, score: number): ScoredResponse => ({ id, text, score });

describe('pairResponses', () => {
  const rs = [
    r('a', 'a red circle', 1),
    r('b', 'a red circle and a blue star', 0.5),
    r('c', 'a blue star', 0),
    r('d', 'A red  circle', 1),
  ];

  it('dedups identical texts (case and spacing) before pairing', () => {
    expect(dedupResponses(rs).map((x) => x.id)).toEqual(['a', 'b', 'c']);
  });

  it('best_worst gives one valid pair with rewards and margin', () => {
    const out = pairResponses(sample, rs, { ...opts, mode: 'best_worst' });
    expect(out).toHaveLength(1);
    const p = Preference.parse(out[0]);
    if (p.kind !== 'pair') throw new Error('expected a pair');
    expect([p.chosen.responseId, p.rejected.responseId, p.margin]).toEqual(['a', 'c', 1]);
  });

  it('all_pairs skips ties, margin filters small differences, length matching drops mismatched lengths', () => {
    const tied = [r('a', 'one two', 1), r('b', 'three four', 1), r('c', 'five six', 0)];
    expect(pairResponses(sample, tied, { ...opts, mode: 'all_pairs' })).toHaveLength(2);
    expect(pairResponses(sample, rs, { ...opts, mode: 'margin', margin: 0.75 })).toHaveLength(1);
    // 'a red circle' (3 words) vs 'a red circle and a blue star' (7 words): ratio 2.33 > 1.5
    const lm = pairResponses(sample, rs, { ...opts, mode: 'all_pairs', lengthMatch: { maxRatio: 1.5 } });
    expect(lm.map((p) => (p.kind === 'pair' ? `${p.chosen.responseId}>${p.rejected.responseId}` : ''))).toEqual([
      'a>c',
    ]);
  });

  it('keeps the whole ranking with ties when asked', () => {
    const tied = [r('a', 'x', 1), r('b', 'y', 1), r('c', 'z', 0)];
    const out = pairResponses(sample, tied, { ...opts, mode: 'best_worst', keepRankings: true });
    const ranking = out.find((p) => p.kind === 'ranking');
    expect(ranking && ranking.kind === 'ranking' ? ranking.ranks : null).toEqual([1, 1, 2]);
  });
});

describe('preferenceStats', () => {
  it('counts kinds, pairs per prompt, length ratio and annotator mix', () => {
    const out = pairResponses(sample, [r('a', 'one two', 2), r('b', 'one two three four', 1), r('c', 'x', 0)], {
      ...opts,
      mode: 'all_pairs',
    });
    const s = preferenceStats(out, 2);
    expect(s.byKind).toEqual({ pair: 3 });
    expect(s.pairsPerPrompt).toEqual({ mean: 3, max: 3 });
    // ratios: a>b 2/4, a>c 2/1, b>c 4/1 → mean (0.5 + 2 + 4)/3
    expect(s.lengthRatio).toBeCloseTo(6.5 / 3, 12);
    expect(s.marginHistogram.counts).toEqual([2, 1]);
    expect(s.annotatorKinds).toEqual({ rule: 3 });
  });
});
