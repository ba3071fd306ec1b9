import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { captionObjects, cocoVocabulary, genericVocabulary, scoreChair } from './chair.ts';
import { loadSynonyms, parseSynonyms } from './chair-synonyms.ts';

const original = loadSynonyms(undefined, 'original');
const cleaned = loadSynonyms(undefined, 'cleaned');
const vo = cocoVocabulary(original);
const vc = cocoVocabulary(cleaned);
const nodes = (cap: string, v = vo) => captionObjects(cap, v).nodes;

describe('CHAIR synonym list', () => {
  it('parses like the reference: 80 nodes, 416 surface forms, 403 distinct keys, with the dead keys', () => {
    expect(original.nodes.length).toBe(80);
    expect(original.surfaceCount).toBe(416);
    expect(original.inverse.size).toBe(403);
    expect(original.inverse.has(' motor bike')).toBe(true);
    expect(original.inverse.has(' cheesecake')).toBe(true);
    expect(original.inverse.get('iPhone')).toBe('cell phone');
  });
  it('the cleaned variant fixes them', () => {
    expect(cleaned.inverse.get('motor bike')).toBe('motorcycle');
    expect(cleaned.inverse.get('cheesecake')).toBe('cake');
    expect(cleaned.inverse.get('iphone')).toBe('cell phone');
    expect(cleaned.inverse.has(' motor bike')).toBe(false);
  });
});

describe('caption → objects', () => {
  it('merges two-word objects greedily and keeps the reference quirks', () => {
    // "motor bike" merges to itself, but the original list stores " motor bike", so it is dropped.
    expect(nodes('A man riding a motor bike next to a dining table.')).toEqual(['person', 'dining table']);
    expect(nodes('A man riding a motor bike next to a dining table.', vc)).toEqual([
      'person',
      'motorcycle',
      'dining table',
    ]);
    expect(nodes('a cheesecake and an iPhone')).toEqual([]);
    expect(nodes('a cheesecake and an iPhone', vc)).toEqual(['cake', 'cell phone']);
  });
  it('applies the COCO rules: toilet seat, baby animals, passenger vehicles, bow tie', () => {
    expect(nodes('Two dogs and a cat on a toilet seat')).toEqual(['dog', 'cat', 'toilet']);
    expect(nodes('the seat of the toilet')).toEqual(['toilet']);
    expect(nodes('a seat next to a table')).toEqual(['chair', 'dining table']);
    expect(nodes('a baby elephant and a baby')).toEqual(['elephant', 'person']);
    expect(nodes('a passenger train')).toEqual(['train']);
    expect(nodes('a man in a bow tie')).toEqual(['person', 'tie']);
    expect(nodes('a home plate and a train track')).toEqual([]);
  });
  it('lemmatises plurals (WordNet noun rules, shortest form)', () => {
    expect(nodes('two wine glasses')).toEqual(['wine glass']);
    expect(nodes('knives, buses, women, people and children')).toEqual(['knife', 'bus', 'person', 'person', 'person']);
    expect(nodes('hot dogs and teddy bears')).toEqual(['hot dog', 'teddy bear']);
    expect(nodes('three giraffes and two ponies')).toEqual(['giraffe', 'horse']);
    expect(nodes('two skis')).toEqual(['skis']);
    // NLTK quirks kept: "men" and "teeth" are WordNet lemmas themselves, so they stay unchanged ("men" is no object)
    expect(nodes('two men and a man')).toEqual(['person']);
    expect(nodes('policemen')).toEqual(['person']);
  });
  it('counts every mention (duplicates kept)', () => {
    expect(nodes('a dog, a dog and another dog')).toEqual(['dog', 'dog', 'dog']);
  });
});

describe('CHAIR metrics', () => {
  it('CHAIRi over mentions, CHAIRs over captions, recall over ground-truth objects', () => {
    const r = scoreChair(
      [
        { imageId: 1, caption: 'A man and a dog on a bench.', objects: ['person', 'bench'] },
        { imageId: 2, caption: 'A cat.', objects: ['cat', 'chair'] },
      ],
      vo,
      { perCaption: true },
    );
    expect(r.chair_i).toBe(1 / 4);
    expect(r.chair_s).toBe(1 / 2);
    expect(r.recall).toBe(3 / 4);
    expect(r.n_captions).toBe(2);
    expect(r.n_mentions).toBe(4);
    expect(r.per_caption?.[0].hallucinated).toEqual([['dog', 'dog']]);
    expect(r.per_caption?.[0].chair_i).toBe(1 / 3);
    expect(r.mean_words).toBe((8 + 2) / 2);
  });
  it('maps ground-truth names through the synonyms (a "man" in the truth is a person)', () => {
    const r = scoreChair([{ imageId: 1, caption: 'a woman', objects: ['man'] }], vo);
    expect(r.chair_i).toBe(0);
  });
  it('never lets empty output look like zero hallucination: CHAIRi is null, parse and object rates fall', () => {
    const r = scoreChair(
      [
        { imageId: 1, caption: '', objects: ['dog'] },
        { imageId: 2, caption: 'something', objects: ['cat'] },
      ],
      vo,
    );
    expect(r.chair_i).toBeNull();
    expect(r.chair_s).toBe(0);
    expect(r.recall).toBe(0);
    expect(r.parse_rate).toBe(0.5);
    expect(r.object_caption_rate).toBe(0);
  });
  it('works with any vocabulary (generic two-word entries)', () => {
    const v = genericVocabulary(parseSynonyms('circle, ring\nsquare\nred triangle, triangle'));
    expect(captionObjects('two rings and a red triangle', v).nodes).toEqual(['circle', 'red triangle']);
  });
});

describe('CHAIR against NLTK (testdata/chair_ref.py: NLTK 3.8 tokenizer + WordNet noun lemmas, chair.py rules)', () => {
  const ref = JSON.parse(readFileSync(new URL('./testdata/chair_crosscheck.json', import.meta.url), 'utf8')) as {
    metrics: { chair_s: number; chair_i: number; recall: number; n_mentions: number };
    records: Array<{ image_id: number; caption: string; objects: string[]; nodes: string[] }>;
  };
  it('finds the same node words in all 300 synthetic captions', () => {
    const diffs = ref.records.filter((r) => JSON.stringify(nodes(r.caption)) !== JSON.stringify(r.nodes));
    expect(diffs.map((r) => ({ caption: r.caption, want: r.nodes, got: nodes(r.caption) }))).toEqual([]);
  });
  it('gives the same CHAIRs, CHAIRi and recall', () => {
    const r = scoreChair(
      ref.records.map((x) => ({ imageId: x.image_id, caption: x.caption, objects: x.objects })),
      vo,
    );
    expect(r.chair_s).toBe(ref.metrics.chair_s);
    expect(r.chair_i).toBe(ref.metrics.chair_i);
    expect(r.recall).toBe(ref.metrics.recall);
    expect(r.n_mentions).toBe(ref.metrics.n_mentions);
  });
});
