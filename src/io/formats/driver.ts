import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  detectRecordType,
  type MediaRef,
  nowIso,
  type Preference,
  type Provenance,
  preferenceIssues,
  RECORD_SCHEMAS,
  type RecordType,
  zodIssues,
} from '../../schema/index.ts';
import { MmalignError, type ValidationIssue } from '../../util/errors.ts';
import { atomicOutput, atomicWriteFile } from '../atomic.ts';
import { type JsonlEntry, JsonlWriter, readJsonArray, readJsonl } from '../jsonl.ts';
import { detectImage, IMAGE_FORMATS, MediaStore, mediaPath, resolveMedia, sha256Hex } from '../media.ts';
import { readParquetRows, writeParquetRows } from '../parquet.ts';
import {
  type AnyRecord,
  type DropCount,
  type FormatSpec,
  type FromRowContext,
  type Holds,
  type ReadItem,
  type ReadOptions,
  type RecordOf,
  type Row,
  RowError,
  type ToRowContext,
  type WriteOptions,
  type WriteSummary,
} from './types.ts';

type ParquetSpec = Pick<FormatSpec, 'parquetColumns'>;

export type RecordInput<H extends Holds> = Iterable<RecordOf<H>> | AsyncIterable<RecordOf<H>>;
export type RowInput = string | Iterable<unknown> | AsyncIterable<unknown>;

/** A format adapter: the spec plus streaming `read` / `write` built on it. */
export interface FormatAdapter<H extends Holds = Holds> extends FormatSpec<H>, ParquetSpec {
  readonly name: string;
  /** Stream records (or issues) from a file (.jsonl, .json array, .parquet) or from rows already in memory. */
  read(input: RowInput, opts?: ReadOptions): AsyncGenerator<ReadItem<RecordOf<H>>>;
  /** Everything at once: fine for tests and small sets; use `read` for big ones. */
  readAll(input: RowInput, opts?: ReadOptions): Promise<{ records: RecordOf<H>[]; issues: ValidationIssue[] }>;
  /** Write records to `out` (temp + rename), copying media beside it; reports what could not be held. */
  write(records: RecordInput<H>, out: string, opts?: WriteOptions): Promise<WriteSummary>;
}

export function defineFormat<H extends Holds>(name: string, spec: FormatSpec<H> & ParquetSpec): FormatAdapter<H> {
  return {
    ...spec,
    name,
    read: (input, opts = {}) => readRecords(name, spec, input, opts),
    async readAll(input, opts = {}) {
      const records: RecordOf<H>[] = [];
      const issues: ValidationIssue[] = [];
      for await (const it of readRecords(name, spec, input, opts)) {
        if (it.ok) records.push(it.record);
        else issues.push(it.issue);
      }
      return { records, issues };
    },
    write: (records, out, opts = {}) => writeRecords(name, spec, records, out, opts),
  };
}

type Container = '.jsonl' | '.json' | '.parquet';
function containerOf(file: string, fallback: Container): Container {
  const ext = path.extname(file).toLowerCase();
  return ext === '.jsonl' || ext === '.json' || ext === '.parquet' ? ext : fallback;
}

function entriesOf(file: string): AsyncGenerator<JsonlEntry> {
  const c = containerOf(file, '.jsonl');
  return c === '.parquet' ? readParquetRows(file) : c === '.json' ? readJsonArray(file) : readJsonl(file);
}

async function* rowsOf(input: Iterable<unknown> | AsyncIterable<unknown>): AsyncGenerator<JsonlEntry> {
  let line = 0;
  for await (const value of input) yield { ok: true, line: ++line, value };
}

