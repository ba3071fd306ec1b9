/**
 * VLMEvalKit's yes/no extraction (`vlmeval/smp/misc.py: process_punctuation`, `dataset/utils/yorn.py:
 * YOrN_Extraction`), ported rule for rule, including two quirks that change results:
 * - the punctuation pass deletes a mark when the *original* text has it next to a space (or has a digit,digit
 *   comma anywhere), and otherwise replaces it with a space;
 * - the period pass is `re.sub(pattern, '', text, re.UNICODE)`, which passes the flag as `count`, so only the
 *   first 32 periods that are not before a digit are removed.
 */

const PUNCT = [
  ';',
  '/',
  '[',
  ']',
  '"',
  '{',
  '}',
  '(',
  ')',
  '=',
  '+',
  '\\',
  '_',
  '-',
  '>',
  '<',
  '@',
  '`',
  ',',
  '?',
  '!',
];
const COMMA_STRIP = /(\d)(,)(\d)/;
/** Python's re.UNICODE flag value, passed as `count` by the reference. */
const PERIOD_COUNT = 32;

export function processPunctuation(inText: string): string {
  let out = inText;
  const commaDigits = COMMA_STRIP.test(inText);
  for (const p of PUNCT) {
    const glue = inText.includes(`${p} `) || inText.includes(` ${p}`) || commaDigits ? '' : ' ';
    out = out.split(p).join(glue);
  }
  let count = 0;
  // `(?!<=\d)` in the reference is a (typo'd) lookahead that can never fail before a '.', so only `(?!\d)` matters.
  return out.replace(/\.(?!\d)/g, (m) => (count++ < PERIOD_COUNT ? '' : m));
}

export type YOrN = 'Yes' | 'No' | 'Unknown';

/** 'Yes' if the word `yes` occurs and `no` does not, 'No' for the reverse, else 'Unknown'. */
export function yornExtract(output: string): YOrN {
  const words = processPunctuation(output.toLowerCase()).split(/\s+/);
  const yes = words.includes('yes');
  const no = words.includes('no');
  if (yes && !no) return 'Yes';
  if (!yes && no) return 'No';
  return 'Unknown';
}
