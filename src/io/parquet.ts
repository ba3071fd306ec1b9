import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { type AsyncBuffer, asyncBufferFromFile, type PageHeader, parquetMetadataAsync, type RowGroup } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { fileWriter, parquetWriteRows, type SchemaElement } from 'hyparquet-writer';
import type { z } from 'zod';
import { type MediaRef, RECORD_SCHEMAS, type RecordType } from '../schema/index.ts';
import { MmalignError } from '../util/errors.ts';
import { atomicOutput } from './atomic.ts';
import type { JsonlEntry } from './jsonl.ts';

/**
 * Parquet through hyparquet / hyparquet-writer (pure JS). Rows are streamed: the writer pulls one row group at a time
 * from an (async) iterable and the reader decodes one row group at a time, so neither holds a whole 100k-row set.
 *
 * Column layout (documented in src/io/README.md): scalar fields are typed columns (`string` → UTF8, `double`, `int` → INT32,
 * `boolean`); nested fields (`json`) are UTF8 JSON text, listed in the key-value metadata `mmalign.json_columns` so
 * the reader parses them back; `bytes` is BYTE_ARRAY, `bytes_list` a LIST<BYTE_ARRAY>, and `image` the Hugging Face
 * `Image` feature layout struct<bytes: binary, path: string> that RLAIF-V's parquet uses.
 */
export const PARQUET_COLUMN_TYPES = [
  'string',
  'double',
  'int',
  'boolean',
  'json',
  'bytes',
  'bytes_list',
  'image',
] as const;
export type ParquetColumnType = (typeof PARQUET_COLUMN_TYPES)[number];
export interface ParquetColumn {
  name: string;
  type: ParquetColumnType;
}

const JSON_COLUMNS_KEY = 'mmalign.json_columns';

