import { createReadStream } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { zodIssues } from '../schema/validate.ts';
import { RecordValidationError, type ValidationIssue } from '../util/errors.ts';
import { atomicOutput } from './atomic.ts';
import { assertTextFile } from './text-safety.ts';

/**
 * Streaming JSONL: one JSON value a line, UTF-8, `\n` (a trailing `\r` and a leading BOM are tolerated, blank lines
 * skipped). The reader never holds more than one chunk plus one line, so files of millions of rows stream in constant
 * memory; bad lines come out as issues naming file:line instead of stopping the read.
 */
export type JsonlEntry =
  | { ok: true; line: number; value: unknown }
  | { ok: false; line: number; issue: ValidationIssue };

export interface ReadJsonlOptions {
  /** Read-stream chunk size in bytes. */
  chunkSize?: number;
}

export async function* readJsonl(file: string, opts: ReadJsonlOptions = {}): AsyncGenerator<JsonlEntry> {
  assertTextFile(file);
  const stream = createReadStream(file, { highWaterMark: opts.chunkSize ?? 1 << 20 });
  let rest: Buffer | undefined;
  let line = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      line++;
      const entry = parseLine(buf.toString('utf8', start, nl), line, file, true);
      if (entry) yield entry;
      start = nl + 1;
    }
    buf = buf.subarray(start);
    rest = buf.length ? Buffer.from(buf) : undefined;
  }
  if (rest?.length) {
    line++;
    const entry = parseLine(rest.toString('utf8'), line, file, false);
    if (entry) yield entry;
  }
}

function parseLine(raw: string, line: number, file: string, terminated: boolean): JsonlEntry | undefined {
  let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return undefined;
  try {
    return { ok: true, line, value: JSON.parse(text) };
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    const issue: ValidationIssue = terminated
      ? { code: 'invalid_json', message: `invalid JSON: ${reason}`, file, line, path: '(line)' }
      : {
          code: 'truncated_line',
          message: `last line is cut short (no newline at end of file and not valid JSON: ${reason}); was the file still being written?`,
          file,
          line,
          path: '(line)',
        };
    return { ok: false, line, issue };
  }
}

/** Values only; every bad line is handed to `onIssue` (required: skipping lines silently is never right). */
export async function* readJsonlValues(
  file: string,
  onIssue: (issue: ValidationIssue) => void,
): AsyncGenerator<{ line: number; value: unknown }> {
  for await (const e of readJsonl(file)) {
    if (e.ok) yield { line: e.line, value: e.value };
    else onIssue(e.issue);
  }
}

/**
 * A whole-file JSON array (LLaMA-Factory's `.json` datasets). Not streamed: JSON arrays cannot be read row by row
 * without a streaming parser, so use JSONL for big sets. `line` is the 1-based item number.
 */
export async function* readJsonArray(file: string): AsyncGenerator<JsonlEntry> {
  assertTextFile(file);
  const text = await readFile(file, 'utf8');
  let data: unknown;
  try {
    data = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    yield {
      ok: false,
      line: 1,
      issue: { code: 'invalid_json', message: `invalid JSON: ${reason}`, file, path: '(file)' },
    };
    return;
  }
  if (!Array.isArray(data)) {
    yield {
      ok: false,
      line: 1,
      issue: { code: 'not_array', message: 'expected a JSON array of records', file, path: '(file)' },
    };
    return;
  }
  for (let i = 0; i < data.length; i++) yield { ok: true, line: i + 1, value: data[i] };
}

export interface JsonlWriterOptions {
  /** Append to an existing file instead of truncating it. */
  append?: boolean;
  /** Write a JSON array (`[`, `,` between items, `]`) instead of JSONL. Not combinable with append. */
  array?: boolean;
  /** Buffered bytes (approx.) before a write to the OS. */
  bufferSize?: number;
}

/**
 * Buffered JSONL appender over one file handle. `sync()` flushes and fsyncs, so a caller that checkpoints (a
 * resumable pipeline stage) knows every row written so far is on disk. For whole-file outputs use `writeJsonl`,
 * which goes through a temp file and a rename.
 */
