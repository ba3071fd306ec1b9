import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AmberAnnotation, scoreAmber } from './amber.ts';
import { benchdataDir } from './chair-synonyms.ts';
import { makeLemmatizer } from './lemma.ts';
import { pyFloatStr, pyRound } from './pyfloat.ts';

describe('Python float semantics', () => {
  it('round() is half-even on the exact binary value', () => {
    expect(pyRound(2.675, 2)).toBe(2.67);
    expect(pyRound(0.125, 2)).toBe(0.12);
    expect(pyRound(0.375, 2)).toBe(0.38);
    expect(pyRound(2.5, 0)).toBe(2);
    expect(pyRound(99.95002498750625, 1)).toBe(100);
    expect(pyRound(-1.25, 1)).toBe(-1.2);
  });
  it('str() formats like Python', () => {
    expect(pyFloatStr(1)).toBe('1.0');
    expect(pyFloatStr(1e16)).toBe('1e+16');
    expect(pyFloatStr(123456789)).toBe('123456789.0');
    expect(pyFloatStr(1e-5)).toBe('1e-05');
    expect(pyFloatStr(0.0001)).toBe('0.0001');
    expect(pyFloatStr(2.67)).toBe('2.67');
  });
});

describe('AMBER discriminative (inference.py arithmetic)', () => {
  const ann = JSON.parse(
    readFileSync(path.join(benchdataDir(), 'amber_annotations.json'), 'utf8'),
  ) as AmberAnnotation[];
  const POOL = ['Yes', 'No', 'yes', 'No.', '', 'No', 'Yes', 'No'];
  const resp = ann
    .filter((a) => a.type !== 'generative')
    .map((a) => ({
      id: a.id,
      response:
        POOL[
          (Math.floor(((a.id * 1103515245 + 12345) % 2147483648) / 65536) + (a.truth === 'yes' ? 3 : 0)) % POOL.length
        ],
    }));
  // Expected: testdata/amber_ref.py (the reference's counters and rounding in python3) on the same responses.
  const want = {
    overall: [33.2, 66.3, 37.5, 47.9],
    existence: [37.4, 100.0, 37.4, 54.4],
    attribute: [31.2, 49.9, 37.5, 42.8],
    state: [30.8, 49.5, 37.2, 42.5],
    number: [31.5, 50.1, 37.3, 42.8],
    action: [33.0, 52.1, 40.4, 45.5],
    relation: [30.0, 41.8, 37.4, 39.5],
  };
  const r = scoreAmber(ann, resp);
  it('matches the reference figures block by block', () => {
    expect(r.discriminative?.n).toBe(14216);
    for (const [k, v] of Object.entries(want)) {
      const b = r.discriminative?.[k as keyof typeof want];
      expect([b?.accuracy, b?.precision, b?.recall, b?.f1], k).toEqual(v);
    }
  });
  it('scores only the exact strings "Yes"/"No" and reports the parse rate', () => {
    const one = scoreAmber(ann, [
      { id: 1005, response: 'yes' },
      { id: 1005, response: 'Yes' },
    ]);
    expect(one.discriminative?.overall.accuracy).toBe(pyRound((1 / 2.001) * 100, 1));
    expect(one.discriminative?.parse_rate).toBe(0.5);
    // an empty bucket gives 0 (0 / 0.001), as the reference prints
    expect(one.discriminative?.relation.accuracy).toBe(0);
  });
});

describe('AMBER generative', () => {
  const association = { dog: ['puppy', 'animal'], grass: ['lawn'], cat: ['kitten'], tree: [] as string[] };
  const vocab = new Set(['dog', 'puppy', 'animal', 'grass', 'lawn', 'cat', 'kitten', 'tree']);
  const ann: AmberAnnotation[] = [
    { id: 1, type: 'generative', truth: ['dog', 'grass'], hallu: ['cat', 'tree'] },
    { id: 2, type: 'generative', truth: ['dog', 'grass'], hallu: ['cat', 'tree'] },
  ];
  it('follows the word-pool bookkeeping (worked by hand from inference.py)', () => {
    const r = scoreAmber(
      ann,
      [
        // nouns: puppy (covers dog), kitten (mentions cat: hallucinated), lawn (covers grass), tree (hallucinated);
        // "Light" is capitalised, so WordNet (and we) drop it.
        { id: 1, response: 'A puppy and a kitten on the lawn near a tree. Light.' },
        { id: 2, response: 'a dog' },
      ],
      { association, safeWords: ['light'], lemma: makeLemmatizer(vocab) },
    );
    // CHAIR 2/(4+1+0.001); Cover 3/(2+2+0.001); Hal 100 − 1/(2.001)·100; Cog 2/(2+2+0.001)
    expect(r.generative).toMatchObject({ chair: 40.0, cover: 75.0, hal: 50.0, cog: 50.0, n: 2, n_nouns: 5 });
  });
});