function schemaFor(columns: readonly ParquetColumn[]): SchemaElement[] {
  const s: SchemaElement[] = [{ name: 'root', num_children: columns.length }];
  for (const c of columns) {
    const opt = { repetition_type: 'OPTIONAL' } as const;
    switch (c.type) {
      case 'string':
      case 'json':
        s.push({ name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', ...opt });
        break;
      case 'double':
        s.push({ name: c.name, type: 'DOUBLE', ...opt });
        break;
      case 'int':
        s.push({ name: c.name, type: 'INT32', ...opt });
        break;
      case 'boolean':
        s.push({ name: c.name, type: 'BOOLEAN', ...opt });
        break;
      case 'bytes':
        s.push({ name: c.name, type: 'BYTE_ARRAY', ...opt });
        break;
      case 'bytes_list':
        s.push(
          { name: c.name, converted_type: 'LIST', num_children: 1, ...opt },
          { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
          { name: 'element', type: 'BYTE_ARRAY', ...opt },
        );
        break;
      case 'image':
        s.push(
          { name: c.name, num_children: 2, ...opt },
          { name: 'bytes', type: 'BYTE_ARRAY', ...opt },
          { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', ...opt },
        );
        break;
    }
  }
  return s;
}

function encodeValue(type: ParquetColumnType, v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (type === 'json') return JSON.stringify(v);
  return v;
}

export interface WriteParquetOptions {
  /** Rows per row group (default 10,000): bounds the writer's memory. */
  rowGroupSize?: number;
  kvMetadata?: { key: string; value: string }[];
}

/**
 * Write plain rows (`json` columns are stringified here) to `file` through a temp file + rename. Returns the row count.
 */
export async function writeParquetRows(
  file: string,
  rows: Iterable<Record<string, unknown>> | AsyncIterable<Record<string, unknown>>,
  columns: readonly ParquetColumn[],
  opts: WriteParquetOptions = {},
): Promise<number> {
  const jsonCols = columns.filter((c) => c.type === 'json').map((c) => c.name);
  return atomicOutput(file, async (tmp) => {
    let n = 0;
    async function* encoded() {
      for await (const r of rows) {
        const out: Record<string, unknown> = {};
        for (const c of columns) out[c.name] = encodeValue(c.type, r[c.name]);
        n++;
        yield out;
      }
    }
    const writer = fileWriter(tmp);
    await parquetWriteRows({
      writer,
      rows: encoded(),
      // Min/max statistics of JSON text help no reader prune anything and cost a string compare per value.
      columns: columns.map((c) => (c.type === 'json' ? { name: c.name, statistics: false } : { name: c.name })),
      schema: schemaFor(columns),
      rowGroupSize: opts.rowGroupSize ?? 10_000,
      kvMetadata: [{ key: JSON_COLUMNS_KEY, value: JSON.stringify(jsonCols) }, ...(opts.kvMetadata ?? [])],
      createdBy: 'mmalign',
    });
    await writer.finish();
    return n;
  });
}

/**
 * Stream a parquet file's rows, one row group decoded at a time. `line` is the 1-based row number. Binary columns come
 * back as Uint8Array (`utf8: false`), `json` columns written by mmalign are parsed back.
 */
export async function* readParquetRows(file: string): AsyncGenerator<JsonlEntry> {
  let buf: Awaited<ReturnType<typeof asyncBufferFromFile>>;
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    buf = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buf);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    yield {
      ok: false,
      line: 0,
      issue: { code: 'invalid_parquet', message: `not a readable parquet file: ${reason}`, file, path: '(file)' },
    };
    return;
  }
  const unreadable = (reason: unknown, line: number): JsonlEntry => ({
    ok: false,
    line,
    issue: {
      code: 'invalid_parquet',
      message: `not a readable parquet file: ${reason instanceof Error ? reason.message : String(reason)}`,
      file,
      path: '(file)',
    },
  });
  const kv = metadata.key_value_metadata?.find((k) => k.key === JSON_COLUMNS_KEY)?.value;
  let jsonCols: Set<string>;
  try {
    jsonCols = new Set<string>(kv ? JSON.parse(kv) : []);
  } catch (e) {
    yield unreadable(e, 0);
    return;
  }
  const groups = metadata.row_groups;
  let rowsBefore = 0;
  const starts = groups.map((g) => {
    const start = rowsBefore;
    rowsBefore += Number(g.num_rows);
    return start;
  });
  const decoder = new RowGroupDecoder(file);
  // Row group k + 1 decodes on the worker while this thread hands out the rows of k. A damaged file can pass the
  // footer check and fail in a page: one issue (at the group's first row), not a crash and not a hang.
  const ask = async (k: number): Promise<Requested> => {
    const rg = groups[k] as RowGroup;
    try {
      const damaged = await checkPageHeaders(buf, rg);
      if (damaged) return { error: new Error(damaged) };
    } catch (e) {
      return { error: e instanceof Error ? e : new Error(String(e)) };
    }
    return { pending: decoder.request(starts[k] as number, (starts[k] as number) + Number(rg.num_rows)) };
  };
  try {
    let next = groups.length ? await ask(0) : undefined;
    for (let k = 0; k < groups.length; k++) {
      const rowStart = starts[k] as number;
      let rows: Record<string, unknown>[];
      try {
        const got = next as Requested;
        if ('error' in got) throw got.error;
        rows = await decoder.wait(got.pending, decodeBudgetMs(groups[k] as RowGroup));
      } catch (e) {
        yield unreadable(e, rowStart + 1);
        return;
      }
      next = k + 1 < groups.length ? await ask(k + 1) : undefined;
      for (const [i, row] of rows.entries()) {
        const line = rowStart + i + 1;
        const value = row as Record<string, unknown>;
        let bad: string | undefined;
        for (const k of jsonCols) {
          const v = value[k];
          if (typeof v !== 'string') continue;
          try {
            value[k] = JSON.parse(v);
          } catch {
            bad = k;
          }
        }
        if (bad)
          yield {
            ok: false,
            line,
            issue: { code: 'invalid_json', message: 'invalid JSON text', file, line, path: bad },
          };
        else yield { ok: true, line, value };
      }
    }
  } finally {
    await decoder.close();
  }
}

/**
 * How long one row group may take to decode before it is declared damaged: 10 s, plus 1 s per MB of decoded data
 * (hyparquet decodes well over 50 MB/s here, so a sound file never comes near it). `MMALIGN_PARQUET_DECODE_BUDGET_S`
 * replaces the 10 s (tests use less).
 */
function decodeBudgetMs(rg: RowGroup): number {
  const base = Number(process.env.MMALIGN_PARQUET_DECODE_BUDGET_S ?? 10);
  return (Number.isFinite(base) && base > 0 ? base : 10) * 1000 + Number(rg.total_byte_size) / 1000;
}

type Requested = { error: Error } | { pending: Promise<Record<string, unknown>[]> };

/**
 * Row groups decoded on one worker thread, in the order asked; `wait` gives each a time budget, and a group that
 * overruns it has the worker terminated (it is stuck in a synchronous loop) and every request still open rejected.
 */
class RowGroupDecoder {
  #worker: Worker | undefined;
  #id = 0;
  readonly #open = new Map<
    number,
    { resolve: (rows: Record<string, unknown>[]) => void; reject: (e: Error) => void }
  >();
  constructor(readonly file: string) {}

  request(rowStart: number, rowEnd: number): Promise<Record<string, unknown>[]> {
    const worker = this.#started();
    const id = this.#id++;
    const result = new Promise<Record<string, unknown>[]>((resolve, reject) => this.#open.set(id, { resolve, reject }));
    // a rejection is read by `wait`; until then it must not count as unhandled
    result.catch(() => {});
    worker.postMessage({ id, file: path.resolve(this.file), rowStart, rowEnd });
    return result;
  }

  async wait(result: Promise<Record<string, unknown>[]>, budgetMs: number): Promise<Record<string, unknown>[]> {
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`a row group did not decode in ${Math.round(budgetMs / 1000)} s (damaged pages?)`)),
        budgetMs,
      );
    });
    try {
      return await Promise.race([result, overrun]);
    } catch (e) {
      await this.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  #started(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./parquet-decode-worker.mjs', import.meta.url));
    worker.on(
      'message',
      (m: { id: number } & ({ ok: true; rows: Record<string, unknown>[] } | { ok: false; message: string })) => {
        const waiter = this.#open.get(m.id);
        this.#open.delete(m.id);
        if (m.ok) waiter?.resolve(m.rows);
        else waiter?.reject(new Error(m.message));
      },
    );
    worker.on('error', (e) => this.#failAll(e));
    this.#worker = worker;
    return worker;
  }

  #failAll(e: Error): void {
    for (const w of this.#open.values()) w.reject(e);
    this.#open.clear();
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    this.#failAll(new Error('the decoder was closed'));
    await w?.terminate();
  }
}

