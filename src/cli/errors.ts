import { CommanderError } from 'commander';
import { isMmalignError, type MmalignError, RecordValidationError } from '../util/errors.ts';
import { escapeControl, safeText } from '../util/text.ts';

/**
 * The CLI's one error boundary: whatever a command throws becomes
 *   mmalign: error: <what> (<file>[:line][: field]) [code]
 *     hint: <a flag or a doc to look at>
 * with exit 1 for errors in the user's data or files and 2 for a wrong command line. A stack trace is printed only
 * with --debug or MMALIGN_DEBUG=1, so a user sees a sentence, a developer can still get the trace.
 */

export const EXIT_USER = 1;
export const EXIT_USAGE = 2;

/** Plain sentences for the filesystem errors a user causes (a wrong path, a full disk). */
const FS_ERRORS: Record<string, { what: string; hint: string }> = {
  ENOENT: { what: 'no such file or folder', hint: 'check the path; relative paths start from the current folder' },
  EISDIR: { what: 'this is a folder, but a file is needed here', hint: 'give the path of a file inside it' },
  ENOTDIR: { what: 'a part of this path is a file, not a folder', hint: 'check the path' },
  EACCES: { what: 'permission denied', hint: 'check the permissions of the file and its folder (ls -l)' },
  EPERM: { what: 'operation not permitted', hint: 'check the permissions of the file and its folder (ls -l)' },
  ENOSPC: { what: 'the disk is full', hint: 'free some space and rerun the same command' },
  EDQUOT: { what: 'the disk quota is used up', hint: 'free some space and rerun the same command' },
  EROFS: { what: 'the file system is read-only', hint: 'write the output somewhere else (see --help for --out)' },
  EMFILE: { what: 'too many open files', hint: 'raise the limit (ulimit -n) or lower --concurrency' },
  EEXIST: { what: 'the file already exists', hint: 'remove it or choose another output path' },
  ENOTEMPTY: { what: 'the folder is not empty', hint: 'remove it or choose another output folder' },
};

interface SystemError extends Error {
  code: string;
  path?: string;
  dest?: string;
  syscall?: string;
}

function isSystemError(e: unknown): e is SystemError {
  return e instanceof Error && typeof (e as SystemError).code === 'string' && /^E[A-Z]+$/.test((e as SystemError).code);
}

function placeOf(p: { file?: string; line?: number; field?: string }): string {
  if (!p.file && p.line === undefined && !p.field) return '';
  const fileLine = [p.file, p.line].filter((x) => x !== undefined && x !== '').join(':');
  return ` (${[fileLine, p.field].filter(Boolean).join(': ')})`;
}

export interface RenderedError {
  text: string;
  exitCode: number;
}

function renderMmalign(e: MmalignError): RenderedError {
  const exitCode = e.usage ? EXIT_USAGE : EXIT_USER;
  if (e instanceof RecordValidationError && e.issues.length === 1) {
    // one bad field: the issue itself is the message, with its place and code
    const i = e.issues[0]!;
    return { text: lines(i.message, placeOf({ file: i.file, line: i.line, field: i.path }), i.code, e.hint), exitCode };
  }
  return { text: lines(e.what, placeOf(e.place), e.code, e.hint), exitCode };
}

/** Node's `ENOENT: no such file or directory, open 'x'` inside a wrapped message → the plain sentence. */
function plainFsText(text: string): string {
  return text.replace(/\b(E[A-Z]{3,}): [^,\n]*, [a-z]+(?: '[^'\n]*')?(?: -> '[^'\n]*')?/g, (m, code: string) =>
    FS_ERRORS[code] ? FS_ERRORS[code]!.what : m,
  );
}

/** First line `mmalign: error: <what><place> [code]`, then any further lines of `what` (issue lists), then the hint. */
function lines(what: string, place: string, code: string, hint?: string): string {
  const [first = '', ...rest] = plainFsText(what).split('\n');
  // the place and the code stay whole even when a long message is cut
  return [
    `mmalign: error: ${safeText(first, 1000)}${escapeControl(place)} [${code}]`,
    ...rest.map((l) => safeText(l)),
    ...(hint ? [`  hint: ${safeText(hint, 1000)}`] : []),
  ].join('\n');
}

/** Turn anything thrown into the text to print and the exit code. */
export function renderError(e: unknown, opts: { debug?: boolean } = {}): RenderedError {
  let r: RenderedError;
  if (isMmalignError(e)) r = renderMmalign(e);
  else if (isSystemError(e) && FS_ERRORS[e.code]) {
    const f = FS_ERRORS[e.code]!;
    const file = e.path ?? e.dest;
    r = { text: lines(f.what, file ? ` (${file})` : '', e.code, f.hint), exitCode: EXIT_USER };
  } else if (e instanceof CommanderError) r = { text: '', exitCode: e.exitCode === 0 ? 0 : EXIT_USAGE };
  else {
    const msg = e instanceof Error ? e.message : String(e);
    r = {
      text: lines(
        msg || 'unexpected failure',
        '',
        'MMALIGN_INTERNAL',
        'this is a bug in mmalign: rerun with --debug (or MMALIGN_DEBUG=1) for the stack trace and report it',
      ),
      exitCode: EXIT_USER,
    };
  }
  if (opts.debug && e instanceof Error && e.stack) r.text += `\n${e.stack}`;
  return r;
}

/** Print an error the boundary's way; returns the exit code. */
export function reportError(e: unknown, opts: { debug?: boolean } = {}): number {
  const r = renderError(e, opts);
  if (r.text) process.stderr.write(`${r.text}\n`);
  return r.exitCode;
}

export function debugRequested(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  return argv.includes('--debug') || env.MMALIGN_DEBUG === '1' || env.MMALIGN_DEBUG === 'true';
}
