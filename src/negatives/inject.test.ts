import { describe, expect, it } from 'vitest';
import type { Sample } from '../schema/index.ts';
import { parseCaption, priorPartners } from '../world/index.ts';
import { INJECTION_NAMES, injectHallucination } from './inject.ts';

const sample = (caption: string, names: string[]): Sample => ({
  id: 'x1',
  messages: [
    {
      role: 'user',
      content: [
        { type: 'image', media: 0 },
        { type: 'text', text: 'Describe the image.' },
      ],
    },
  ],
  media: [{ kind: 'image', path: 'media/aa/x.png' }],
  reference: caption,
  truth: { objects: names.map((name) => ({ name })) },
  provenance: { source: 't', createdAt: 'x' },
});

describe('injectHallucination', () => {
  const good = 'a small red circle, a blue star and a green triangle.';
  const s = sample(good, ['circle', 'star', 'triangle']);

  it('substitutes one phrase: same object count, a well-formed caption, one segment that maps back to the good text', () => {
    for (const strategy of INJECTION_NAMES) {
      const r = injectHallucination(s, good, strategy, {
        seed: 3,
        partners: () => ['heart'],
        counts: new Map([['moon', 9]]),
      });
      expect(r, strategy).not.toBeNull();
      if (!r) continue;
      const parsed = parseCaption(r.text);
      expect(parsed.wellFormed).toBe(true);
      expect(parsed.objects).toHaveLength(3);
      const [seg] = r.segments;
      expect(r.text.slice(seg.start, seg.end)).toBe(seg.text);
      // applying the correction to the rejected text gives back the good caption
      expect(r.text.slice(0, seg.start) + seg.correction + r.text.slice(seg.end)).toBe(good);
    }
  });

  it('cooccur names an absent prior partner, popular the most frequent absent category, attribute keeps the shapes', () => {
    const co = injectHallucination(s, good, 'cooccur', { seed: 1, partners: (c) => (c === 'star' ? ['moon'] : []) });
    expect(co?.hallucinated).toBe('moon');
    expect(parseCaption(co!.text).objects.map((o) => o.name)).toContain('star');
    const pop = injectHallucination(s, good, 'popular', {
      seed: 1,
      counts: new Map([
        ['heart', 5],
        ['moon', 9],
        ['circle', 99],
      ]),
    });
    expect(pop?.hallucinated).toBe('moon');
    const attr = injectHallucination(s, good, 'attribute', { seed: 1 });
    expect(parseCaption(attr!.text).objects.map((o) => o.name)).toEqual(['circle', 'star', 'triangle']);
    expect(attr?.segments[0].tag).toBe('attribute');
  });

  it('returns null when nothing can be injected, and insert mode adds a phrase', () => {
    expect(injectHallucination(s, good, 'cooccur', { seed: 1, partners: () => [] })).toBeNull();
    expect(injectHallucination(s, 'not a caption at all', 'random', { seed: 1 })).toBeNull();
    const ins = injectHallucination(s, good, 'random', { seed: 1, mode: 'insert' });
    expect(parseCaption(ins!.text).objects).toHaveLength(4);
    expect(ins!.segments[0].correction).toBe('');
  });

  it('is deterministic per seed and works with the world priors (moon → star)', () => {
    const a = injectHallucination(s, good, 'random', { seed: 5 });
    expect(injectHallucination(s, good, 'random', { seed: 5 })).toEqual(a);
    const withMoon = 'a red moon, a blue circle and a green square.';
    const m = sample(withMoon, ['moon', 'circle', 'square']);
    const co = injectHallucination(m, withMoon, 'cooccur', { seed: 5, partners: (c) => priorPartners(c) });
    expect(co?.hallucinated).toBe('star');
    expect(injectHallucination(s, good, 'cooccur', { seed: 5, partners: (c) => priorPartners(c) })).toBeNull();
  });
});
