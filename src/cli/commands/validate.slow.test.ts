import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../../../test/helpers/cli.ts';
import { fixturePreferences, solidPng } from '../../io/fixtures.ts';
import { FORMATS, MediaStore } from '../../io/index.ts';

let dir: string;
let cleanup: () => void;
let good: string;
beforeAll(async () => {
  ({ dir, cleanup } = tempDir('mmalign-validate-cli-'));
  const store = new MediaStore(dir);
  const P = await fixturePreferences(store);
  good = path.join(dir, 'prefs.jsonl');
  await FORMATS.mmalign.write(Object.values(P), good, { mediaRoot: dir });
});
afterAll(() => cleanup());

describe('mmalign validate', () => {
  it('exits 0 and prints the count on a good file', () => {
    const r = runCli(['validate', good]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${good}: 8 valid record(s) (8 preference)\n`);
  });

  it('exits 1 naming file:line: field for wrong types, a missing image, a corrupt PNG and a truncated line', () => {
    const [first] = readFileSync(good, 'utf8').split('\n');
    const rec = JSON.parse(first);
    const wrongTypes = { ...rec, id: 'p-types', chosen: { text: 42 }, margin: 'big' };
    const missing = { ...rec, id: 'p-missing', media: [{ kind: 'image', path: 'media/00/gone.png' }] };
    const png = solidPng(32, 32, [10, 200, 30]);
    writeFileSync(path.join(dir, 'cut.png'), png.subarray(0, png.length - 30));
    const corrupt = { ...rec, id: 'p-corrupt', media: [{ kind: 'image', path: 'cut.png' }] };
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(
      bad,
      `${[rec, wrongTypes, missing, corrupt].map((r) => JSON.stringify(r)).join('\n')}\n${first.slice(0, 60)}`,
    );
    const r = runCli(['validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${bad}:2: chosen\\.text: .*expected string`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${bad}:2: margin: .*expected number`)));
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^${bad}:3: media\\.0\\.path: record p-missing: missing image file media/00/gone\\.png`),
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^${bad}:4: media\\.0\\.path: record p-corrupt: cut\\.png: corrupt png image`)),
    );
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${bad}:5: \\(line\\): last line is cut short`)));
    expect(lines.at(-1)).toBe(`${bad}: 4 of 5 record(s) invalid (5 issue(s))`);
  });

  it('checks against --type, resolves media against --media-root, and refuses unknown types', () => {
    const asSample = runCli(['validate', good, '--type', 'sample', '--max-issues', '2']);
    expect(asSample.code).toBe(1);
    expect(asSample.stderr).toMatch(new RegExp(`^${good}:1: messages: `, 'm'));
    const moved = runCli(['validate', good, '--media-root', path.join(dir, 'elsewhere')]);
    expect(moved.code).toBe(1);
    expect(moved.stderr).toMatch(/:1: media\.0\.path: record p1: missing image file/);
    const unknown = runCli(['validate', good, '--type', 'pairs']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown record type "pairs"; known: sample, response, preference');
  });
});
