import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MmalignError } from '../util/errors.ts';
import { readTextFile } from './io.ts';

/**
 * The CHAIR synonym list (LisaAnne/Hallucination@6e4d33c4 data/synonyms.txt; identical in OPERA and lmms-eval):
 * one COCO category per line, `node, syn1, syn2, ...`. Two variants:
 * - `original`: parsed exactly as the references do (`line.strip().split(', ')`), quirks included: the double
 *   spaces in "scooter,  motor bike" and "cake,  cheesecake" give keys " motor bike" / " cheesecake" that never
 *   match, and the capitalised "iPhone" never matches lower-cased captions.
 * - `cleaned`: every synonym trimmed, inner whitespace collapsed and lower-cased (RLHF-V's loader strips too),
 *   so "motor bike", "cheesecake" and "iphone" match.
 */
export const SYNONYM_VARIANTS = {
  original: { description: 'parsed like the reference code, quirks included (numbers match OPERA / lmms-eval)' },
  cleaned: { description: 'trimmed, whitespace-collapsed, lower-cased synonyms (fixes the 3 dead entries)' },
} as const;
export type SynonymVariant = keyof typeof SYNONYM_VARIANTS;

export interface SynonymTable {
  /** surface form → node word (the line's first entry); later lines win, as in a Python dict */
  inverse: Map<string, string>;
  /** node words in file order */
  nodes: string[];
  /** all surface forms, duplicates included (the reference's `mscoco_objects`) */
  surfaceCount: number;
}

export function parseSynonyms(text: string, variant: SynonymVariant = 'original'): SynonymTable {
  const inverse = new Map<string, string>();
  const nodes: string[] = [];
  let surfaceCount = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let syns = line.trim().split(', ');
    if (variant === 'cleaned')
      syns = syns.map((s) => s.trim().replace(/\s+/g, ' ').toLowerCase()).filter((s) => s !== '');
    if (syns.length === 0) continue;
    nodes.push(syns[0]);
    surfaceCount += syns.length;
    for (const s of syns) inverse.set(s, syns[0]);
  }
  return { inverse, nodes, surfaceCount };
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** Where the reference benchmark files live: the repository's data/benchmarks (override with MMALIGN_BENCHDATA). */
export function benchdataDir(): string {
  return process.env.MMALIGN_BENCHDATA ?? path.resolve(here, '../../data/benchmarks');
}
export function defaultSynonymsPath(): string {
  return path.join(benchdataDir(), 'chair_synonyms.txt');
}

export function loadSynonyms(file: string = defaultSynonymsPath(), variant: SynonymVariant = 'original'): SynonymTable {
  const t = parseSynonyms(readTextFile(file), variant);
  if (t.nodes.length === 0)
    throw new MmalignError('MMALIGN_BAD_SYNONYMS', `${file}: no synonym lines`, {
      hint: 'expected lines like "dining table, table, desk"',
    });
  return t;
}
