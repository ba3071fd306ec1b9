import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { tempDir } from '../../test/helpers/cli.ts';
import type { RecordValidationError } from '../util/errors.ts';
import { type JsonlEntry, JsonlWriter, readJsonArray, readJsonl, readJsonlRecords, writeJsonl } from './jsonl.ts';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir('mmalign-jsonl-')));
afterEach(() => cleanup());

async function all(it: AsyncIterable<JsonlEntry>): Promise<JsonlEntry[]> {
  const out: JsonlEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('readJsonl', () => {
  it('yields values with 1-based line numbers, skipping blank lines, tolerating BOM and CRLF', async () => {
    const f = path.join(dir, 'a.jsonl');
    writeFileSync(f, '\uFEFF{"a":1}\r\n\n  \n{"b":"é"}\n[3]');
    expect(await all(readJsonl(f))).toEqual([
      { ok: true, line: 1, value: { a: 1 } },
      { ok: true, line: 4, value: { b: 'é' } },
      { ok: true, line: 5, value: [3] },
    ]);
  });

  it('splits lines correctly across chunk boundaries, including inside multi-byte characters', async () => {
    const f = path.join(dir, 'b.jsonl');
    const rows = Array.from({ length: 500 }, (_, i) => ({ i, s: `ü€😀${'x'.repeat(i % 13)}` }));
    writeFileSync(f, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const got = await all(readJsonl(f, { chunkSize: 7 }));
    expect(got.map((e) => (e.ok ? e.value : e.issue))).toEqual(rows);
    expect(got[499].line).toBe(500);
  });

  it('reports an invalid middle line as invalid_json with file and line, and keeps reading', async () => {
    const f = path.join(dir, 'c.jsonl');
    writeFileSync(f, '{"a":1}\n{"a":\n{"a":3}\n');
    const got = await all(readJsonl(f));
    expect(got[0]).toEqual({ ok: true, line: 1, value: { a: 1 } });
    expect(got[1].ok).toBe(false);
    if (!got[1].ok) expect(got[1].issue).toMatchObject({ code: 'invalid_json', file: f, line: 2 });
    expect(got[2]).toEqual({ ok: true, line: 3, value: { a: 3 } });
  });

  it('reports a cut-off last line as truncated_line', async () => {
    const f = path.join(dir, 'd.jsonl');
    writeFileSync(f, '{"a":1}\n{"a":2,"b":"unfinis');
    const got = await all(readJsonl(f));
    expect(got).toHaveLength(2);
    expect(got[1]).toMatchObject({ ok: false, line: 2, issue: { code: 'truncated_line', line: 2, file: f } });
  });

  it('accepts a complete last line without a trailing newline', async () => {
    const f = path.join(dir, 'e.jsonl');
    writeFileSync(f, '{"a":1}\n{"a":2}');
    expect(await all(readJsonl(f))).toEqual([
      { ok: true, line: 1, value: { a: 1 } },
      { ok: true, line: 2, value: { a: 2 } },
    ]);
  });
});

describe('writers', () => {
  it('JsonlWriter appends and syncs', async () => {
    const f = path.join(dir, 'w.jsonl');
    const w = await JsonlWriter.open(f);
    await w.write({ a: 1 });
    await w.sync();
    expect(readFileSync(f, 'utf8')).toBe('{"a":1}\n');
    await w.close();
    const w2 = await JsonlWriter.open(f, { append: true });
    await w2.write({ a: 2 });
    await w2.close();
    expect(readFileSync(f, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
    expect(w2.count).toBe(1);
  });

  it('writes JSON arrays that parse back', async () => {
    const f = path.join(dir, 'x.json');
    expect(await writeJsonl(f, [{ a: 1 }, { b: [2] }], { array: true })).toBe(2);
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual([{ a: 1 }, { b: [2] }]);
    expect((await all(readJsonArray(f))).map((e) => e.ok && e.value)).toEqual([{ a: 1 }, { b: [2] }]);
    await writeJsonl(path.join(dir, 'empty.json'), [], { array: true });
    expect(JSON.parse(readFileSync(path.join(dir, 'empty.json'), 'utf8'))).toEqual([]);
  });

  it('leaves nothing (and keeps the old file) when the row source fails mid-way', async () => {
    const f = path.join(dir, 'out.jsonl');
    writeFileSync(f, '{"old":true}\n');
    async function* rows() {
      yield { a: 1 };
      throw new Error('source broke');
    }
    await expect(writeJsonl(f, rows())).rejects.toThrow('source broke');
    expect(readFileSync(f, 'utf8')).toBe('{"old":true}\n');
    expect(readdirSync(dir)).toEqual(['out.jsonl']);
    const g = path.join(dir, 'new.jsonl');
    await expect(writeJsonl(g, rows())).rejects.toThrow('source broke');
    expect(existsSync(g)).toBe(false);
  });

  it('streams 200k rows through write and read', async () => {
    const f = path.join(dir, 'big.jsonl');
    function* rows() {
      for (let i = 0; i < 200_000; i++) yield { i, t: 'row' };
    }
    expect(await writeJsonl(f, rows())).toBe(200_000);
    let n = 0;
    let sum = 0;
    for await (const e of readJsonl(f)) {
      if (!e.ok) throw new Error(e.issue.message);
      n++;
      sum += (e.value as { i: number }).i;
    }
    expect(n).toBe(200_000);
    expect(sum).toBe((199_999 * 200_000) / 2);
  });
});

describe('readJsonlRecords', () => {
  const t = tempDir('mmalign-records-');
  afterAll(() => t.cleanup());
  const Row = z.strictObject({ id: z.string(), n: z.number() });

  it('parses every line, and reports every bad line and field at once with file:line', async () => {
    const good = path.join(t.dir, 'good.jsonl');
    writeFileSync(good, '{"id":"a","n":1}\n{"id":"b","n":2}\n');
    expect(await readJsonlRecords(good, Row)).toEqual([
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
    ]);
    const bad = path.join(t.dir, 'bad.jsonl');
    writeFileSync(bad, '{"id":"a","n":"x"}\n{"id":\n{"id":"c","n":3,"extra":1}\n');
    const err = await readJsonlRecords(bad, Row).then(
      () => null,
      (e: unknown) => e as RecordValidationError,
    );
    expect(err?.issues.map((i) => [i.line, i.path])).toEqual([
      [1, 'n'],
      [2, '(line)'],
      [3, '(record)'],
    ]);
  });
});