/**
 * Walk the page headers of every column chunk of a row group and check them against the footer before hyparquet
 * decodes anything: a damaged header can claim billions of values or a page bigger than its chunk, and hyparquet then
 * loops synchronously for minutes filling them (found by the fuzz test on hyparquet 1.33). Returns what is wrong, or
 * undefined when every page fits its chunk and the pages' value counts add up to the chunk's.
 */
async function checkPageHeaders(buf: AsyncBuffer, rg: RowGroup): Promise<string | undefined> {
  for (const chunk of rg.columns) {
    const meta = chunk.meta_data;
    if (!meta) continue;
    const column = meta.path_in_schema.join('.');
    const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
    const end = start + Number(meta.total_compressed_size);
    if (!isCount(start) || !isCount(end) || end > buf.byteLength)
      return `column ${column}: its pages lie outside the file`;
    const view = new DataView(await buf.slice(start, end));
    const reader = { view, offset: 0 };
    const chunkValues = Number(meta.num_values);
    const chunkBytes = Number(meta.total_uncompressed_size);
    let values = 0;
    while (values < chunkValues) {
      const at = start + reader.offset;
      let header: PageHeader;
      try {
        header = parquetHeader(reader);
      } catch {
        return `column ${column}: unreadable page header at byte ${at}`;
      }
      const where = `column ${column}: the ${header.type?.toLowerCase().replace(/_/g, ' ') ?? 'page'} at byte ${at}`;
      if (
        !isCount(header.compressed_page_size) ||
        !isCount(header.uncompressed_page_size) ||
        reader.offset + header.compressed_page_size > view.byteLength ||
        header.uncompressed_page_size > chunkBytes
      )
        return `${where} does not fit its column chunk`;
      let pageValues = 0;
      if (header.type === 'DATA_PAGE') {
        const h = header.data_page_header;
        if (!h || !isCount(h.num_values)) return `${where} has no value count`;
        pageValues = h.num_values;
      } else if (header.type === 'DATA_PAGE_V2') {
        const h = header.data_page_header_v2;
        const levels = (h?.definition_levels_byte_length ?? 0) + (h?.repetition_levels_byte_length ?? 0);
        if (
          !h ||
          ![
            h.num_values,
            h.num_nulls,
            h.num_rows,
            h.definition_levels_byte_length ?? 0,
            h.repetition_levels_byte_length ?? 0,
          ].every(isCount) ||
          h.num_nulls > h.num_values ||
          h.num_rows > Number(rg.num_rows) ||
          levels > header.compressed_page_size ||
          levels > header.uncompressed_page_size
        )
          return `${where} has inconsistent counts or level lengths`;
        pageValues = h.num_values;
      } else if (header.type === 'DICTIONARY_PAGE') {
        const n = header.dictionary_page_header?.num_values;
        if (!isCount(n) || n > header.uncompressed_page_size) return `${where} has an impossible value count`;
      } else if (header.type !== 'INDEX_PAGE') return `${where} has an unknown page type`;
      if (values + pageValues > chunkValues)
        return `${where} claims ${pageValues} values, more than the ${chunkValues - values} left in its column chunk`;
      values += pageValues;
      reader.offset += header.compressed_page_size;
    }
  }
  return undefined;
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** Rows of a data file for progress totals: parquet footer count, JSONL line count; undefined for JSON arrays. */
export async function countRows(file: string): Promise<number | undefined> {
  if (file.endsWith('.parquet')) return parquetRowCount(file).catch(() => undefined);
  if (file.endsWith('.json')) return undefined;
  const { countJsonlLines } = await import('./jsonl.ts');
  return countJsonlLines(file);
}

/** Row count from the footer, without reading any data page. */
export async function parquetRowCount(file: string): Promise<number> {
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(file));
  return Number(metadata.num_rows);
}