async function* readRecords<H extends Holds>(
  name: string,
  spec: FormatSpec<H>,
  input: RowInput,
  opts: ReadOptions,
): AsyncGenerator<ReadItem<RecordOf<H>>> {
  const isFile = typeof input === 'string';
  if (isFile && !existsSync(input))
    throw new MmalignError('MMALIGN_NO_INPUT', `${input}: no such file`, { hint: 'check the path' });
  const file = isFile ? input : (opts.sourceName ?? `<${name} rows>`);
  const root = path.resolve(opts.mediaRoot ?? (isFile ? path.dirname(input) : '.'));
  const createdAt = opts.provenance?.createdAt ?? (isFile ? statSync(input).mtime.toISOString() : nowIso());
  const hash = opts.hashMedia ?? true;
  const cache = new Map<string, MediaRef>();
  let store: MediaStore | undefined;
  const source = isFile ? path.basename(input) : file;

  for await (const e of isFile ? entriesOf(input) : rowsOf(input)) {
    if (!e.ok) {
      yield { ok: false, line: e.line, issue: e.issue };
      continue;
    }
    const line = e.line;
    const ctx: FromRowContext = {
      format: name,
      line,
      async media(p, field, kind = 'image') {
        if (typeof p !== 'string' || p === '')
          throw new RowError(field, `expected a path to the ${kind}, got ${JSON.stringify(p)}`);
        if (!hash) return { kind, path: p } as MediaRef;
        const abs = resolveMedia(p, root);
        const hit = cache.get(abs);
        if (hit) return { ...hit, path: p } as MediaRef;
        let bytes: Buffer;
        try {
          bytes = await readFile(abs);
        } catch {
          throw new RowError(field, `missing ${kind} file ${p} (looked at ${abs})`, 'media_missing');
        }
        const sha256 = sha256Hex(bytes);
        let ref: MediaRef;
        if (kind === 'image') {
          const info = detectImage(bytes);
          if (!info) throw new RowError(field, `${p} is not a readable png/jpeg/webp/gif image`, 'media_corrupt');
          ref = { kind, path: p, sha256, width: info.width, height: info.height };
        } else ref = { kind, path: p, sha256 };
        if (cache.size > 10_000) cache.clear();
        cache.set(abs, ref);
        return ref;
      },
      async imageBytes(bytes, field) {
        store ??= new MediaStore(root);
        try {
          return await store.put(bytes);
        } catch (err) {
          throw new RowError(field, err instanceof Error ? err.message : String(err), 'media_corrupt');
        }
      },
      async restore(ref, bytes, field) {
        const abs = resolveMedia(ref, root);
        const sha = sha256Hex(bytes);
        if (ref.sha256 && ref.sha256 !== sha)
          throw new RowError(
            `${field}.sha256`,
            `embedded bytes have sha256 ${sha}, not the record's ${ref.sha256}`,
            'media_sha256',
          );
        if (existsSync(abs) && sha256Hex(await readFile(abs)) === sha) return;
        await mkdir(path.dirname(abs), { recursive: true });
        await atomicWriteFile(abs, bytes);
      },
      provenance(extra = {}) {
        const p: Provenance = {
          source: `${name}:${source}`,
          createdAt,
          ...(spec.holds === 'sample' ? {} : { annotator: { kind: 'human', id: 'unknown' } }),
          ...extra,
          ...opts.provenance,
        };
        if (spec.holds !== 'sample' && !opts.provenance?.annotator && !extra.annotator)
          p.extra = { ...p.extra, annotatorUnknown: true };
        return p;
      },
      fallbackId: () => `${name}-${line}`,
    };
    let raw: AnyRecord;
    try {
      if (typeof e.value !== 'object' || e.value === null || Array.isArray(e.value))
        throw new RowError(
          '(row)',
          `expected a JSON object, got ${Array.isArray(e.value) ? 'an array' : typeof e.value}`,
        );
      raw = await spec.fromRow(e.value, ctx);
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      yield { ok: false, line, issue: { code: err.code, message: err.message, file, line, path: err.path } };
      continue;
    }
    const type: RecordType = spec.holds === 'any' ? (detectRecordType(raw) ?? 'sample') : (spec.holds as RecordType);
    const parsed = RECORD_SCHEMAS[type].safeParse(raw);
    if (!parsed.success) {
      for (const issue of zodIssues(parsed.error, { file, line })) yield { ok: false, line, issue };
      continue;
    }
    if (type === 'preference') {
      const more = preferenceIssues(parsed.data as Preference);
      if (more.length) {
        for (const i of more) yield { ok: false, line, issue: { ...i, file, line } };
        continue;
      }
    }
    yield { ok: true, line, record: parsed.data as RecordOf<H> };
  }
}

