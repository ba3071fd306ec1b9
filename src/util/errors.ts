import { didYouMean } from './names.ts';
import { cutLine, escapeControl } from './text.ts';

/**
 * Errors as data: every thrown error is a MmalignError with a stable `code`, and every message says how to fix it.
 * Validation collects all issues first (zod-style) and throws one RecordValidationError naming file:line:field.
 * The CLI prints one as `mmalign: error: <what> (<file>[:line][: field]) [code]` and `  hint: …` (src/cli/errors.ts).
 */

export interface ErrorPlace {
  file?: string;
  line?: number;
  /** dotted field path */
  field?: string;
}

export interface MmalignErrorOptions extends ErrorPlace {
  hint?: string;
  cause?: unknown;
  /** a wrong invocation (bad flag value, flags that contradict): the CLI exits 2 instead of 1 */
  usage?: boolean;
}

/** Codes that mean "the command line is wrong" (exit 2) wherever they are thrown. */
export const USAGE_CODES: ReadonlySet<string> = new Set([
  'MMALIGN_BAD_OPTION',
  'MMALIGN_CLI',
  'MMALIGN_EXPORT_OPTION',
  'MMALIGN_USAGE',
]);

export class MmalignError extends Error {
  readonly code: string;
  readonly hint?: string;
  /** the message without the hint */
  readonly what: string;
  readonly place: ErrorPlace;
  readonly usage: boolean;
  constructor(code: string, message: string, opts: MmalignErrorOptions = {}) {
    super(opts.hint ? `${message}\n  hint: ${opts.hint}` : message, { cause: opts.cause });
    this.name = 'MmalignError';
    this.code = code;
    this.hint = opts.hint;
    this.what = message;
    this.place = { file: opts.file, line: opts.line, field: opts.field };
    this.usage = opts.usage ?? USAGE_CODES.has(code);
  }
}

/** One problem with one field of one record; `line` is 1-based, `path` the dotted field path. */
export interface ValidationIssue {
  code: string;
  message: string;
  file?: string;
  line?: number;
  path?: string;
}

/** `file:line: field: message [code]` on one line; the parts come from files, so control characters are escaped. */
export function formatIssue(issue: ValidationIssue): string {
  const where = [issue.file, issue.line].filter((x) => x !== undefined && x !== '').join(':');
  const field = issue.path ? `${issue.path}: ` : '';
  return escapeControl(cutLine(`${where ? `${where}: ` : ''}${field}${issue.message}`)) + ` [${issue.code}]`;
}

export class RecordValidationError extends MmalignError {
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[], hint?: string) {
    const head = issues.slice(0, 20).map(formatIssue).join('\n');
    const more = issues.length > 20 ? `\n… and ${issues.length - 20} more` : '';
    super('MMALIGN_INVALID_RECORD', `${issues.length} invalid field(s):\n${head}${more}`, { hint });
    this.name = 'RecordValidationError';
    this.issues = issues;
  }
}

/** An unknown name looked up in one of the typed tables (objectives, formats, benchmarks, ...). */
export class UnknownNameError extends MmalignError {
  readonly known: readonly string[];
  constructor(kind: string, name: string, known: readonly string[], opts: MmalignErrorOptions = {}) {
    super(
      'MMALIGN_UNKNOWN_NAME',
      `unknown ${kind} "${name}"${didYouMean(name, known)}; known: ${known.join(', ')}`,
      opts,
    );
    this.name = 'UnknownNameError';
    this.known = known;
  }
}

export function isMmalignError(e: unknown): e is MmalignError {
  return e instanceof MmalignError;
}

/** An error as plain data, to cross a worker thread's message channel (code, place and hint survive). */
export interface ErrorData {
  code?: string;
  message: string;
  hint?: string;
  file?: string;
  line?: number;
  field?: string;
  stack?: string;
}

export function errorToData(e: unknown): ErrorData {
  if (isMmalignError(e)) return { code: e.code, message: e.what, hint: e.hint, ...e.place, stack: e.stack };
  const err = e instanceof Error ? e : new Error(String(e));
  return { message: err.message, stack: err.stack };
}

/** The error `errorToData` described: a MmalignError when it had a code, else `uncoded(message)`. */
export function errorFromData(d: ErrorData, uncoded: (message: string) => Error): Error {
  const err = d.code
    ? new MmalignError(d.code, d.message, { hint: d.hint, file: d.file, line: d.line, field: d.field })
    : uncoded(d.message);
  if (d.stack) err.stack = d.stack;
  return err;
}
