import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { ALL_PARQUET_COLUMNS, collectEntries } from './fixtures.ts';
import { readParquetRows, writeParquetRows } from './parquet.ts';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir('mmalign-pq-damage-')));
afterEach(() => cleanup());

const all = collectEntries;
const COLS = ALL_PARQUET_COLUMNS;

describe('damaged parquet pages', () => {
  /**
   * Every byte of the data pages of a small file set to 0xc1 in turn (a thrift field header, a bit-packed run
   * header, a large varint byte): each read ends within its time budget with rows or one `invalid_parquet` issue.
   * Before the page-header check and the decode worker, some of these edits kept hyparquet 1.33 in a synchronous
   * loop for minutes.
   */
  it('every one-byte edit ends quickly with rows or one issue, never a hang or a throw', async () => {
    const f = path.join(dir, 'ok.parquet');
    const rows = [0, 1, 2, 3, 4].map((i) => ({
      s: i % 2 ? `text ${i}` : null,
      d: i / 3,
      i,
      b: i % 3 === 0,
      j: i % 2 ? null : { k: [i] },
      raw: null,
      list: i ? [new Uint8Array([i])] : null,
      img: null,
    }));
    await writeParquetRows(f, rows, COLS);
    const bytes = readFileSync(f);
    const footerStart = bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8);
    const previous = process.env.MMALIGN_PARQUET_DECODE_BUDGET_S;
    process.env.MMALIGN_PARQUET_DECODE_BUDGET_S = '1';
    const seen = { ok: 0, headers: 0, timeouts: 0, other: 0, slowestMs: 0 };
    try {
      const g = path.join(dir, 'edit.parquet');
      for (let at = 4; at < footerStart; at++) {
        const b = Buffer.from(bytes);
        b[at] = 0xc1;
        writeFileSync(g, b);
        const t0 = performance.now();
        const out = await all(readParquetRows(g));
        seen.slowestMs = Math.max(seen.slowestMs, performance.now() - t0);
        const bad = out.filter((e) => !e.ok);
        if (bad.length === 0) seen.ok++;
        else {
          expect(bad.length, `byte ${at}`).toBeLessThanOrEqual(rows.length);
          const m = bad[0].ok ? '' : bad[0].issue.message;
          if (/did not decode in 1 s/.test(m)) seen.timeouts++;
          else if (/: column \S+: (the |unreadable)/.test(m)) seen.headers++;
          else seen.other++;
        }
      }
    } finally {
      if (previous === undefined) delete process.env.MMALIGN_PARQUET_DECODE_BUDGET_S;
      else process.env.MMALIGN_PARQUET_DECODE_BUDGET_S = previous;
    }
    process.stdout.write(`parquet one-byte edits: ${JSON.stringify(seen)}\n`);
    expect(seen.headers).toBeGreaterThan(0);
    expect(seen.timeouts).toBeGreaterThan(0);
    expect(seen.slowestMs).toBeLessThan(5_000);
  }, 120_000);
});
