/**
 * Errors as data: every thrown error is a MmalignError with a stable `code`, and every message says how to fix it.
 * Validation collects all issues first (zod-style) and throws one RecordValidationError naming file:line:field.
 */

export class MmalignError extends Error {
  readonly code: string;
  readonly hint?: string;
  constructor(code: string, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(opts.hint ? `${message}\n  hint: ${opts.hint}` : message, { cause: opts.cause });
    this.name = 'MmalignError';
    this.code = code;
    this.hint = opts.hint;
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

export function formatIssue(issue: ValidationIssue): string {
  const where = [issue.file, issue.line].filter((x) => x !== undefined && x !== '').join(':');
  const field = issue.path ? `${issue.path}: ` : '';
  return `${where ? `${where}: ` : ''}${field}${issue.message} [${issue.code}]`;
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
  constructor(kind: string, name: string, known: readonly string[]) {
    super('MMALIGN_UNKNOWN_NAME', `unknown ${kind} "${name}"; known: ${known.join(', ')}`);
    this.name = 'UnknownNameError';
  }
}

export function isMmalignError(e: unknown): e is MmalignError {
  return e instanceof MmalignError;
}
