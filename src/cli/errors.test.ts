import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { MmalignError, RecordValidationError, UnknownNameError } from '../util/errors.ts';
import { debugRequested, renderError } from './errors.ts';

const sysError = (code: string, message: string, extra: object = {}) =>
  Object.assign(new Error(`${code}: ${message}`), { code, ...extra });

describe('the CLI error boundary', () => {
  it('prints what, where and the code on one line, then the hint', () => {
    const e = new MmalignError('MMALIGN_EMPTY_INPUT', 'the file holds no records', {
      file: 'a.jsonl',
      line: 3,
      field: 'chosen.text',
      hint: 'pass --allow-empty',
    });
    expect(renderError(e)).toEqual({
      text: 'mmalign: error: the file holds no records (a.jsonl:3: chosen.text) [MMALIGN_EMPTY_INPUT]\n  hint: pass --allow-empty',
      exitCode: 1,
    });
  });

  it('exits 2 for usage errors and for commander parse errors, 0 for --help', () => {
    expect(renderError(new MmalignError('MMALIGN_BAD_OPTION', '--n must be an integer')).exitCode).toBe(2);
    expect(renderError(new MmalignError('MMALIGN_X', 'bad flags', { usage: true })).exitCode).toBe(2);
    expect(renderError(new CommanderError(1, 'commander.unknownOption', 'x'))).toEqual({ text: '', exitCode: 2 });
    expect(renderError(new CommanderError(0, 'commander.helpDisplayed', '')).exitCode).toBe(0);
  });

  it('a single bad field is the message itself, with its place and code', () => {
    const e = new RecordValidationError(
      [{ code: 'bad_field', message: 'expected a number', file: 'f.jsonl', line: 2, path: 'margin' }],
      'fix it',
    );
    expect(renderError(e).text).toBe(
      'mmalign: error: expected a number (f.jsonl:2: margin) [bad_field]\n  hint: fix it',
    );
    const two = new RecordValidationError([
      { code: 'a', message: 'one', file: 'f', line: 1 },
      { code: 'b', message: 'two', file: 'f', line: 2 },
    ]);
    expect(renderError(two).text).toBe(
      'mmalign: error: 2 invalid field(s): [MMALIGN_INVALID_RECORD]\nf:1: one [a]\nf:2: two [b]',
    );
  });

  it('filesystem errors are plain sentences with the path', () => {
    const cases: [string, string][] = [
      ['ENOENT', 'no such file or folder'],
      ['EISDIR', 'this is a folder, but a file is needed here'],
      ['EACCES', 'permission denied'],
      ['ENOSPC', 'the disk is full'],
    ];
    for (const [code, what] of cases) {
      const r = renderError(sysError(code, 'whatever, open', { path: 'x/y.jsonl' }));
      expect(r.exitCode).toBe(1);
      expect(r.text.split('\n')[0]).toBe(`mmalign: error: ${what} (x/y.jsonl) [${code}]`);
      expect(r.text).toMatch(/\n {2}hint: \S/);
    }
    // Node's text inside a wrapped message becomes the sentence too
    const wrapped = new MmalignError(
      'MMALIGN_FILE',
      "cannot read q.jsonl: ENOENT: no such file or directory, open 'q.jsonl'",
    );
    expect(renderError(wrapped).text).toBe(
      'mmalign: error: cannot read q.jsonl: no such file or folder [MMALIGN_FILE]',
    );
  });

  it('anything else is an internal error: a sentence and a hint; the stack only when debugging', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    const r = renderError(bug);
    expect(r.exitCode).toBe(1);
    expect(r.text).toContain("mmalign: error: Cannot read properties of undefined (reading 'x') [MMALIGN_INTERNAL]");
    expect(r.text).toContain('hint: this is a bug in mmalign: rerun with --debug');
    expect(r.text).not.toMatch(/^\s+at /m);
    expect(renderError(bug, { debug: true }).text).toMatch(/^\s+at /m);
    expect(debugRequested(['node', 'mmalign', 'validate', '--debug'], {})).toBe(true);
    expect(debugRequested(['node', 'mmalign'], { MMALIGN_DEBUG: '1' })).toBe(true);
    expect(debugRequested(['node', 'mmalign'], {})).toBe(false);
  });

  it('escapes control characters that came from files, and says "did you mean"', () => {
    const e = new MmalignError('MMALIGN_X', 'bad value "\x1b]0;title\x07\x1b[2J"');
    expect(renderError(e).text).toBe('mmalign: error: bad value "\\x1b]0;title\\x07\\x1b[2J" [MMALIGN_X]');
    const u = new UnknownNameError('objective', 'dpx', ['dpo', 'ipo', 'kto']);
    expect(renderError(u).text).toBe(
      'mmalign: error: unknown objective "dpx" (did you mean "dpo"?); known: dpo, ipo, kto [MMALIGN_UNKNOWN_NAME]',
    );
  });
});
