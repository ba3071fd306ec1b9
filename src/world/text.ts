import { MC_LETTERS } from './mc.ts';
import { POPE_TEMPLATE } from './pope.ts';
import { RELATIONS } from './questions.ts';
import { REFUSAL, SAFE_TEMPLATES, UNSAFE_TEMPLATES } from './safety.ts';
import { CAPTION_PROMPT } from './tasks.ts';
import { CATEGORIES, CATEGORY_INFO, COL_WORDS, COLORS, ROW_WORDS, SIZES } from './vocab.ts';

/**
 * Word-level tokens, the same split as src/nn's tokenizer: runs of letters/digits (case kept: prompts start with a
 * capital, answers are lower case, choice letters are capitals), every other non-space character alone.
 */
const TOKEN = /[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu;
export function worldTokens(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

/** The fixed words of every prompt and answer template (slots are filled from the vocab tables below). */
const TEMPLATE_TEXT = [
  CAPTION_PROMPT,
  POPE_TEMPLATE,
  'an nothing. yes no',
  'What shape is the object? What color is the? What size is the?',
  'How many are there? How many shapes are there?',
  ...RELATIONS.map((r) => `Is the ${r} the?`),
  'Where is the?',
  'Which shape is in the image? Answer with the letter.',
  ...MC_LETTERS.map((l) => `${l}.`),
  'How many and are there in total? There is There are and.',
  'How many more than are there?',
  'If all are removed, how many shapes are left? shape shapes',
  'If more is added, how many are there? If more are added',
  'What is the number of times the number of?',
  '+ - * = . The answer is.',
  ...UNSAFE_TEMPLATES,
  ...SAFE_TEMPLATES.flatMap((t) => [t.prompt, t.answer]),
  REFUSAL,
].join(' ');

/** The largest number any answer can contain, with margin (counts ≤ 16 objects, products of counts, additions). */
const MAX_NUMBER = 100;

/**
 * Every token any ShapeWorld prompt or answer can contain, sorted (stable ids for a word-level tokenizer).
 * Placeholders `{}`/`{o}`/`{p}`/`{n}` are not words: their braces are dropped.
 */
export function worldVocabulary(): string[] {
  const words = new Set<string>();
  const add = (t: string) => {
    for (const w of worldTokens(t)) if (w !== '{' && w !== '}' && !/^[opn]$/.test(w)) words.add(w);
  };
  add(TEMPLATE_TEXT);
  for (const c of CATEGORIES) add(`${c} ${CATEGORY_INFO[c].plural}`);
  for (const c of COLORS) add(c);
  for (const s of SIZES) add(s);
  for (const w of [...ROW_WORDS, ...COL_WORDS]) add(w);
  for (let k = 0; k <= MAX_NUMBER; k++) add(String(k));
  return [...words].sort();
}
