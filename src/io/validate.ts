import path from 'node:path';
import { detectRecordType, type Preference, type RecordType, validateRecord } from '../schema/index.ts';
import type { ValidationIssue } from '../util/errors.ts';
import { FORMATS, type FormatName } from './formats/index.ts';
import { type JsonlEntry, readJsonArray, readJsonl } from './jsonl.ts';
import { mediaFields, type VerifyOptions, verifyMedia } from './media.ts';

/**
 * Stream a file of mmalign records (JSONL, JSON array or parquet) against the schema and collect every problem:
 * unparseable / truncated lines, wrong field types, inconsistent preferences, and (unless `media: false`) missing,
 * altered or corrupt media files. Only the first `maxIssues` issues are kept; `issueCount` counts all of them.
 */
export interface ValidateFileOptions {
  /** Check every record as this family; default: detected per record from its keys. */
  type?: RecordType;
  /** Directory media paths are relative to. Default: the file's directory. */
  mediaRoot?: string;
  /** Verify media files (exists, sha256, decodes). Default true. */
  media?: boolean;
  /** Decode images fully (catches truncated pixel data). Default true. */
  decode?: boolean;
  /** Issues kept in the result (default 100). */
  maxIssues?: number;
  /** Called every 1000 records (for progress). */
  onProgress?: (records: number) => void;
  /**
   * Check a file of another format (trl, llamafactory, ...) instead: each row must convert to a valid record, with its
   * media present and its placeholder count matching its media count (the trainers' most common crash).
   */
  format?: FormatName;
}

export interface ValidateFileResult {
  file: string;
  /** Records (lines / rows) looked at, valid or not. */
  records: number;
  valid: number;
  invalid: number;
  byType: Partial<Record<RecordType, number>>;
  issues: ValidationIssue[];
  /** All issues found, including those not kept. */
  issueCount: number;
}

export async function validateFile(file: string, opts: ValidateFileOptions = {}): Promise<ValidateFileResult> {
  const max = opts.maxIssues ?? 100;
  const root = path.resolve(opts.mediaRoot ?? path.dirname(file));
  const res: ValidateFileResult = { file, records: 0, valid: 0, invalid: 0, byType: {}, issues: [], issueCount: 0 };
  const push = (list: ValidationIssue[]) => {
    res.issueCount += list.length;
    for (const i of list) if (res.issues.length < max) res.issues.push(i);
  };
  const verified = new Map<string, ValidationIssue[]>();
  const checkOne = async (line: number, value: unknown) => {
    const type = opts.type ?? detectRecordType(value);
    if (!type) {
      return [
        {
          code: 'unknown_record',
          message: 'not a sample, response or preference record (no messages / sampleId+text / kind+prompt keys)',
          file,
          line,
          path: '(record)',
        },
      ];
    }
    const issues = validateRecord(type, value, { file, line });
    if (issues.length || opts.media === false) return issues;
    res.byType[type] = (res.byType[type] ?? 0) + 1;
    const id = (value as { id?: string }).id;
    for (const { path: field, ref } of mediaFields(value as Preference)) {
      // Shared images are checked once; the issue is re-addressed to every record that uses them.
      const key = `${ref.kind}\0${ref.path}\0${ref.sha256}\0${ref.kind === 'image' ? `${ref.width}x${ref.height}` : ''}`;
      let found = verified.get(key);
      if (!found) {
        const where: VerifyOptions['where'] = {};
        found = await verifyMedia(ref, root, { decode: opts.decode, where });
        if (verified.size > 50_000) verified.clear();
        verified.set(key, found);
      }
      for (const f of found) {
        issues.push({
          ...f,
          file,
          line,
          path: `${field}${f.path?.replace(/^media/, '') ?? ''}`,
          message: `record ${id}: ${f.message}`,
        });
      }
    }
    return issues;
  };

  if (opts.format && opts.format !== 'mmalign') return validateForeign(file, opts.format, opts, res, push);
  const entries: AsyncIterable<JsonlEntry> = file.endsWith('.parquet')
    ? parquetEntries(file)
    : file.endsWith('.json')
      ? readJsonArray(file)
      : readJsonl(file);
  let lastBad = -1;
  for await (const e of entries) {
    if (!e.ok && e.line === lastBad) {
      push([e.issue]); // another issue of the same row (parquet rows report one issue per entry)
      continue;
    }
    res.records++;
    if (opts.onProgress && res.records % 1000 === 0) opts.onProgress(res.records);
    const issues = e.ok ? await checkOne(e.line, e.value) : [e.issue];
    if (issues.length) {
      res.invalid++;
      lastBad = e.line;
      push(issues);
    } else res.valid++;
  }
  return res;
}

/** Parquet rows of mmalign records, normalised back to plain records (no media restored, no hashing). */
async function* parquetEntries(file: string): AsyncGenerator<JsonlEntry> {
  for await (const it of FORMATS.mmalign.read(file, { hashMedia: false })) {
    if (it.ok) yield { ok: true, line: it.line, value: it.record };
    else yield { ok: false, line: it.line ?? 0, issue: it.issue };
  }
}

async function validateForeign(
  file: string,
  format: FormatName,
  opts: ValidateFileOptions,
  res: ValidateFileResult,
  push: (issues: ValidationIssue[]) => void,
): Promise<ValidateFileResult> {
  const adapter = FORMATS[format];
  let lastBad: number | undefined;
  for await (const it of adapter.read(file, { mediaRoot: opts.mediaRoot, hashMedia: opts.media ?? true })) {
    if (it.ok) {
      res.records++;
      res.valid++;
      const type = detectRecordType(it.record);
      if (type) res.byType[type] = (res.byType[type] ?? 0) + 1;
    } else {
      if (it.line !== lastBad) {
        res.records++;
        res.invalid++;
      }
      lastBad = it.line;
      push([it.issue]);
    }
    if (opts.onProgress && res.records % 1000 === 0) opts.onProgress(res.records);
  }
  return res;
}
