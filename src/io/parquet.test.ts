import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import type { Response } from '../schema/index.ts';
import { ALL_PARQUET_COLUMNS, collectEntries, fixturePreferences, fixtureSamples } from './fixtures.ts';
import { FORMATS } from './formats/index.ts';
import { MediaStore } from './media.ts';
import { parquetRowCount, readParquetRows, recordColumns, writeParquetRows } from './parquet.ts';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir('mmalign-pq-')));
afterEach(() => cleanup());

const all = collectEntries;
const COLS = ALL_PARQUET_COLUMNS;

describe('parquet rows', () => {
  it('round-trips every column type across several row groups', async () => {
    const f = path.join(dir, 'a.parquet');
    let pulled = 0;
    function* rows() {
      for (let k = 0; k < 25; k++) {
        pulled++;
        yield {
          s: `row ${k} é`,
          d: k / 4,
          i: k,
          b: k % 2 === 0,
          j: { nested: [k, 'x'], deep: { ok: true } },
          raw: new Uint8Array([k, 255, 0]),
          list: k % 5 === 0 ? null : [new Uint8Array([k]), new Uint8Array([1, 2])],
          img: { bytes: new Uint8Array([9, k]), path: `p${k}.png` },
        };
      }
    }
    expect(await writeParquetRows(f, rows(), COLS, { rowGroupSize: 10 })).toBe(25);
    expect(pulled).toBe(25);
    const meta = await parquetMetadataAsync(await asyncBufferFromFile(f));
    expect(meta.row_groups.map((g) => Number(g.num_rows))).toEqual([10, 10, 5]);
    expect(await parquetRowCount(f)).toBe(25);
    const got = await all(readParquetRows(f));
    expect(got).toHaveLength(25);
    const r7 = got[7];
    expect(r7).toMatchObject({ ok: true, line: 8 });
    if (!r7.ok) throw new Error('row 8');
    const v = r7.value as Record<string, unknown>;
    expect(v.s).toBe('row 7 é');
    expect(v.d).toBe(1.75);
    expect(v.i).toBe(7);
    expect(v.b).toBe(false);
    expect(v.j).toEqual({ nested: [7, 'x'], deep: { ok: true } });
    expect(v.raw).toEqual(new Uint8Array([7, 255, 0]));
    expect(v.list).toEqual([new Uint8Array([7]), new Uint8Array([1, 2])]);
    expect(v.img).toEqual({ bytes: new Uint8Array([9, 7]), path: 'p7.png' });
    const r5 = got[5];
    expect(r5.ok && (r5.value as Record<string, unknown>).list).toBe(null);
  });

  it('leaves no file behind when the rows fail mid-way', async () => {
    const f = path.join(dir, 'bad.parquet');
    async function* rows() {
      yield { s: 'a' };
      throw new Error('boom');
    }
    await expect(writeParquetRows(f, rows(), [{ name: 's', type: 'string' }])).rejects.toThrow('boom');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports a file that is not parquet as an issue', async () => {
    const f = path.join(dir, 'x.parquet');
    writeFileSync(f, 'not parquet');
    expect(await all(readParquetRows(f))).toMatchObject([{ ok: false, issue: { code: 'invalid_parquet', file: f } }]);
  });
});

describe('mmalign records as parquet', () => {
  it('has one column per schema field plus record_type and media bytes', () => {
    const names = recordColumns().map((c) => c.name);
    for (const n of [
      'record_type',
      'id',
      'kind',
      'prompt',
      'messages',
      'chosen',
      'ranks',
      'segments',
      'label',
      'media_bytes',
    ])
      expect(names).toContain(n);
    expect(recordColumns().find((c) => c.name === 'margin')?.type).toBe('double');
    expect(recordColumns().find((c) => c.name === 'label')?.type).toBe('boolean');
    expect(recordColumns().find((c) => c.name === 'prompt')?.type).toBe('json');
  });

  it('round-trips every record kind exactly, and restores embedded images into an empty directory', async () => {
    const src = path.join(dir, 'src');
    const store = new MediaStore(src);
    const response: Response = {
      id: 'r1',
      sampleId: 'l1',
      text: 'Red.',
      model: 'tiny',
      params: { temperature: 0.7, topP: 0.9, maxTokens: 16, seed: 3 },
      logprobs: [{ token: 'Red', logprob: -0.25 }],
      visual: 'corrupted',
      finishReason: 'stop',
      provenance: { source: 'gen', createdAt: '2026-01-01T00:00:00.000Z' },
    };
    const records = [...Object.values(await fixturePreferences(store)), ...(await fixtureSamples(store)), response];
    const out = path.join(dir, 'out', 'set.parquet');
    const s = await FORMATS.mmalign.write(records, out, { mediaRoot: src, embedMedia: true });
    expect(s.written).toBe(records.length);
    expect(s.dropped).toEqual([]);
    // Move only the parquet file somewhere else: its images must come back from the embedded bytes.
    const moved = path.join(dir, 'moved');
    const { mkdirSync, renameSync } = await import('node:fs');
    mkdirSync(moved);
    renameSync(out, path.join(moved, 'set.parquet'));
    rmSync(path.join(dir, 'out'), { recursive: true });
    const back = await FORMATS.mmalign.readAll(path.join(moved, 'set.parquet'));
    expect(back.issues).toEqual([]);
    expect(back.records).toEqual(records);
    const red = (records[0] as { media: { path: string }[] }).media[0].path;
    expect(existsSync(path.join(moved, red))).toBe(true);
  });
});
