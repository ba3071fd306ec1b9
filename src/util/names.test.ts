import { describe, expect, it } from 'vitest';
import { closestNames, didYouMean, editDistance } from './names.ts';

describe('editDistance', () => {
  it('counts edits, with an adjacent swap as one', () => {
    expect(editDistance('dpo', 'dpo')).toBe(0);
    expect(editDistance('dpx', 'dpo')).toBe(1);
    expect(editDistance('dop', 'dpo')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('didYouMean', () => {
  const known = ['dpo', 'ipo', 'kto', 'simpo', 'orpo', 'llamafactory'];
  it('suggests the names within distance 2, the nearest ones, at most two', () => {
    expect(closestNames('smpo', known)).toEqual(['simpo', 'dpo', 'ipo', 'orpo']);
    expect(didYouMean('smpo', known)).toBe(' (did you mean "simpo"?)');
    expect(didYouMean('xpo', known)).toBe(' (did you mean "dpo" or "ipo"?)');
    expect(didYouMean('lamafactory', known)).toBe(' (did you mean "llamafactory"?)');
    expect(didYouMean('DPO', known)).toBe(' (did you mean "dpo"?)');
  });
  it('says nothing when no name is close', () => {
    expect(didYouMean('sharegpt', known)).toBe('');
  });
});
