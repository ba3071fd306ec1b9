import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Stage caching for recipes: a stage's directory is named by the hash of everything that determines its output
 * (its config, the keys of the stages it reads, the code version), and `result.json` is written last, atomically.
 * A rerun finds result.json and skips the stage; a crash leaves the directory without it, and the stage runs again
 * in the same directory, where resumable stages (training checkpoints, the construction ledger) pick up their work.
 */
/** Part of every stage key: bump the revision whenever a stage's output changes for the same config (revision 2: POPE
 * references name the object before yes/no; 3: SFT worlds train on `exist`, the eval asks POPE on in-distribution
 * scenes; 4: SFT sums its gradient over a fixed number of batch shards, whatever the number of workers), so that runs
 * made by an older version are not reused. */
export const CODE_VERSION = 'mmalign-0.1.0/4';

export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

export function stageKey(name: string, material: unknown): string {
  return createHash('sha256')
    .update(`${CODE_VERSION}\u0000${name}\u0000${stableStringify(material)}`)
    .digest('hex')
    .slice(0, 12);
}

export interface StageRecord<T> {
  name: string;
  key: string;
  dir: string;
  result: T;
  /** true when the result came from an earlier run */
  cached: boolean;
  seconds: number;
}

function stagePaths(root: string, name: string, material: unknown) {
  const key = stageKey(name, material);
  const dir = path.join(root, 'stages', `${name}-${key}`);
  return { key, dir, resultFile: path.join(dir, 'result.json') };
}

/** The stage's record when an earlier run finished it, without running anything; else undefined. */
export function readCachedStage<T>(root: string, name: string, material: unknown): StageRecord<T> | undefined {
  const { key, dir, resultFile } = stagePaths(root, name, material);
  if (!existsSync(resultFile)) return undefined;
  const saved = JSON.parse(readFileSync(resultFile, 'utf8')) as { result: T; seconds: number };
  return { name, key, dir, result: saved.result, cached: true, seconds: saved.seconds };
}

export async function runCachedStage<T>(
  root: string,
  name: string,
  material: unknown,
  run: (dir: string) => Promise<T>,
): Promise<StageRecord<T>> {
  const earlier = readCachedStage<T>(root, name, material);
  if (earlier) return earlier;
  const { key, dir, resultFile } = stagePaths(root, name, material);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'stage.json'), `${JSON.stringify({ name, key, material }, null, 2)}\n`);
  const t0 = performance.now();
  const result = await run(dir);
  const seconds = (performance.now() - t0) / 1000;
  const tmp = `${resultFile}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify({ result, seconds }, null, 2)}\n`);
  renameSync(tmp, resultFile);
  return { name, key, dir, result, cached: false, seconds };
}