async function writeRecords<H extends Holds>(
  name: string,
  spec: FormatSpec<H> & ParquetSpec,
  records: RecordInput<H>,
  out: string,
  opts: WriteOptions,
): Promise<WriteSummary> {
  const container = containerOf(out, spec.defaultExt);
  if (!spec.writes.includes(container))
    throw new MmalignError(
      'MMALIGN_FORMAT_CONTAINER',
      `${name} cannot be written as ${container} (${out}); it writes ${spec.writes.join(', ')}`,
    );
  const outDir = path.dirname(path.resolve(out));
  const mediaRoot = path.resolve(opts.mediaRoot ?? '.');
  const mode = opts.media ?? 'copy';
  const store = new MediaStore(outDir);
  const placed = new Map<string, string>();
  const placedFiles = new Set<string>();
  const drops = new Map<string, DropCount>();
  const drop = (reason: string, scope: DropCount['scope'], example?: string) => {
    const key = `${scope}\0${reason}`;
    const d = drops.get(key) ?? { reason, count: 0, scope, ...(example ? { example } : {}) };
    d.count++;
    drops.set(key, d);
  };
  const summary: WriteSummary = { format: name, out, written: 0, dropped: [], files: [out], mediaFiles: 0 };

  // Datasets share images across many records (one image, many questions): keep recently read bytes, up to 64 MB.
  const bytesCache = new Map<string, Buffer>();
  let cachedBytes = 0;
  const readMedia = async (ref: MediaRef, field: string): Promise<{ abs: string; bytes: Buffer }> => {
    if (ref.path === undefined)
      throw new RowError(field, 'media ref without a path (frames-only video)', 'media_no_path');
    const abs = resolveMedia(ref, mediaRoot);
    const hit = bytesCache.get(abs);
    if (hit) return { abs, bytes: hit };
    let bytes: Buffer;
    try {
      bytes = await readFile(abs);
    } catch {
      throw new RowError(field, `missing ${ref.kind} file ${ref.path} (looked at ${abs})`, 'media_missing');
    }
    if (cachedBytes + bytes.length > 64 << 20) {
      bytesCache.clear();
      cachedBytes = 0;
    }
    bytesCache.set(abs, bytes);
    cachedBytes += bytes.length;
    return { abs, bytes };
  };

  let index = 0;
  async function* rows(): AsyncGenerator<Row> {
    for await (const record of records) {
      const i = index++;
      const type = detectRecordType(record);
      if (spec.holds !== 'any' && type !== spec.holds) {
        drop(`${type ?? 'unrecognised'} record (${name} holds ${spec.holds}s)`, 'record');
        continue;
      }
      if (opts.kinds && 'kind' in record && !opts.kinds.includes(record.kind)) {
        drop(`${record.kind} (not among the selected kinds ${opts.kinds.join(', ')})`, 'record');
        continue;
      }
      const ctx: ToRowContext = {
        format: name,
        options: opts,
        container,
        index: i,
        async media(ref, field) {
          if (ref.path === undefined) throw new RowError(field, 'media ref without a path', 'media_no_path');
          const absIn = resolveMedia(ref, mediaRoot);
          // Keyed by the claimed sha too, so a second record claiming other content for the same file is still checked.
          const key = `${absIn}\0${ref.sha256 ?? ''}`;
          const cached = placed.get(key);
          if (cached !== undefined) return cached;
          let rel: string;
          if (mode === 'none') {
            if (!existsSync(absIn)) throw new RowError(field, `missing ${ref.kind} file ${ref.path}`, 'media_missing');
            rel = path.relative(outDir, absIn).split(path.sep).join('/');
          } else {
            const { bytes } = await readMedia(ref, field);
            const sha = sha256Hex(bytes);
            if (ref.sha256 && ref.sha256 !== sha)
              throw new RowError(
                `${field}.sha256`,
                `${ref.path}: file sha256 ${sha} differs from the record's`,
                'media_sha256',
              );
            const info = ref.kind === 'image' ? detectImage(bytes) : undefined;
            const ext = info ? IMAGE_FORMATS[info.format].ext : path.extname(ref.path).slice(1) || 'bin';
            rel = mediaPath(sha, ext);
            if (path.join(outDir, rel) !== absIn) {
              if (info && mode === 'copy') await store.put(bytes);
              else if (info) await store.put({ file: absIn }, { link: true });
              else await store.putBlob(bytes, { ext });
            }
            placedFiles.add(rel);
          }
          placed.set(key, rel);
          return rel;
        },
        async mediaBytes(ref, field) {
          return (await readMedia(ref, field)).bytes;
        },
      };
      let res: Awaited<ReturnType<typeof spec.toRow>>;
      try {
        res = await spec.toRow(record, ctx);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        drop(`${err.code}: ${err.path}`, 'record', `record #${i + 1}${idOf(record)}: ${err.message}`);
        continue;
      }
      if ('drop' in res) {
        drop(res.drop, 'record');
        continue;
      }
      for (const f of res.lost ?? []) drop(f, 'field');
      summary.written++;
      yield res.row;
    }
  }

  if (container === '.parquet') {
    if (!spec.parquetColumns) throw new MmalignError('MMALIGN_FORMAT_CONTAINER', `${name} has no parquet layout`);
    await writeParquetRows(out, rows(), spec.parquetColumns);
  } else {
    await atomicOutput(out, async (tmp) => {
      const w = await JsonlWriter.open(tmp, { array: container === '.json' });
      try {
        for await (const r of rows()) await w.write(r);
        await w.close();
      } catch (e) {
        await w.abort();
        throw e;
      }
    });
  }
  summary.mediaFiles = placedFiles.size;
  summary.dropped = [...drops.values()].sort((a, b) =>
    a.scope === b.scope ? b.count - a.count : a.scope === 'record' ? -1 : 1,
  );
  // Registry files (dataset_info.json) only point at data files that hold rows.
  if (spec.finish && summary.written > 0) summary.files.push(...(await spec.finish(out, summary, opts)));
  return summary;
}

function idOf(record: object): string {
  const id = (record as { id?: unknown }).id;
  return typeof id === 'string' ? ` (${id})` : '';
}

/** One human line: `wrote 120 trl rows to out/train.jsonl; dropped 3 records (ranking ... ×3); fields not held: ...`. */
export function summaryLine(s: WriteSummary): string {
  const rec = s.dropped.filter((d) => d.scope === 'record');
  const fld = s.dropped.filter((d) => d.scope === 'field');
  const n = rec.reduce((a, d) => a + d.count, 0);
  let line = `wrote ${s.written} ${s.format} rows to ${s.out}`;
  if (s.mediaFiles) line += ` (+${s.mediaFiles} media files)`;
  line += `; dropped ${n} record${n === 1 ? '' : 's'}`;
  if (rec.length) line += ` (${rec.map((d) => `${d.reason} ×${d.count}`).join('; ')})`;
  if (fld.length) line += `; fields not held: ${fld.map((d) => `${d.reason} ×${d.count}`).join('; ')}`;
  return line;
}
