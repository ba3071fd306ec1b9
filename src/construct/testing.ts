import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Sample } from '../schema/index.ts';

/**
 * Shared by the construct tests and bench: a folder of N text+image Samples (one tiny PNG) as a JSONL source, and
 * readers that check an output file's invariants (every line whole JSON, no id twice).
 */
export const TINY_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

export function writeSampleSet(dir: string, n: number, opts: { image?: boolean } = {}): string {
  mkdirSync(path.join(dir, 'img'), { recursive: true });
  writeFileSync(path.join(dir, 'img/p.png'), TINY_PNG);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const s: Sample = {
      id: `q${String(i).padStart(5, '0')}`,
      messages: [
        {
          role: 'user',
          content:
            opts.image === false
              ? `question ${i}`
              : [
                  { type: 'image', media: 0 },
                  { type: 'text', text: `question ${i}` },
                ],
        },
      ],
      media: opts.image === false ? [] : [{ kind: 'image', path: 'img/p.png' }],
      provenance: { source: 'testset', createdAt: '2026-01-01T00:00:00.000Z' },
    };
    lines.push(JSON.stringify(s));
  }
  const file = path.join(dir, 'samples.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

export interface OutputCheck {
  ids: string[];
  byId: Map<string, { text?: string }>;
  duplicates: string[];
}

/** Parse a stage output strictly: a torn or invalid line throws. */
export function readOutput(file: string): OutputCheck {
  const text = readFileSync(file, 'utf8');
  if (text.length && !text.endsWith('\n')) throw new Error(`${file} ends without a newline`);
  const ids: string[] = [];
  const byId = new Map<string, { text?: string }>();
  const duplicates: string[] = [];
  text
    .split('\n')
    .filter(Boolean)
    .forEach((l, i) => {
      let v: { id: string; text?: string };
      try {
        v = JSON.parse(l) as { id: string; text?: string };
      } catch {
        throw new Error(`${file}:${i + 1}: not JSON: ${l.slice(0, 80)}`);
      }
      if (byId.has(v.id)) duplicates.push(v.id);
      ids.push(v.id);
      byId.set(v.id, v);
    });
  return { ids, byId, duplicates };
}
