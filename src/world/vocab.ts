/**
 * ShapeWorld's closed vocabulary: shape categories (the "objects" of POPE/CHAIR), colors and sizes. Each table is
 * `as const` so names are literal types; every list elsewhere (CLI help, config enums, the tokenizer vocabulary) is
 * derived from these.
 */

/** Shape categories; `plural` is used by counting questions, `article` by POPE's "a"/"an" rule. */
export const CATEGORY_INFO = {
  circle: { plural: 'circles' },
  square: { plural: 'squares' },
  triangle: { plural: 'triangles' },
  star: { plural: 'stars' },
  cross: { plural: 'crosses' },
  heart: { plural: 'hearts' },
  diamond: { plural: 'diamonds' },
  ring: { plural: 'rings' },
  hexagon: { plural: 'hexagons' },
  arrow: { plural: 'arrows' },
  moon: { plural: 'moons' },
  oval: { plural: 'ovals' },
} as const;
export type Category = keyof typeof CATEGORY_INFO;
export const CATEGORIES = Object.keys(CATEGORY_INFO) as Category[];

/** Palette colors (RGB). The background and clutter are gray, which is deliberately not a palette color. */
export const COLOR_RGB = {
  red: [220, 40, 40],
  green: [40, 190, 60],
  blue: [50, 90, 235],
  yellow: [235, 215, 40],
  purple: [150, 60, 200],
  orange: [245, 140, 30],
  cyan: [40, 210, 220],
  white: [240, 240, 240],
} as const satisfies Record<string, readonly [number, number, number]>;
export type Color = keyof typeof COLOR_RGB;
export const COLORS = Object.keys(COLOR_RGB) as Color[];

/**
 * Sizes as a radius in fractions of the image side. "medium" is the unmarked size: captions omit it
 * ("a red circle" = medium), questions about size answer it.
 */
export const SIZE_RADIUS = { small: 0.075, medium: 0.11, large: 0.15 } as const;
export type Size = keyof typeof SIZE_RADIUS;
export const SIZES = Object.keys(SIZE_RADIUS) as Size[];

/** Where an object's centre falls, by thirds of the image (row word + column word; "center" for the middle). */
export const ROW_WORDS = ['top', 'middle', 'bottom'] as const;
export const COL_WORDS = ['left', 'center', 'right'] as const;
export const POSITIONS = [
  'top left',
  'top',
  'top right',
  'left',
  'center',
  'right',
  'bottom left',
  'bottom',
  'bottom right',
] as const;
export type Position = (typeof POSITIONS)[number];

export function positionName(row: 0 | 1 | 2, col: 0 | 1 | 2): Position {
  return POSITIONS[row * 3 + col];
}

export function isCategory(w: string): w is Category {
  return Object.hasOwn(CATEGORY_INFO, w);
}
export function isColor(w: string): w is Color {
  return Object.hasOwn(COLOR_RGB, w);
}
export function isSize(w: string): w is Size {
  return Object.hasOwn(SIZE_RADIUS, w);
}

/** Plural form → category ("crosses" → "cross"). */
export const PLURAL_TO_CATEGORY: ReadonlyMap<string, Category> = new Map(
  CATEGORIES.map((c) => [CATEGORY_INFO[c].plural, c]),
);

/** POPE's article rule: "an" before a vowel-initial name (utils.py create_question). */
export function article(word: string): 'a' | 'an' {
  return 'aeiou'.includes(word[0]) ? 'an' : 'a';
}

export const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
