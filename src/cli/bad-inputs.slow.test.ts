import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliAll, tempDir } from '../../test/helpers/cli.ts';
import { TINY_PNG } from '../construct/testing.ts';

/**
 * The bad inputs of issue #18, each run through the real `mmalign` bin: the message a user sees, the exit code, and
 * that nothing is echoed raw or left behind. A stack trace never appears.
 */
const t = tempDir('mmalign-bad-');
afterAll(() => t.cleanup());
const at = (name: string) => path.join(t.dir, name);
const STACK = /^\s+at |node:internal|triggerUncaughtException/m;

const trlRow = (i: number) =>
  JSON.stringify({
    images: [],
    prompt: [{ role: 'user', content: `question ${i}` }],
    chosen: [{ role: 'assistant', content: 'good' }],
    rejected: [{ role: 'assistant', content: 'bad' }],
  });

let world: string;
beforeAll(() => {
  writeFileSync(at('good.jsonl'), `${trlRow(1)}\n${trlRow(2)}\n`);
  writeFileSync(at('bad.jsonl'), '{"prompt":1}\n{"bad":2}\n');
  writeFileSync(at('empty.jsonl'), '');
  writeFileSync(at('image.png'), TINY_PNG);
  writeFileSync(at('escape.jsonl'), '\x1b]0;pwned\x07\x1b[2J\n');
  writeFileSync(at('escape-field.jsonl'), '{"id":"x\\u001b]0;pwned\\u0007","messages":"\\u001b[2J"}\n');
  mkdirSync(at('folder'));
  world = at('world');
  const w = runCli(['world', '--n', '3', '--seed', '1', '--tasks', 'caption', '--out', world]);
  expect(w.code, w.stderr).toBe(0);
});

