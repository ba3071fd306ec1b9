import { lookup } from '../../util/table.ts';
import { defineFormat } from './driver.ts';
import { llamafactory } from './llamafactory.ts';
import { llava } from './llava.ts';
import { mmalign } from './mmalign.ts';
import { rlaifv } from './rlaifv.ts';
import { swift } from './swift.ts';
import { trl } from './trl.ts';
import { vlfeedback } from './vlfeedback.ts';

/**
 * The dataset formats of the field, one adapter each (field names as in ../shared/docs/formats.md). CLI help, the
 * `--from` / `--to` choices and the "unknown format" error all come from this table.
 */
export const FORMATS = {
  mmalign: defineFormat('mmalign', mmalign),
  trl: defineFormat('trl', trl),
  llamafactory: defineFormat('llamafactory', llamafactory),
  swift: defineFormat('swift', swift),
  rlaifv: defineFormat('rlaifv', rlaifv),
  vlfeedback: defineFormat('vlfeedback', vlfeedback),
  llava: defineFormat('llava', llava),
} as const;
export type FormatName = keyof typeof FORMATS;
export const FORMAT_NAMES = Object.keys(FORMATS) as FormatName[];

/** The adapter for a name, or an UnknownNameError listing the known formats. */
export function getFormat(name: string): (typeof FORMATS)[FormatName] {
  return lookup(FORMATS, 'format', name);
}

export type { FormatAdapter, RecordInput, RowInput } from './driver.ts';
export { defineFormat, summaryLine } from './driver.ts';
export { asPair, type PairView, rubricTotal } from './pairs.ts';
export { countPlaceholders, flattenMessages, parsePlaceholders } from './placeholders.ts';
export * from './types.ts';
