import {
  article,
  type Category,
  type Color,
  isCategory,
  isColor,
  isSize,
  PLURAL_TO_CATEGORY,
  type Size,
} from './vocab.ts';

/**
 * The caption grammar (one sentence, reading order of the grid):
 *   caption := phrase "." | phrase (", " phrase)* " and " phrase "."
 *   phrase  := ("a" | "an") [("small" | "large") " "] color " " category
 * "medium" is the unmarked size (omitted); the article agrees with the next word ("an orange oval").
 * e.g. "a small red circle, a large blue star and a green triangle."
 */
export interface CaptionObject {
  category: Category;
  color: Color;
  size: Size;
}

export function phrase(o: CaptionObject): string {
  const words = [...(o.size === 'medium' ? [] : [o.size]), o.color, o.category];
  return `${article(words[0])} ${words.join(' ')}`;
}

export function formatCaption(objects: readonly CaptionObject[]): string {
  if (objects.length === 0) return 'nothing.';
  const ps = objects.map(phrase);
  const last = ps.pop()!;
  return `${ps.length ? `${ps.join(', ')} and ` : ''}${last}.`;
}

export interface ParsedObject {
  name: Category;
  attributes: { color?: Color; size?: Size };
}

export interface ParsedCaption {
  /** True iff the text is exactly the canonical caption of the objects it names. */
  wellFormed: boolean;
  objects: ParsedObject[];
  /** What did not fit the grammar, one message per problem (empty when well-formed). */
  errors: string[];
}

const COUNT_WORDS: Record<string, number> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
};

/**
 * Parse a caption tolerantly: split on sentence ends, commas and "and"; in every phrase take the shape word (singular,
 * or plural after a count like "two red circles"), its color and size words, and report every word that does not
 * belong. A phrase without a size word is medium, as the grammar says; a phrase without a color keeps no color.
 */
export function parseCaption(text: string): ParsedCaption {
  const errors: string[] = [];
  const objects: ParsedObject[] = [];
  const trimmed = text.trim();
  if (trimmed === '') return { wellFormed: false, objects, errors: ['empty caption'] };
  if (trimmed === 'nothing.') return { wellFormed: true, objects, errors };
  const chunks = trimmed
    .toLowerCase()
    .split(/[.!?;]|,|\band\b/)
    .map((c) => c.trim())
    .filter((c) => c !== '');
  for (const chunk of chunks) {
    const words = chunk.split(/\s+/);
    let category: Category | undefined;
    let color: Color | undefined;
    let size: Size | undefined;
    let count = 1;
    const unknown: string[] = [];
    for (const w of words) {
      if (w === 'a' || w === 'an' || w === 'the') continue;
      if (isCategory(w) || PLURAL_TO_CATEGORY.has(w)) {
        if (category) unknown.push(w);
        else category = isCategory(w) ? w : PLURAL_TO_CATEGORY.get(w);
      } else if (isColor(w) && !color) color = w;
      else if (isSize(w) && !size) size = w;
      else if (COUNT_WORDS[w] !== undefined || /^[1-9]$/.test(w)) count = COUNT_WORDS[w] ?? Number(w);
      else unknown.push(w);
    }
    if (unknown.length) errors.push(`unexpected word(s) "${unknown.join(' ')}" in "${chunk}"`);
    if (!category) {
      errors.push(`no shape in "${chunk}"`);
      continue;
    }
    for (let i = 0; i < count; i++)
      objects.push({ name: category, attributes: { ...(color ? { color } : {}), size: size ?? 'medium' } });
  }
  const complete = objects.every((o) => o.attributes.color);
  const canonical = complete
    ? formatCaption(objects.map((o) => ({ category: o.name, color: o.attributes.color!, size: o.attributes.size! })))
    : undefined;
  const wellFormed = errors.length === 0 && canonical === trimmed;
  if (!wellFormed && errors.length === 0)
    errors.push(complete ? `not in canonical form (expected "${canonical}")` : 'a phrase has no color');
  return { wellFormed, objects, errors };
}
