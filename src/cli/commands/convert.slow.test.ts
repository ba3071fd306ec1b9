import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../../../test/helpers/cli.ts';
import { fixturePreferences } from '../../io/fixtures.ts';
import { FORMATS, MediaStore } from '../../io/index.ts';

let dir: string;
let cleanup: () => void;
let prefs: string;
beforeAll(async () => {
  ({ dir, cleanup } = tempDir('mmalign-convert-cli-'));
  const store = new MediaStore(path.join(dir, 'in'));
  prefs = path.join(dir, 'in', 'prefs.jsonl');
  await FORMATS.mmalign.write(Object.values(await fixturePreferences(store)), prefs, {
    mediaRoot: path.join(dir, 'in'),
  });
});
afterAll(() => cleanup());

describe('mmalign convert', () => {
  it('converts and prints one summary line with the dropped counts', () => {
    const out = path.join(dir, 'lf', 'train.json');
    const r = runCli(['convert', '--from', 'mmalign', '--to', 'llamafactory', prefs, out]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toContain(`wrote 3 llamafactory rows to ${out} (+2 media files); dropped 5 records (`);
    expect(r.stdout).toContain('ranking (LLaMA-Factory holds pairs only; pass binarize to keep best vs worst) ×1');
    expect(r.stdout).toContain('pair with rejectedMedia (LLaMA-Factory has no rejected images) ×1');
    expect(r.stdout).toContain(`also wrote ${path.join(dir, 'lf', 'dataset_info.json')}`);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toHaveLength(3);
    const back = runCli(['convert', '--from', 'llamafactory', '--to', 'swift', out, path.join(dir, 'sw', 'd.jsonl')]);
    expect(back.code).toBe(0);
    expect(back.stdout).toContain('wrote 3 swift rows');
  });

  it('--binarize keeps rankings and rubrics as best-vs-worst pairs', () => {
    const r = runCli([
      'convert',
      '--from',
      'mmalign',
      '--to',
      'trl',
      '--binarize',
      prefs,
      path.join(dir, 'trl', 't.jsonl'),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('wrote 5 trl rows');
    expect(r.stdout).toContain('ranking (binarised to best vs worst) ×1');
  });

  it('an unknown format name exits 1 listing the known ones, and writes nothing', () => {
    const out = path.join(dir, 'x', 'o.jsonl');
    const r = runCli(['convert', '--from', 'mmalign', '--to', 'sharegpt', prefs, out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'unknown format "sharegpt"; known: mmalign, trl, llamafactory, swift, rlaifv, vlfeedback, llava',
    );
    expect(existsSync(path.join(dir, 'x'))).toBe(false);
  });

  it('bad input rows (truncated line, missing image) fail with file:line: field and leave no output behind', () => {
    const rows = readFileSync(prefs, 'utf8').split('\n');
    const lf = (images: string[]) =>
      JSON.stringify({
        conversations: [{ from: 'human', value: '<image>Q' }],
        chosen: { from: 'gpt', value: 'a' },
        rejected: { from: 'gpt', value: 'b' },
        images,
      });
    const img = JSON.parse(rows[0]).media[0].path;
    const bad = path.join(dir, 'in', 'bad.jsonl');
    writeFileSync(bad, `${lf([img])}\n${lf(['media/00/gone.png'])}\n${lf([img]).slice(0, 30)}`);
    const outDir = path.join(dir, 'badout');
    const out = path.join(outDir, 'train.jsonl');
    const r = runCli(['convert', '--from', 'llamafactory', '--to', 'trl', bad, out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:2: images.0: missing image file media/00/gone.png`);
    expect(r.stderr).toContain(`${bad}:3: (line): last line is cut short`);
    expect(r.stderr).toContain('--skip-invalid');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(outDir) ? readdirSync(outDir).filter((f) => f !== 'media') : []).toEqual([]);

    const skip = runCli(['convert', '--from', 'llamafactory', '--to', 'trl', '--skip-invalid', bad, out]);
    expect(skip.code).toBe(0);
    expect(skip.stdout).toContain('wrote 1 trl rows');
    expect(skip.stdout).toContain('skipped 2 invalid input row(s)');
    expect(skip.stderr).toContain(`${bad}:2: images.0: missing image file`);
  });

  it('fails when no record fits the target, leaving no empty file', () => {
    const out = path.join(dir, 'vlf', 'v.jsonl');
    const r = runCli(['convert', '--from', 'mmalign', '--to', 'vlfeedback', '--kinds', 'pair', prefs, out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nothing written: wrote 0 vlfeedback rows');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses to convert between formats holding different record families', () => {
    const r = runCli(['convert', '--from', 'llava', '--to', 'trl', prefs, path.join(dir, 'y.jsonl')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('llava holds samples but trl holds preferences');
  });
});
