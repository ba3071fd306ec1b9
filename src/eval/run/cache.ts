import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

/**
 * An append-only JSONL cache in the run directory: one line per finished request, written as soon as it
 * finishes, so a crashed run resumes without redoing requests. A torn last line (crash mid-write) is ignored.
 */
export class JsonlCache<T> {
  readonly file: string;
  readonly #map = new Map<string, T>();
  hits = 0;

  readonly #onPut: () => void;

  constructor(file: string, onPut: () => void = () => {}) {
    this.file = file;
    this.#onPut = onPut;
    if (existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          const r = JSON.parse(line) as { key: string; value: T };
          if (typeof r.key === 'string') this.#map.set(r.key, r.value);
        } catch {
          // torn line from an interrupted write: that request is simply redone
        }
      }
    }
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): T | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) this.hits++;
    return v;
  }

  put(key: string, value: T): void {
    this.#map.set(key, value);
    appendFileSync(this.file, `${JSON.stringify({ key, value })}\n`);
    this.#onPut();
  }
}

export function cacheKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}