describe('issue #18: every bad input gets a clear error', () => {
  it('convert on a missing input: one sentence, exit 1, no stack trace', () => {
    const r = runCli(['convert', '--from', 'trl', '--to', 'llamafactory', at('nosuch.jsonl'), at('out.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `mmalign: error: input: no such file (${at('nosuch.jsonl')}) [MMALIGN_NO_INPUT]\n  hint: check the path\n`,
    );
  });

  it('validate on a folder', () => {
    const r = runCli(['validate', at('folder')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `mmalign: error: input is a folder, not a file (${at('folder')}) [MMALIGN_IS_DIRECTORY]\n  hint: give the path of a file inside it\n`,
    );
  });

  it('validate on a PNG: refused with one line, no bytes echoed', () => {
    const r = runCli(['validate', at('image.png')]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe(
      `mmalign: error: input is not a text file: it is a PNG image (${at('image.png')}) [MMALIGN_NOT_TEXT]`,
    );
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^ {2}hint: /);
  });

  it('terminal escape sequences in a file are printed escaped', () => {
    for (const f of ['escape.jsonl', 'escape-field.jsonl']) {
      const r = runCli(['validate', at(f)]);
      expect(r.code).toBe(1);
      // no raw ESC / BEL reaches the terminal
      expect(r.stderr.includes('\x1b') || r.stderr.includes('\x07')).toBe(false);
    }
    expect(runCli(['validate', at('escape.jsonl')]).stderr).toContain('\\x1b]0;pwned\\x07\\x1b[2J');
  });

  it('an empty input is an error unless --allow-empty', () => {
    const r = runCli(['validate', at('empty.jsonl')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `mmalign: error: the file holds no records (${at('empty.jsonl')}) [MMALIGN_EMPTY_INPUT]\n  hint: pass --allow-empty if an empty file is expected\n`,
    );
    const ok = runCli(['validate', at('empty.jsonl'), '--allow-empty']);
    expect(ok.code).toBe(0);
    const c = runCli(['convert', '--from', 'trl', '--to', 'llamafactory', at('empty.jsonl'), at('e.json')]);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('the input holds no rows; nothing written');
    expect(existsSync(at('e.json'))).toBe(false);
  });

  it('numbers are numbers: --max-issues abc is a usage error (exit 2)', () => {
    const r = runCli(['validate', '--max-issues', 'abc', at('good.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'mmalign: error: --max-issues must be an integer, got "abc" [MMALIGN_BAD_OPTION]\n  hint: see --help for --max-issues\n',
    );
  });

  it('convert --skip-invalid with every row invalid says so, not "dropped 0" and --binarize', () => {
    const r = runCli([
      'convert',
      '--from',
      'trl',
      '--to',
      'llamafactory',
      '--skip-invalid',
      at('bad.jsonl'),
      at('o.json'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `mmalign: error: all 2 input row(s) are invalid (listed above); nothing written (${at('bad.jsonl')}) [MMALIGN_ALL_INVALID]`,
    );
    expect(r.stderr).not.toContain('--binarize');
    expect(r.stderr).not.toContain('dropped 0');
    expect(existsSync(at('o.json'))).toBe(false);
  });

  it('convert to out.txt is refused before anything is written', () => {
    const r = runCli(['convert', '--from', 'trl', '--to', 'llamafactory', at('good.jsonl'), at('out.txt')]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      `mmalign: error: output extension ".txt" does not say how to write it (${at('out.txt')}) [MMALIGN_BAD_EXTENSION]`,
    );
    expect(existsSync(at('out.txt'))).toBe(false);
    expect(existsSync(at('dataset_info.json'))).toBe(false);
  });

  it('loss: "beta" in params is told where it belongs, not "unknown beta; known: beta"', () => {
    const input = at('loss.json');
    writeFileSync(
      input,
      JSON.stringify({
        policy_chosen_logps: [-1],
        policy_rejected_logps: [-2],
        reference_chosen_logps: [-1],
        reference_rejected_logps: [-2],
        params: { beta: 0.1 },
      }),
    );
    const r = runCli(['loss', '--objective', 'dpo', '--input', input]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      `mmalign: error: "beta" is a batch field, not a param: put it at the top level of the input, beside the log-probs (${input}: params.beta) [unrecognized_keys]`,
    );
  });

  it('train sft: an unknown config key gets "did you mean" and a hint naming a flag, not a source file', () => {
    const cfg = at('sft.yaml');
    writeFileSync(cfg, 'stepz: 3\n');
    const r = runCli(['train', 'sft', '--data', world, '--out', at('ck'), '--config', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^mmalign: error: unknown key "stepz" \(did you mean "steps"\?\); known keys here: .*\bsteps\b/,
    );
    expect(r.stderr).toContain(`(${cfg}: stepz) [zod_unrecognized_keys]`);
    expect(r.stderr).toContain('hint: config keys are those listed; the flags of `mmalign train sft --help`');
    expect(r.stderr).not.toMatch(/src\//);
    expect(existsSync(at('ck'))).toBe(false);
  });

  it('unknown objective / engine / format / suite / task names: "did you mean"', async () => {
    const rs = await runCliAll([
      ['loss', '--objective', 'dpx', '--input', at('loss.json')],
      ['convert', '--from', 'trll', '--to', 'llamafactory', at('good.jsonl'), at('x.json')],
      ['export', at('good.jsonl'), at('ex'), '--engine', 'tlr', '--objective', 'dpo', '--model', 'm'],
      ['eval', 'run', '--suite', 'shapez', '--model', 'x'],
      ['world', '--n', '1', '--tasks', 'captoin', '--out', at('w2')],
      ['convert', '--from', 'trl', '--to', 'llamafactory', '--media', 'cpy', at('good.jsonl'), at('x.json')],
    ]);
    const want = ['"dpo"', '"trl"', '"trl"', '"shapes"', '"caption"', '"copy"'];
    rs.forEach((r, i) => {
      expect(r.code, r.args.join(' ')).toBe(1);
      expect(r.stderr, r.args.join(' ')).toMatch(
        new RegExp(`^mmalign: error: unknown .*\\(did you mean ${want[i]}\\?\\); known: `),
      );
      expect(r.stderr).not.toMatch(STACK);
    });
    expect(existsSync(at('ex'))).toBe(false);
  });

  it('--debug (or MMALIGN_DEBUG=1) adds the stack trace, and only then', () => {
    const plain = runCli(['validate', at('folder')]);
    expect(plain.stderr).not.toMatch(STACK);
    const debug = runCli(['validate', at('folder'), '--debug']);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^\s+at /m);
    expect(runCli(['validate', at('folder')], { env: { MMALIGN_DEBUG: '1' } }).stderr).toMatch(/^\s+at /m);
  });
});

describe('every command on a missing path and on a folder: a sentence, never a stack trace', () => {
  const commands = (p: string): string[][] => [
    ['validate', p],
    ['convert', '--from', 'trl', '--to', 'llamafactory', p, at('c.json')],
    ['loss', '--objective', 'dpo', '--input', p],
    ['world', '--n', '1', '--out', at('wc'), '--config', p],
    ['construct', p],
    ['construct', 'source', p],
    ['train', 'sft', '--data', p, '--out', at('t1')],
    ['train', 'sft', '--data', world, '--out', at('t2'), '--config', p],
    ['train', 'pref', '--objective', 'dpo', '--data', p, '--model', p, '--out', at('t3')],
    ['train', 'rm', '--data', p, '--model', p, '--out', at('t4')],
    ['train', 'grpo', '--data', p, '--model', p, '--out', at('t5')],
    ['eval', 'score', 'pope', '--questions', p, '--answers', p],
    ['eval', 'score', 'chair', '--captions', p],
    ['eval', 'score', 'amber', '--responses', p],
    ['eval', 'score', 'mmhal', '--judgements', p],
    ['eval', 'score', 'reward', '--pairs', p],
    ['eval', 'score', 'mc', '--answers', p],
    ['eval', 'score', 'math', '--answers', p],
    ['eval', 'score', 'safety', '--answers', p],
    ['eval', 'run', '--suite', 'shapes', '--model', `embedded:${p}`, '--out', at('ev')],
    ['eval', 'compare', p, p, '--out', at('cmp.html')],
    ['eval', 'report', p],
    ['export', p, at('ex2'), '--engine', 'trl', '--objective', 'dpo', '--model', 'm'],
    ['run', p, '--out', at('run')],
    ['serve', '--model', p, '--port', '0'],
    ['studio', 'import', p, '--project', at('proj')],
  ];

  it('runs them all', async () => {
    const missing = at('no-such-file.jsonl');
    const calls = [...commands(missing), ...commands(at('folder'))];
    const rs = await runCliAll(calls, 3);
    for (const r of rs) {
      const what = r.args.join(' ');
      expect(r.code, `${what}\n${r.stderr}`).toBe(1);
      expect(r.stderr, what).toMatch(/^mmalign: error: .+ \[[A-Za-z_]+\]$/m);
      expect(r.stderr, what).not.toMatch(STACK);
      expect(r.stderr, what).not.toContain('MMALIGN_INTERNAL');
    }
    // nothing was created by the failed commands
    expect(readdirSync(t.dir).filter((f) => /^(c\.json|wc|t\d|ev|cmp\.html|ex2|run|proj)$/.test(f))).toEqual([]);
  }, 240_000);
});
