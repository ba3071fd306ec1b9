import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
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
  let rowStart = 0;
  for (const rg of metadata.row_groups) {
    const rowEnd = rowStart + Number(rg.num_rows);
    // a damaged file can pass the footer check and fail in a page: one issue, not a crash
    let rows: Awaited<ReturnType<typeof parquetReadObjects>>;
    try {
      rows = await parquetReadObjects({ file: buf, metadata, rowStart, rowEnd, utf8: false });
    } catch (e) {
      yield unreadable(e, rowStart + 1);
      return;
    }
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
        yield { ok: false, line, issue: { code: 'invalid_json', message: 'invalid JSON text', file, line, path: bad } };
      else yield { ok: true, line, value };
    }
    rowStart = rowEnd;
  }
}

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
