import { describe, expect, it } from 'vitest';
import { validateRecord } from '../../../schema/index.ts';
import { Settings } from '../settings.ts';
import { applyCorrections, competitionRanks, type MakeBase, TASK_TYPES, type TaskData } from './index.ts';

const settings = Settings.parse({});
const task = (texts: string[]): TaskData => ({
  extId: 'x',
  sampleId: 's',
  source: 'test',
  prompt: [{ role: 'user', content: 'Describe.' }],
  media: [{ ref: { kind: 'image', path: 'a.png' }, key: 'ab/x.png' }],
  responses: texts.map((text, i) => ({ text, responseId: `r${i}` })),
});
const base: MakeBase = (suffix, extra = {}) => ({
  id: `id-${suffix}`,
  sampleId: 's',
  prompt: [{ role: 'user', content: 'Describe.' }],
  media: [{ kind: 'image', path: 'a.png' }],
  provenance: { source: 't', createdAt: '2026-01-01T00:00:00Z', annotator: { kind: 'human', id: 'ann' }, extra },
});
const valid = (records: unknown[]) => {
  for (const r of records) expect(validateRecord('preference', r)).toEqual([]);
};

describe('pairwise', () => {
  const t = TASK_TYPES.pairwise;
  it('maps display A/B through the annotator order and back', () => {
    expect(t.toCanonical({ choice: 'A' }, [1, 0], task(['x', 'y']), settings)).toEqual({ winner: 1 });
    expect(t.toCanonical({ choice: 'B' }, [1, 0], task(['x', 'y']), settings)).toEqual({ winner: 0 });
    expect(t.toCanonical({ choice: 'tie', reason: ' same ' }, [0, 1], task(['x', 'y']), settings)).toEqual({
      winner: 'tie',
      reason: 'same',
    });
    expect(t.toDisplay({ winner: 1 }, [1, 0])).toEqual({ choice: 'A', reason: undefined });
  });
  it('exports a pair, a tie as equal ranks, both-bad as two undesirable binaries', () => {
    const d = task(['good', 'bad']);
    const pair = t.toRecords(d, { winner: 0, reason: 'r' }, base, settings);
    expect(pair).toMatchObject([{ kind: 'pair', chosen: { text: 'good' }, rejected: { text: 'bad' } }]);
    const tie = t.toRecords(d, { winner: 'tie' }, base, settings);
    expect(tie).toMatchObject([{ kind: 'ranking', ranks: [1, 1], provenance: { extra: { verdict: 'tie' } } }]);
    const bb = t.toRecords(d, { winner: 'both_bad' }, base, settings);
    expect(bb.map((r) => r.kind === 'binary' && r.label)).toEqual([false, false]);
    valid([...pair, ...tie, ...bb]);
  });
  it('majority is the mode, undefined on a tied vote', () => {
    expect(t.majority([{ winner: 0 }, { winner: 1 }, { winner: 0 }])).toEqual({ winner: 0 });
    expect(t.majority([{ winner: 0 }, { winner: 1 }])).toBeUndefined();
  });
});

describe('ranking', () => {
  const t = TASK_TYPES.ranking;
  it('competition ranks: 1 + number strictly better', () => {
    expect(competitionRanks([1, 3, 3, 2])).toEqual([1, 3, 3, 2]);
    expect(competitionRanks([2, 2, 1])).toEqual([2, 2, 1]);
    expect(competitionRanks([1.5, 1.5, 3])).toEqual([1, 1, 3]);
    expect(competitionRanks([2, 3, 3])).toEqual([1, 2, 2]);
  });
  it('maps display ranks to canonical responses and validates them', () => {
    // Display shows canonical [2, 0, 1]; ranks per display position [1, 3, 2] → canonical 0 gets 3, 1 gets 2, 2 gets 1.
    expect(t.toCanonical({ ranks: [1, 3, 2] }, [2, 0, 1], task(['a', 'b', 'c']), settings)).toEqual({
      ranks: [3, 2, 1],
    });
    expect(() => t.toCanonical({ ranks: [1, 2] }, [0, 1, 2], task(['a', 'b', 'c']), settings)).toThrow(
      /expected 3 ranks/,
    );
    expect(() => t.toCanonical({ ranks: [1, 2, 4] }, [0, 1, 2], task(['a', 'b', 'c']), settings)).toThrow(/above 3/);
  });
  it('units are per response pair; majority re-ranks mean ranks with ties kept', () => {
    expect(t.units({ ranks: [1, 1, 3] }).map((u) => `${u.key}=${u.value}`)).toEqual(['0v1=tie', '0v2=0', '1v2=1']);
    expect(t.majority([{ ranks: [1, 2, 3] }, { ranks: [2, 1, 3] }])).toEqual({ ranks: [1, 1, 3] });
    valid(t.toRecords(task(['a', 'b', 'c']), { ranks: [1, 1, 3] }, base, settings));
  });
});

