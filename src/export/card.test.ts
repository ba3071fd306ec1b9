import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Preference } from '../schema/index.ts';
import { agreementStats, datasetCard } from './card.ts';

const records = readFileSync(new URL('./golden/input/prefs.jsonl', import.meta.url), 'utf8')
  .trimEnd()
  .split('\n')
  .map((l) => Preference.parse(JSON.parse(l)));

describe('dataset card', () => {
  it('summarises agreement statistics found in provenance.extra', () => {
    // agreement 1, 0.5, 0.75 on p-text, p-img, p-rank: mean 0.75.
    expect(agreementStats(records)).toEqual([{ key: 'agreement', n: 3, mean: 0.75, min: 0.5, max: 1 }]);
    expect(agreementStats(records.slice(2, 4))).toEqual([]);
  });

  it('tabulates sources, response models, annotation, strategies and sizes', () => {
    const card = datasetCard({
      title: 'T',
      engine: 'E',
      objective: 'dpo',
      model: 'm',
      records,
      rows: 7,
      dropped: { identical_answers: 1, rubric_needs_pairing: 1 },
      fixed: 2,
      rankings: { records: 1, pairs: 2 },
    });
    expect(card).toContain('| input preference records | 10 |');
    expect(card).toContain('| rows written | 7 |');
    expect(card).toContain('| rows dropped by pre-flight | 2 |');
    expect(card).toContain('| rankings expanded | 1 → 2 pairs |');
    // 9 prompt media refs + 1 rejected image; 3 distinct files.
    expect(card).toContain('| media references (unique files) | 10 (3) |');
    expect(card).toContain('| shapeworld | 10 |');
    // Answers by model: tiny-vlm on 15 answers, big-vlm on 2, one answer without a model.
    expect(card).toContain('| tiny-vlm | 15 |');
    expect(card).toContain('| big-vlm | 2 |');
    expect(card).toContain('| (not recorded) | 1 |');
    expect(card).toContain('| human | 3 |');
    expect(card).toContain('| closed_model:gpt-4o | 2 |');
    expect(card).toContain('| inject:count | 2 |');
    expect(card).toContain('| on | 2 |');
    expect(card).toContain('| agreement | 3 | 0.7500 | 0.5000 | 1.0000 |');
    expect(card).toContain('| first createdAt | 2026-11-01T00:00:00Z |');
  });
});
