import { describe, expect, it } from 'vitest';
import { correctCaption } from './sets.ts';

describe('correctCaption (RLHF-V-style correction by rule)', () => {
  it('removes the hallucinated objects and keeps the rest as written, errors included', () => {
    // the green star is not in the image (hallucinated); the blue heart is drawn red (kept: not a hallucination)
    expect(correctCaption('a large blue heart, a green star and a small red ring.', ['star'])).toBe(
      'a large blue heart and a small red ring.',
    );
    expect(correctCaption('a red moon and a yellow star.', ['star'])).toBe('a red moon.');
  });

  it('gives nothing to pair when nothing is hallucinated, everything is, or a phrase is incomplete', () => {
    expect(correctCaption('a red moon.', [])).toBeUndefined();
    expect(correctCaption('a red moon.', ['moon'])).toBeUndefined();
    expect(correctCaption('a red moon and a star.', ['moon'])).toBeUndefined();
  });
});