export class JsonlWriter {
  readonly file: string;
  #fh: FileHandle;
  #parts: string[] = [];
  #size = 0;
  #count = 0;
  #array: boolean;
  #limit: number;
  #closed = false;

  private constructor(file: string, fh: FileHandle, opts: JsonlWriterOptions) {
    this.file = file;
    this.#fh = fh;
    this.#array = opts.array ?? false;
    this.#limit = opts.bufferSize ?? 1 << 20;
  }

  static async open(file: string, opts: JsonlWriterOptions = {}): Promise<JsonlWriter> {
    if (opts.array && opts.append) throw new Error('JsonlWriter: array output cannot be appended to');
    const fh = await open(file, opts.append ? 'a' : 'w');
    const w = new JsonlWriter(file, fh, opts);
    if (w.#array) w.#push('[\n');
    return w;
  }

  /** Rows written so far. */
  get count(): number {
    return this.#count;
  }

  async write(value: unknown): Promise<void> {
    const json = JSON.stringify(value);
    if (json === undefined)
      throw new TypeError(`JsonlWriter: value at row ${this.#count + 1} is not JSON-serialisable`);
    this.#push(this.#array ? (this.#count ? `,\n${json}` : json) : `${json}\n`);
    this.#count++;
    if (this.#size >= this.#limit) await this.flush();
  }

  #push(s: string): void {
    if (this.#closed) throw new Error(`JsonlWriter: ${this.file} is closed`);
    this.#parts.push(s);
    this.#size += s.length;
  }

  async flush(): Promise<void> {
    if (!this.#parts.length) return;
    const data = this.#parts.join('');
    this.#parts = [];
    this.#size = 0;
    await this.#fh.write(data);
  }

  async sync(): Promise<void> {
    await this.flush();
    await this.#fh.sync();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#array) this.#push(this.#count ? '\n]\n' : ']\n');
    await this.flush();
    this.#closed = true;
    await this.#fh.close();
  }

  /** Close without finishing an array; for error paths where the file is about to be removed. */
  async abort(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#parts = [];
    await this.#fh.close();
  }
}

/**
 * Write every value of `rows` to `file` through a temp file + rename: readers see either the old file or the complete
 * new one, never a half-written one. Returns the number of rows written.
 */
export async function writeJsonl(
  file: string,
  rows: Iterable<unknown> | AsyncIterable<unknown>,
  opts: { array?: boolean } = {},
): Promise<number> {
  return atomicOutput(file, async (tmp) => {
    const w = await JsonlWriter.open(tmp, { array: opts.array });
    try {
      for await (const r of rows) await w.write(r);
      await w.close();
      return w.count;
    } catch (e) {
      await w.abort();
      throw e;
    }
  });
}

/** Non-blank lines of a JSONL file, counted from the bytes without parsing (for progress totals). */
export async function countJsonlLines(file: string): Promise<number> {
  assertTextFile(file);
  let n = 0;
  let lineHasContent = false;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === 10) {
        if (lineHasContent) n++;
        lineHasContent = false;
      } else if (c !== 13 && c !== 32 && c !== 9) lineHasContent = true;
    }
  }
  return lineHasContent ? n + 1 : n;
}

/**
 * Every record of a JSONL file, each parsed by `schema`; all bad lines and fields are collected first and thrown as
 * one RecordValidationError naming file:line:field (nothing is silently skipped). For files that fit in memory.
 */
export async function readJsonlRecords<S extends z.ZodType>(file: string, schema: S): Promise<z.infer<S>[]> {
  const issues: ValidationIssue[] = [];
  const out: z.infer<S>[] = [];
  for await (const { line, value } of readJsonlValues(file, (i) => issues.push(i))) {
    const r = schema.safeParse(value);
    if (r.success) out.push(r.data);
    else issues.push(...zodIssues(r.error, { file, line }));
  }
  if (issues.length) throw new RecordValidationError(issues);
  return out;
}
