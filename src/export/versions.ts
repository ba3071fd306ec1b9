import { MmalignError } from '../util/errors.ts';

/**
 * One supported release line of an engine: what `--engine-version` selects. Each engine keeps its lines in one table
 * (newest first) in src/export/engines/<engine>.ts; the engine-specific fields there (flag style, tuner flag) drive
 * its writer, and `facts` names the data file the export is checked against.
 */
export interface EngineVersionBase {
  /** The `--engine-version` value. */
  id: string;
  /** Releases the entry is valid for: `min` ≤ release < `below`. */
  range: { min: string; below: string };
  /** The release whose argument definitions the entry was written from. */
  release: string;
  /** The install line printed in the README and launch script. */
  install: string;
  /** src/export/engines/facts/<file>: the options and values this line accepts. */
  facts: string;
  /** The engine files (and release) the entry's option names come from. */
  cites: readonly { file: string; release: string }[];
}

/** `1.2.3` / `v1.2` / `4` as numbers; undefined when it is not a dotted version. */
function parseVersion(v: string): number[] | undefined {
  const m = /^v?(\d+(?:\.\d+)*)$/.exec(v.trim());
  return m ? m[1].split('.').map(Number) : undefined;
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function rangeText(r: EngineVersionBase['range']): string {
  return `>= ${r.min}, < ${r.below}`;
}

/**
 * The table entry for `requested`: undefined → the newest line; an entry id (e.g. `0.11`); or a release number
 * (e.g. `0.10.2`) inside an entry's range. Anything else is refused with the lines that exist.
 */
export function pickVersion<V extends EngineVersionBase>(engine: string, table: readonly V[], requested?: string): V {
  if (requested === undefined) return table[0];
  const exact = table.find((v) => v.id === requested);
  if (exact) return exact;
  const want = parseVersion(requested);
  const inRange =
    want &&
    table.find((v) => {
      const min = parseVersion(v.range.min) as number[];
      const below = parseVersion(v.range.below) as number[];
      return compare(want, min) >= 0 && compare(want, below) < 0;
    });
  if (inRange) return inRange;
  const known = table.map((v) => `${v.id} (${rangeText(v.range)})`).join(', ');
  throw new MmalignError('MMALIGN_EXPORT_ENGINE_VERSION', `no supported ${engine} line covers "${requested}"`, {
    hint: `--engine-version takes one of: ${known}; default: ${table[0].id}`,
  });
}
