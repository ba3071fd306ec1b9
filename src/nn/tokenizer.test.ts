import { describe, expect, it } from 'vitest';
import { encodeBatch } from './batch.ts';
import { BOS, EOS, PAD, SEP, UNK, WordTokenizer } from './tokenizer.ts';

describe('WordTokenizer', () => {
  const tok = WordTokenizer.fromTexts(['a red circle, a blue square and a star.', 'Is there a star?']);

  it('reserves the special ids and sorts the vocabulary', () => {
    expect(tok.vocab.slice(0, 5)).toEqual(['<pad>', '<unk>', '<bos>', '<sep>', '<eos>']);
    expect([PAD, UNK, BOS, SEP, EOS]).toEqual([0, 1, 2, 3, 4]);
    expect(tok.vocab.slice(5)).toEqual([
      ',',
      '.',
      '?',
      'Is',
      'a',
      'and',
      'blue',
      'circle',
      'red',
      'square',
      'star',
      'there',
    ]);
  });

  it('maps unknown words to <unk> and never throws', () => {
    expect(tok.encode('a green circle!')).toEqual([tok.encode('a')[0], UNK, tok.encode('circle')[0], UNK]);
    expect(tok.encode('')).toEqual([]);
    expect(tok.encode('💥 \u0000')).toEqual([UNK, UNK]);
  });

  it('decodes with the spacing rule (no space before punctuation), dropping specials', () => {
    const text = 'a red circle, a blue square and a star.';
    expect(tok.decode([BOS, ...tok.encode(text), EOS])).toBe(text);
  });

  it('round-trips through JSON and rejects a malformed file', () => {
    expect(WordTokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON()))).vocab).toEqual(tok.vocab);
    expect(() => WordTokenizer.fromJSON({ type: 'mmalign-word-level', version: 1, vocab: ['a', 'b'] })).toThrow(
      /invalid tokenizer/,
    );
  });
});

describe('encodeBatch', () => {
  const tok = WordTokenizer.fromTexts(['Is there a star? yes no']);
  it('lays out <bos> prompt <sep> answer <eos>, pads, and masks the answer targets', () => {
    const b = encodeBatch(
      tok,
      [
        { prompt: 'Is there a star?', answer: 'yes' },
        { prompt: 'a', answer: 'no' },
      ],
      32,
    );
    const [is, there, a, star, q, yes, no] = ['Is', 'there', 'a', 'star', '?', 'yes', 'no'].map(
      (w) => tok.encode(w)[0] as number,
    );
    expect(b.T).toBe(9);
    expect([...b.ids.slice(0, 9)]).toEqual([BOS, is, there, a, star, q, SEP, yes, EOS]);
    expect([...b.ids.slice(9)]).toEqual([BOS, a, SEP, no, EOS, PAD, PAD, PAD, PAD]);
    // output t scores ids[t+1]: answer targets are ids 7, 8 (row 0) and 3, 4 (row 1) → outputs 6, 7 and 2, 3
    expect([...b.answerMask.slice(0, 8)]).toEqual([0, 0, 0, 0, 0, 0, 1, 1]);
    expect([...b.answerMask.slice(8)]).toEqual([0, 0, 1, 1, 0, 0, 0, 0]);
    expect(b.truncated).toBe(0);
  });

  it('cuts over-long rows to maxLen and counts them', () => {
    const b = encodeBatch(tok, [{ prompt: 'a a a a a a a a a a', answer: 'yes yes yes yes' }], 8);
    expect(b.T).toBe(8);
    expect(b.truncated).toBe(1);
    expect(b.answerMask.reduce((x, y) => x + y, 0)).toBeGreaterThan(0);
  });
});
