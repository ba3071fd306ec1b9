import { describe, expect, it } from 'vitest';
import { Preference } from '../schema/index.ts';
import { rankingPairs, toUnits } from './units.ts';

const prov = { source: 't', createdAt: '2026-11-01T00:00:00Z', annotator: { kind: 'human', id: 'a' } };
const prompt = [{ role: 'user', content: 'Q?' }];
const rec = (line: number, v: Record<string, unknown>) => ({
  line,
  value: Preference.parse({ sampleId: 's', prompt, provenance: prov, ...v }),
});

describe('rankings to pairs', () => {
  it('best-vs-rest pairs the best answer with every worse one; ties are never paired', () => {
    expect(rankingPairs([2, 1, 3], 'best-vs-rest')).toEqual([
      [1, 0],
      [1, 2],
    ]);
    expect(rankingPairs([1, 1, 2], 'best-vs-rest')).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(rankingPairs([2, 2], 'best-vs-rest')).toEqual([]);
  });

  it('all-pairs takes every ordered pair with different ranks', () => {
    expect(rankingPairs([2, 1, 3], 'all-pairs')).toEqual([
      [0, 2],
      [1, 0],
      [1, 2],
    ]);
    expect(rankingPairs([1, 2, 2], 'all-pairs')).toEqual([
      [0, 1],
      [0, 2],
    ]);
    expect(rankingPairs([1, 2], 'drop')).toEqual([]);
  });
});

describe('records to units', () => {
  const records = [
    rec(1, { id: 'p', kind: 'pair', chosen: { text: 'A' }, rejected: { text: 'B' }, margin: 2 }),
    rec(2, { id: 'r', kind: 'ranking', responses: [{ text: 'x' }, { text: 'y' }, { text: 'z' }], ranks: [3, 1, 2] }),
    rec(3, { id: 'b', kind: 'binary', response: { text: 'C' }, label: true }),
    rec(4, { id: 't', kind: 'ranking', responses: [{ text: 'x' }, { text: 'y' }], ranks: [1, 1] }),
  ];

  it('pairs: expands rankings, keeps margins, drops binary rows and all-tied rankings with reasons', () => {
    const r = toUnits(records, 'pairs', 'best-vs-rest');
    expect(r.units.map((u) => [u.id, u.kind === 'pair' ? `${u.chosen}>${u.rejected}` : ''])).toEqual([
      ['p', 'A>B'],
      ['r#1>0', 'y>x'],
      ['r#1>2', 'y>z'],
    ]);
    expect(r.units[0].kind === 'pair' && r.units[0].margin).toBe(2);
    expect(r.drops.map((d) => [d.id, d.line, d.reason])).toEqual([
      ['b', 3, 'binary_needs_kto'],
      ['t', 4, 'ranking_all_tied'],
    ]);
    expect(r.rankings).toEqual({ records: 1, pairs: 2 });
  });

  it('--rankings drop reports each ranking', () => {
    const r = toUnits(records, 'pairs', 'drop');
    expect(r.drops.filter((d) => d.reason === 'ranking_dropped').map((d) => d.id)).toEqual(['r', 't']);
  });

  it('unpaired: a pair becomes a desirable and an undesirable row; a ranking labels its best answers', () => {
    const r = toUnits(records, 'unpaired', 'best-vs-rest');
    expect(r.units.map((u) => (u.kind === 'binary' ? [u.id, u.completion, u.label] : []))).toEqual([
      ['p#chosen', 'A', true],
      ['p#rejected', 'B', false],
      ['r#0', 'x', false],
      ['r#1', 'y', true],
      ['r#2', 'z', false],
      ['b', 'C', true],
    ]);
    expect(r.drops.map((d) => d.reason)).toEqual(['ranking_all_tied']);
  });

  it('image_pairs: keeps only same-answer image pairs', () => {
    const img = { kind: 'image', path: 'a.png' };
    const ip = rec(5, {
      id: 'ip',
      kind: 'image_pair',
      prompt: [{ role: 'user', content: [{ type: 'image', media: 0 }] }],
      media: [img],
      response: { text: 'R' },
      rejectedMedia: [{ kind: 'image', path: 'b.png' }],
    });
    const imgPrompt = [{ role: 'user', content: [{ type: 'image', media: 0 }] }];
    const adpo = rec(6, {
      id: 'adpo',
      kind: 'pair',
      prompt: imgPrompt,
      media: [img],
      chosen: { text: 'R' },
      rejected: { text: 'S' },
      rejectedMedia: [{ kind: 'image', path: 'b.png' }],
    });
    const same = rec(7, { ...adpo.value, id: 'same', rejected: { text: 'R' } });
    const r = toUnits([...records, ip, adpo, same], 'image_pairs', 'best-vs-rest');
    expect(r.units.map((u) => u.id)).toEqual(['ip', 'same']);
    const u = r.units[0];
    expect(u.kind === 'pair' && [u.chosen, u.rejected, u.rejectedMedia?.[0].path]).toEqual(['R', 'R', 'b.png']);
    expect(r.drops.map((d) => [d.id, d.reason])).toEqual(
      ['p', 'r', 'b', 't', 'adpo'].map((id) => [id, 'not_an_image_pair']),
    );
  });
});
