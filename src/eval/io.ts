import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { zodIssues } from '../schema/validate.ts';
import { MmalignError, RecordValidationError, type ValidationIssue } from '../util/errors.ts';

/**
 * Reading benchmark files: JSON Lines (POPE's `.json` files are JSONL too) or a JSON array, every record checked
 * against a zod schema; all problems are reported at once with file:line:field.
 */

export interface Located<T> {
  value: T;
  line: number;
}

/** Parse JSONL text, or a top-level JSON array (each element gets line = its 1-based index). */
export function parseJsonRecords(text: string, file: string): Located<unknown>[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    let arr: unknown;
    try {
      arr = JSON.parse(trimmed);
    } catch (e) {
      throw new MmalignError('MMALIGN_BAD_JSON', `${file}: not valid JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(arr)) throw new MmalignError('MMALIGN_BAD_JSON', `${file}: expected a JSON array`);
    return arr.map((value, i) => ({ value, line: i + 1 }));
  }
  const out: Located<unknown>[] = [];
  const issues: ValidationIssue[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    // JSON.parse accepts surrounding whitespace; only all-blank lines are skipped (no per-line trim copy)
    if (l.length === 0 || (l.charCodeAt(0) <= 32 && l.trim() === '')) continue;
    try {
      out.push({ value: JSON.parse(l), line: i + 1 });
    } catch (e) {
      issues.push({ code: 'bad_json', message: `not valid JSON (${(e as Error).message})`, file, line: i + 1 });
    }
  }
  if (issues.length) throw new RecordValidationError(issues, 'each line must be one JSON object');
  return out;
}

export function readTextFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new MmalignError('MMALIGN_FILE', `cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Read and validate every record of a JSONL/JSON-array file; throws one RecordValidationError with all issues. */
export function readRecords<S extends z.ZodType>(file: string, schema: S): Located<z.infer<S>>[] {
  return parseRecords(readTextFile(file), file, schema);
}

export function parseRecords<S extends z.ZodType>(text: string, file: string, schema: S): Located<z.infer<S>>[] {
  const raw = parseJsonRecords(text, file);
  const issues: ValidationIssue[] = [];
  const out: Located<z.infer<S>>[] = [];
  for (const r of raw) {
    const p = schema.safeParse(r.value);
    if (p.success) out.push({ value: p.data, line: r.line });
    else issues.push(...zodIssues(p.error, { file, line: r.line }));
  }
  if (issues.length) throw new RecordValidationError(issues);
  return out;
}
