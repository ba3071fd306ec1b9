import { z } from 'zod';
import { MmalignError } from '../util/errors.ts';

/**
 * Word-level tokenizer for ShapeWorld-style text. Words are runs of letters/digits (case kept) and every other
 * non-space character is its own token, so "a red circle." → ["a", "red", "circle", "."]. Unknown words map to
 * `<unk>`; encoding never throws. Ids 0–4 are reserved: pad, unk, bos (start of the prompt), sep (start of the
 * answer), eos (end of the answer).
 */
export const SPECIAL_TOKENS = ['<pad>', '<unk>', '<bos>', '<sep>', '<eos>'] as const;
export const PAD = 0;
export const UNK = 1;
export const BOS = 2;
export const SEP = 3;
export const EOS = 4;

const WORD = /[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu;
/** Tokens written without a space before them when decoding. */
const NO_SPACE_BEFORE = new Set(['.', ',', ';', ':', '?', '!', ')', "'", '%']);
const NO_SPACE_AFTER = new Set(['(']);

export function splitWords(text: string): string[] {
  return text.match(WORD) ?? [];
}

export const TokenizerFile = z.strictObject({
  type: z.literal('mmalign-word-level'),
  version: z.literal(1),
  vocab: z.array(z.string()).min(SPECIAL_TOKENS.length),
});
export type TokenizerFile = z.infer<typeof TokenizerFile>;

export class WordTokenizer {
  readonly vocab: readonly string[];
  readonly #ids: Map<string, number>;

  constructor(vocab: readonly string[]) {
    SPECIAL_TOKENS.forEach((t, i) => {
      if (vocab[i] !== t) {
        throw new MmalignError('MMALIGN_BAD_TOKENIZER', `tokenizer vocab[${i}] must be "${t}", got "${vocab[i]}"`);
      }
    });
    this.vocab = vocab;
    this.#ids = new Map(vocab.map((w, i) => [w, i]));
    if (this.#ids.size !== vocab.length) {
      throw new MmalignError('MMALIGN_BAD_TOKENIZER', 'tokenizer vocab has duplicate entries');
    }
  }

  /** Vocabulary = specials + every word of `texts` and `extraWords`, sorted so the same corpus gives the same ids. */
  static fromTexts(texts: Iterable<string>, extraWords: Iterable<string> = []): WordTokenizer {
    const words = new Set<string>();
    for (const t of texts) for (const w of splitWords(t)) words.add(w);
    for (const w of extraWords) for (const piece of splitWords(w)) words.add(piece);
    for (const s of SPECIAL_TOKENS) words.delete(s);
    return new WordTokenizer([...SPECIAL_TOKENS, ...[...words].sort()]);
  }

  static fromJSON(json: unknown): WordTokenizer {
    const parsed = TokenizerFile.safeParse(json);
    if (!parsed.success) {
      throw new MmalignError('MMALIGN_BAD_TOKENIZER', `invalid tokenizer.json: ${parsed.error.issues[0]?.message}`);
    }
    return new WordTokenizer(parsed.data.vocab);
  }

  toJSON(): TokenizerFile {
    return { type: 'mmalign-word-level', version: 1, vocab: [...this.vocab] };
  }

  get size(): number {
    return this.vocab.length;
  }

  encode(text: string): number[] {
    return splitWords(text).map((w) => this.#ids.get(w) ?? UNK);
  }

  token(id: number): string {
    return this.vocab[id] ?? SPECIAL_TOKENS[UNK];
  }

  /** Inverse of encode up to spacing; special tokens are dropped. */
  decode(ids: readonly number[]): string {
    let out = '';
    for (const id of ids) {
      if (id < SPECIAL_TOKENS.length) continue;
      out = joinToken(out, this.token(id));
    }
    return out;
  }
}

/** Appends one token to decoded text with the spacing rule of `decode` (used by streaming decoders too). */
export function joinToken(text: string, token: string): string {
  if (text === '' || NO_SPACE_BEFORE.has(token) || NO_SPACE_AFTER.has(text[text.length - 1] ?? '')) {
    return text + token;
  }
  return `${text} ${token}`;
}