// ---- mmalign records as parquet rows ------------------------------------------------------------------------------

type ZodAny = z.ZodType;
function scalarType(s: ZodAny): ParquetColumnType {
  let t = s as unknown as { def: { type: string; innerType?: ZodAny; values?: unknown[] } };
  while (t.def.type === 'optional' || t.def.type === 'default') t = t.def.innerType as unknown as typeof t;
  switch (t.def.type) {
    case 'string':
    case 'enum':
    case 'literal':
      return 'string';
    case 'number':
      return 'double';
    case 'boolean':
      return 'boolean';
    default:
      return 'json';
  }
}

function shapesOf(type: RecordType): Record<string, ZodAny>[] {
  const s = RECORD_SCHEMAS[type] as unknown as {
    shape?: Record<string, ZodAny>;
    options?: { shape: Record<string, ZodAny> }[];
  };
  return s.options ? s.options.map((o) => o.shape) : [s.shape ?? {}];
}

/**
 * One wide column set for every mmalign record family: a `record_type` column, then the union of the fields of
 * Sample, Response and every Preference kind (a field absent from a record is null), then the embedded media bytes.
 */
export function recordColumns(): ParquetColumn[] {
  const cols = new Map<string, ParquetColumnType>();
  for (const type of Object.keys(RECORD_SCHEMAS) as RecordType[]) {
    for (const shape of shapesOf(type)) {
      for (const [k, v] of Object.entries(shape)) {
        const t = scalarType(v);
        const prev = cols.get(k);
        cols.set(k, prev && prev !== t ? 'json' : t);
      }
    }
  }
  return [
    { name: 'record_type', type: 'string' },
    ...[...cols].map(([name, type]) => ({ name, type })),
    { name: 'media_bytes', type: 'bytes_list' },
    { name: 'rejected_media_bytes', type: 'bytes_list' },
  ];
}

export const MEDIA_BYTE_COLUMNS = { media: 'media_bytes', rejectedMedia: 'rejected_media_bytes' } as const;

/** The media refs a record holds in `media` / `rejectedMedia` (video frames are not embedded). */
export function refsOf(record: Record<string, unknown>, key: keyof typeof MEDIA_BYTE_COLUMNS): MediaRef[] {
  const v = record[key];
  return Array.isArray(v) ? (v as MediaRef[]) : [];
}

export function assertParquetName(file: string): void {
  if (!file.endsWith('.parquet'))
    throw new MmalignError('MMALIGN_PARQUET_NAME', `${file}: parquet outputs must end in .parquet`);
}