describe('rating', () => {
  const t = TASK_TYPES.rating;
  const full = (s: number) =>
    Object.fromEntries(settings.aspects.map((a) => [a, { score: s, rationale: ` why ${a} ` }]));
  it('checks aspects and the scale, keeps rationales, maps order', () => {
    const c = t.toCanonical({ scores: [full(5), full(2)] }, [1, 0], task(['a', 'b']), settings);
    expect(c.scores[0].helpfulness).toEqual({ score: 2, rationale: 'why helpfulness' });
    expect(c.scores[1].ethics.score).toBe(5);
    expect(() => t.toCanonical({ scores: [full(6), full(2)] }, [0, 1], task(['a', 'b']), settings)).toThrow(
      /outside the scale 1..5/,
    );
    expect(() =>
      t.toCanonical({ scores: [{ helpfulness: { score: 3 } }, full(2)] }, [0, 1], task(['a', 'b']), settings),
    ).toThrow(/is not scored/);
    valid(t.toRecords(task(['a', 'b']), c, base, settings));
  });
  it('majority is the mean per response and aspect', () => {
    const m = t.majority([{ scores: [{ helpfulness: { score: 4 } }] }, { scores: [{ helpfulness: { score: 1 } }] }]);
    expect(m?.scores[0].helpfulness.score).toBe(2.5);
  });
});

describe('segments', () => {
  const t = TASK_TYPES.segments;
  const text = 'A blue circle next to three red squares.';
  it('builds the corrected text (chosen) from the spans', () => {
    const c = t.toCanonical(
      {
        segments: [
          { start: 22, end: 27, tag: 'count', correction: 'one' },
          { start: 7, end: 13, tag: 'attribute', correction: 'square', box: [1, 2, 3, 4] },
        ],
      },
      [0],
      task([text]),
      settings,
    );
    expect(c.corrected).toBe('A blue square next to one red squares.');
    expect(c.segments.map((s) => s.text)).toEqual(['circle', 'three']);
    expect(c.segments[0]).toMatchObject({ box: [1, 2, 3, 4], media: 0 });
    const recs = t.toRecords(task([text]), c, base, settings);
    expect(recs).toMatchObject([{ kind: 'segments', chosen: { text: c.corrected }, rejected: { text } }]);
    valid(recs);
    expect(applyCorrections('abc', [{ start: 1, end: 2, text: 'b', correction: 'XY' }])).toBe('aXYc');
  });
  it('refuses spans outside the text, overlapping spans, and boxes on missing images', () => {
    const d = task([text]);
    expect(() =>
      t.toCanonical({ segments: [{ start: 30, end: 99, tag: 'other', correction: '' }] }, [0], d, settings),
    ).toThrow(/outside the response/);
    expect(() =>
      t.toCanonical(
        {
          segments: [
            { start: 0, end: 5, tag: 'other', correction: '' },
            { start: 4, end: 8, tag: 'other', correction: '' },
          ],
        },
        [0],
        d,
        settings,
      ),
    ).toThrow(/overlaps/);
    expect(() =>
      t.toCanonical(
        { segments: [{ start: 0, end: 5, tag: 'other', correction: '', box: [0, 0, 1, 1], media: 3 }] },
        [0],
        d,
        settings,
      ),
    ).toThrow(/image #3/);
  });
  it('no spans exports a desirable binary; majority only when every annotator marked the same spans', () => {
    expect(t.toRecords(task([text]), { segments: [], corrected: text }, base, settings)).toMatchObject([
      { kind: 'binary', label: true },
    ]);
    const a = {
      segments: [{ start: 7, end: 13, text: 'circle', correction: 'square', tag: 'attribute' as const }],
      corrected: 'x',
    };
    const b = {
      segments: [{ start: 7, end: 13, text: 'circle', correction: 'box', tag: 'attribute' as const }],
      corrected: 'y',
    };
    expect(t.majority([a, a])).toEqual(a);
    expect(t.majority([a, b])).toBeUndefined();
  });
});

describe('binary', () => {
  it('votes and exports', () => {
    const t = TASK_TYPES.binary;
    expect(t.majority([{ label: true }, { label: false }, { label: false }])).toEqual({ label: false });
    valid(t.toRecords(task(['a']), { label: true }, base, settings));
  });
});
