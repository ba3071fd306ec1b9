import { statSync } from 'node:fs';
import path from 'node:path';
import { assertTextFile } from '../io/text-safety.ts';
import { MmalignError, UnknownNameError } from '../util/errors.ts';

/**
 * Option parsers shared by the commands: a value that is not what the flag takes is a usage error (exit 2) naming
 * the flag, the value and what it takes, raised while commander parses, before any work starts.
 */

function bad(flag: string, message: string): MmalignError {
  return new MmalignError('MMALIGN_BAD_OPTION', `--${flag} ${message}`, { hint: `see --help for --${flag}` });
}

/** An integer in [min, max]. */
export function intOption(flag: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    if (!/^[-+]?\d+$/.test(v.trim())) throw bad(flag, `must be an integer, got "${v}"`);
    const n = Number(v);
    if (n < min || n > max) throw bad(flag, `must be in [${min}, ${max}], got ${n}`);
    return n;
  };
}

/** A finite number in [min, max]. */
export function numberOption(flag: string, min = -Infinity, max = Infinity) {
  return (v: string): number => {
    const n = v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isFinite(n)) throw bad(flag, `must be a number, got "${v}"`);
    if (n < min || n > max) throw bad(flag, `must be in [${min}, ${max}], got ${n}`);
    return n;
  };
}

/** One of `known`, with "did you mean" for a near miss. */
export function choiceOption<T extends string>(flag: string, known: readonly T[], kind = `--${flag} value`) {
  return (v: string): T => {
    if ((known as readonly string[]).includes(v)) return v as T;
    throw new UnknownNameError(kind, v, known, { hint: `see --help for --${flag}` });
  };
}

/** Record-file extensions the readers and writers know; anything else needs a known extension. */
export const RECORD_EXTENSIONS = ['.jsonl', '.json', '.parquet'] as const;

/** Refuse a path whose extension picks no container (`out.txt`), before anything is read or written. */
export function requireRecordExtension(file: string, role: 'input' | 'output'): void {
  const ext = path.extname(file).toLowerCase();
  if ((RECORD_EXTENSIONS as readonly string[]).includes(ext)) return;
  throw new MmalignError(
    'MMALIGN_BAD_EXTENSION',
    `${role} ${ext ? `extension "${ext}"` : 'without an extension'} does not say how to ${role === 'input' ? 'read' : 'write'} it`,
    { file, usage: true, hint: `name the ${role} file .jsonl, .json or .parquet (the extension picks the container)` },
  );
}

/** The input must be an existing file: a missing path or a folder is refused with its own sentence. */
export function requireInputFile(file: string, role = 'input'): void {
  let isDir: boolean;
  try {
    isDir = statSync(file).isDirectory();
  } catch {
    throw new MmalignError('MMALIGN_NO_INPUT', `${role}: no such file`, { file, hint: 'check the path' });
  }
  if (isDir)
    throw new MmalignError('MMALIGN_IS_DIRECTORY', `${role} is a folder, not a file`, {
      file,
      hint: 'give the path of a file inside it',
    });
}

/**
 * A records file to read: it exists, is a file, is text unless it is parquet, and has an extension that picks the
 * container (unless `--format` says how to read it).
 */
export function requireRecordInput(file: string, opts: { format?: string } = {}): void {
  requireInputFile(file);
  if (path.extname(file).toLowerCase() !== '.parquet') assertTextFile(file);
  if (opts.format === undefined) requireRecordExtension(file, 'input');
}
