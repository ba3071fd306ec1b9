import { describe, expect, it } from 'vitest';
import { formatCaption, parseCaption } from './caption.ts';

describe('caption grammar', () => {
  it('formats one, two and many objects; medium is unmarked; "an" before vowels', () => {
    expect(formatCaption([{ category: 'circle', color: 'red', size: 'medium' }])).toBe('a red circle.');
    expect(
      formatCaption([
        { category: 'oval', color: 'orange', size: 'medium' },
        { category: 'star', color: 'blue', size: 'large' },
      ]),
    ).toBe('an orange oval and a large blue star.');
    expect(
      formatCaption([
        { category: 'circle', color: 'red', size: 'small' },
        { category: 'star', color: 'blue', size: 'large' },
        { category: 'triangle', color: 'green', size: 'medium' },
      ]),
    ).toBe('a small red circle, a large blue star and a green triangle.');
  });

  it('parses a well-formed caption back to its objects', () => {
    const p = parseCaption('a small red circle, a large blue star and a green triangle.');
    expect(p).toEqual({
      wellFormed: true,
      errors: [],
      objects: [
        { name: 'circle', attributes: { color: 'red', size: 'small' } },
        { name: 'star', attributes: { color: 'blue', size: 'large' } },
        { name: 'triangle', attributes: { color: 'green', size: 'medium' } },
      ],
    });
  });

  it('reads malformed captions tolerantly and says what is wrong', () => {
    const noStop = parseCaption('a red circle and a blue star');
    expect(noStop.wellFormed).toBe(false);
    expect(noStop.objects.map((o) => o.name)).toEqual(['circle', 'star']);
    expect(noStop.errors[0]).toMatch(/canonical.*a red circle and a blue star\./);

    const junk = parseCaption('a red circle, a blue blue flurb star and and.');
    expect(junk.wellFormed).toBe(false);
    expect(junk.objects.map((o) => [o.name, o.attributes.color])).toEqual([
      ['circle', 'red'],
      ['star', 'blue'],
    ]);
    expect(junk.errors.join(' ')).toMatch(/"blue flurb"/);

    const noShape = parseCaption('a red, a blue star.');
    expect(noShape.errors).toContain('no shape in "a red"');
    expect(noShape.objects).toHaveLength(1);

    const plural = parseCaption('two red circles and a star.');
    expect(plural.objects).toEqual([
      { name: 'circle', attributes: { color: 'red', size: 'medium' } },
      { name: 'circle', attributes: { color: 'red', size: 'medium' } },
      { name: 'star', attributes: { size: 'medium' } },
    ]);
    expect(plural.wellFormed).toBe(false);

    expect(parseCaption('a medium red circle.').wellFormed).toBe(false);
    expect(parseCaption('a orange circle.').wellFormed).toBe(false);
    expect(parseCaption('A red circle.').wellFormed).toBe(false);
    expect(parseCaption('')).toEqual({ wellFormed: false, objects: [], errors: ['empty caption'] });
    expect(parseCaption('the the the').objects).toEqual([]);
  });
});
