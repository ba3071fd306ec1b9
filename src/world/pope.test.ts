import { describe, expect, it } from 'vitest';
import { parseWorldConfig } from './config.ts';
import { buildSamples } from './generate.ts';
import {
  POPE_MIN_IMAGES,
  type PopeImage,
  popeCoOccurrence,
  popeObjectCounts,
  popeQuestions,
  popeQuestionText,
} from './pope.ts';
import { sfc32, streamRng } from './rng.ts';
import { makeScene, sceneCategories } from './scene.ts';

// Worked by hand from AoiDragon/POPE utils.py (counts in insertion order, stable sort by count desc).
const IMAGES: PopeImage[] = [
  { id: 'I1', objects: ['a', 'b', 'c'] },
  { id: 'I2', objects: ['a', 'b', 'd'] },
  { id: 'I3', objects: ['a', 'e', 'c'] },
  { id: 'I4', objects: ['f', 'b', 'd'] },
];
const negatives = (qs: { image: string; object: string; label: string }[], image: string) =>
  qs.filter((q) => q.image === image && q.label === 'no').map((q) => q.object);

describe('POPE construction (utils.py)', () => {
  it('counts objects per image and sorts co-occurrence stably', () => {
    expect([...popeObjectCounts(IMAGES)]).toEqual([
      ['a', 3],
      ['b', 3],
      ['c', 2],
      ['d', 2],
      ['e', 1],
      ['f', 1],
    ]);
    const co = popeCoOccurrence(IMAGES);
    expect(co.get('a')).toEqual(['b', 'c', 'd', 'e']);
    expect(co.get('b')).toEqual(['a', 'd', 'c', 'f']);
    expect(co.get('c')).toEqual(['a', 'b', 'e']);
    expect(co.get('d')).toEqual(['b', 'a', 'f']);
  });

  it('asks the first 3 objects as yes, each followed by one no', () => {
    const qs = popeQuestions(IMAGES, 'random', sfc32(1));
    expect(qs).toHaveLength(24);
    expect(qs.filter((q) => q.image === 'I2').map((q) => q.label)).toEqual(['yes', 'no', 'yes', 'no', 'yes', 'no']);
    expect(qs.filter((q) => q.image === 'I2' && q.label === 'yes').map((q) => q.object)).toEqual(['a', 'b', 'd']);
  });

  it('popular: most frequent object not in the image and not already asked', () => {
    const qs = popeQuestions(IMAGES, 'popular', sfc32(1));
    expect(negatives(qs, 'I1')).toEqual(['d', 'e', 'f']);
    expect(negatives(qs, 'I4')).toEqual(['a', 'c', 'e']);
    expect(negatives(qs, 'I3')).toEqual(['b', 'd', 'f']);
  });

  it('adversarial: top co-occurring object of the positive, else the random fallback', () => {
    const qs = popeQuestions(IMAGES, 'adversarial', sfc32(1));
    expect(negatives(qs, 'I1')).toEqual(['d', 'f', 'e']);
    // I3: a → b; e co-occurs only with a, c (both in the image) → random from {d, f}; c → a, b asked, e in image → random.
    const n3 = negatives(qs, 'I3');
    expect(n3[0]).toBe('b');
    expect(['d', 'f']).toContain(n3[1]);
    expect(['d', 'f'].filter((x) => x !== n3[1])).toContain(n3[2]);
  });

  it('random: uniform over ground-truth objects, never in the image, never repeated per image', () => {
    const seen = new Map<string, number>();
    for (let seed = 0; seed < 300; seed++) {
      const qs = popeQuestions(IMAGES, 'random', sfc32(seed));
      for (const im of IMAGES) {
        const neg = negatives(qs, im.id);
        expect(new Set(neg).size).toBe(3);
        for (const o of neg) {
          expect(im.objects).not.toContain(o);
          seen.set(o, (seen.get(o) ?? 0) + 1);
        }
      }
    }
    // I1 can only get d, e, f, so with 3 negatives each it always gets all three: 300 each from I1 alone.
    expect(seen.get('d')).toBeGreaterThanOrEqual(300);
    expect([...seen.keys()].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('uses "an" before a vowel, "a" otherwise', () => {
    expect(popeQuestionText('oval')).toBe('Is there an oval in the image?');
    expect(popeQuestionText('arrow')).toBe('Is there an arrow in the image?');
    expect(popeQuestionText('star')).toBe('Is there a star in the image?');
  });
});

describe('pope task', () => {
  const { samples } = buildSamples({}, { seed: 7, split: 'test', n: 90, tasks: ['pope'] });
  const pope = samples.get('pope')!;

  it('writes n questions split evenly over strategies, balanced yes/no, about the same images', () => {
    expect(pope).toHaveLength(90);
    for (const s of ['random', 'popular', 'adversarial']) {
      const part = pope.filter((x) => x.truth?.split === s);
      expect(part).toHaveLength(30);
      expect(part.filter((x) => x.truth?.label === 'yes')).toHaveLength(15);
    }
    const imagesOf = (s: string) => new Set(pope.filter((x) => x.truth?.split === s).map((x) => x.truth?.scene));
    expect(imagesOf('random')).toEqual(imagesOf('adversarial'));
  });

  it('labels agree with the drawn objects and the reference', () => {
    for (const s of pope) {
      const names = (s.truth?.objects ?? []).map((o) => o.name);
      const present = names.includes(String(s.truth?.object));
      expect(s.truth?.label).toBe(present ? 'yes' : 'no');
      expect(s.reference).toBe(`${s.truth?.object} ${s.truth?.label}`);
    }
  });

  it('is popeQuestions over the first scenes with >= 3 distinct shapes, with the per-strategy stream', () => {
    const cfg = parseWorldConfig({});
    const n = 120;
    const train = buildSamples(cfg, { seed: 3, split: 'train', n, tasks: ['pope'] }).samples.get('pope')!;
    const images: PopeImage[] = [];
    for (let j = 0; images.length < Math.max(POPE_MIN_IMAGES, Math.ceil(n / 3 / 6)); j++) {
      const objects = sceneCategories(makeScene(cfg, 3, 'train', j));
      if (objects.length >= 3) images.push({ id: `sw3-train-${j}`, objects });
    }
    for (const strategy of ['random', 'popular', 'adversarial'] as const) {
      const want = popeQuestions(images, strategy, streamRng(3, `pope/train/${strategy}`)).slice(0, n / 3);
      const got = train
        .filter((x) => x.truth?.split === strategy)
        .map((x) => ({ image: x.truth?.scene, object: x.truth?.object, label: x.truth?.label }));
      expect(got).toEqual(want);
    }
  });
});

describe('the exist task (yes/no questions to train on)', () => {
  const cfg = parseWorldConfig({});
  const items = buildSamples(cfg, { seed: 5, split: 'train', n: 2000, tasks: ['exist'] }).samples.get('exist')!;

  it('asks about a drawn category (yes) or an undrawn one (no), one question per scene', () => {
    expect(items).toHaveLength(2000);
    expect(new Set(items.map((s) => s.truth?.scene)).size).toBe(2000);
    for (const s of items) {
      const present = (s.truth?.objects ?? []).map((o) => o.name).includes(String(s.truth?.object));
      expect(s.truth?.label).toBe(present ? 'yes' : 'no');
      expect(s.reference).toBe(`${s.truth?.object} ${s.truth?.label}`);
      expect(s.messages[0]?.content[1]).toEqual({ type: 'text', text: popeQuestionText(String(s.truth?.object)) });
    }
  });

  it('says yes half the time, and each undrawn category is as likely a negative as any other', () => {
    const yes = items.filter((s) => s.truth?.label === 'yes').length;
    // binomial(2000, ½): sd 22, so ±100 is ±4.5 sd
    expect(Math.abs(yes - 1000)).toBeLessThan(100);
    const negatives = new Map<string, number>();
    for (const s of items)
      if (s.truth?.label === 'no')
        negatives.set(String(s.truth.object), (negatives.get(String(s.truth.object)) ?? 0) + 1);
    expect(negatives.size).toBe(12);
    // ~1000 negatives over 12 categories (~83 each; absent categories vary little with 2-5 objects per scene)
    for (const count of negatives.values()) expect(count).toBeGreaterThan(40);
  });
});
