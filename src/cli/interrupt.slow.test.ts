import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { interruptCli, runCli, runCliAsync, tempDir } from '../../test/helpers/cli.ts';
import { readOutput, writeSampleSet } from '../construct/testing.ts';
import { solidPng } from '../io/fixtures.ts';
import { startFixtureServer } from '../serve/fixture.ts';

/**
 * Ctrl-C (SIGINT) in the middle of a real run of each long command: exit 130, one `interrupted:` line saying how
 * far it got and what a rerun does, and the output folder either complete (as it was) or absent — no temp files,
 * and a rerun into the same folder never mixes old and new files.
 */
const t = tempDir('mmalign-sigint-');
afterAll(() => t.cleanup());
const at = (...p: string[]) => path.join(t.dir, ...p);

/** Every file under `dir` with its sha256, relative paths sorted. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = path.join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out[path.relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** Names of temp / partial files anywhere under `dir` (they must never survive an interrupt). */
function leftovers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return Object.keys(snapshot(dir)).filter((f) => /\.partial|\.tmp-\d+|\.tmp$/.test(f));
}

describe('Ctrl-C leaves nothing half-made', () => {
  let world: string;
  beforeAll(() => {
    world = at('small-world');
    const r = runCli(['world', '--n', '20', '--seed', '1', '--tasks', 'caption,pope', '--out', world]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('world: an interrupted run leaves --out absent, or exactly as it was; a rerun gives a consistent world', async () => {
    const fresh = at('w-fresh');
    const r = await interruptCli(['world', '--n', '5000', '--seed', '2', '--out', fresh], /world: \d+\/45000/);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(
      /interrupted: \d+ of 45000 samples done, none kept; rerun the same command to redo \(w-fresh is as it was\)\n$/,
    );
    expect(existsSync(fresh)).toBe(false);
    expect(readdirSync(t.dir).filter((f) => f.includes('.partial'))).toEqual([]);

    // into a folder holding a complete world: interrupted, it is untouched
    const before = snapshot(world);
    const again = await interruptCli(['world', '--n', '5000', '--seed', '2', '--out', world], /world: \d+\/45000/);
    expect(again.code).toBe(130);
    expect(snapshot(world)).toEqual(before);
    expect(readdirSync(t.dir).filter((f) => f.includes('.partial'))).toEqual([]);

    // a finished rerun with other settings replaces it whole: every image belongs to the new samples
    const other = at('w-other');
    expect(runCli(['world', '--n', '20', '--seed', '1', '--tasks', 'caption,pope', '--out', other]).code).toBe(0);
    expect(runCli(['world', '--n', '4', '--seed', '9', '--tasks', 'count', '--out', other]).code).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(other, 'world.json'), 'utf8'));
    const lines = readFileSync(path.join(other, 'samples.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(manifest.files['samples.jsonl'].lines);
    const used = new Set(lines.flatMap((l) => JSON.parse(l).media.map((m: { path: string }) => m.path)));
    const files = Object.keys(snapshot(other)).filter((f) => f.startsWith('media/'));
    expect(files.sort()).toEqual([...used].sort());
    expect(files).toHaveLength(manifest.files.media.images);
  }, 120_000);

  it('world: a hang-up (SIGHUP) cleans up as Ctrl-C does; a temp folder of a killed run is removed by the next', async () => {
    const out = at('w-hup');
    const r = await interruptCli(['world', '--n', '5000', '--seed', '2', '--out', out], /world: \d+\/45000/, {
      signal: 'SIGHUP',
    });
    expect(r.code, r.stderr).toBe(129);
    expect(r.stderr).toMatch(/interrupted: \d+ of 45000 samples done, none kept/);
    expect(readdirSync(t.dir).filter((f) => f.startsWith('.w-hup'))).toEqual([]);

    // what a SIGKILLed run leaves (pid 2^22 + 1 is above Linux's pid_max default, so no process has it)
    const orphan = at(`.w-hup.${2 ** 22 + 1}.0123abcd.partial`);
    mkdirSync(path.join(orphan, 'media'), { recursive: true });
    expect(runCli(['world', '--n', '3', '--seed', '1', '--tasks', 'caption', '--out', out]).code).toBe(0);
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(path.join(out, 'world.json'))).toBe(true);
  }, 120_000);

  it('convert: the output is absent and no temp file is left', async () => {
    const input = at('big.jsonl');
    const rows: string[] = [];
    for (let i = 0; i < 200_000; i++)
      rows.push(
        JSON.stringify({
          images: [],
          prompt: [{ role: 'user', content: `question ${i}` }],
          chosen: [{ role: 'assistant', content: `good answer ${i}` }],
          rejected: [{ role: 'assistant', content: 'bad' }],
        }),
      );
    writeFileSync(input, `${rows.join('\n')}\n`);
    const outDir = at('conv');
    const r = await interruptCli(
      ['convert', '--from', 'trl', '--to', 'llamafactory', input, path.join(outDir, 'train.json')],
      /convert trl→llamafactory: \d+\/200000/,
      { delayMs: 300 },
    );
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(
      /interrupted: \d+ of 200000 rows done, none kept; rerun the same command to redo \(train\.json was not written\)\n$/,
    );
    expect(existsSync(outDir) ? readdirSync(outDir) : []).toEqual([]);
  }, 120_000);

  it('train sft: stops after the step, keeps <out>/last for --resume, leaves no temp file', async () => {
    const out = at('sft');
    const r = await interruptCli(
      ['train', 'sft', '--data', world, '--out', out, '--steps', '3000'],
      /sft: [1-9]\d*\/3000/,
    );
    expect(r.code, r.stderr).toBe(130);
    const m = /interrupted: (\d+) of 3000 steps written; rerun with --resume to continue from <out>\/last\n/.exec(
      r.stderr,
    );
    expect(m, r.stderr).not.toBeNull();
    expect(readdirSync(path.join(out, 'last')).sort()).toEqual(
      ['config.json', 'model.safetensors', 'optimizer.safetensors', 'tokenizer.json', 'trainer_state.json'].sort(),
    );
    expect(leftovers(out)).toEqual([]);
  }, 120_000);

  it('construct: finishes the requests in flight, keeps them, and a rerun completes without duplicates', async () => {
    const fx = await startFixtureServer({ behave: () => ({ kind: 'ok', delayMs: 40 }) });
    try {
      const dir = at('construct');
      writeSampleSet(dir, 60, { image: false });
      const cfg = path.join(dir, 'c.yaml');
      writeFileSync(
        cfg,
        stringify({
          run: 'run',
          models: { pol: { spec: `openai:fixture@${fx.url}`, policy: true, concurrency: 2 } },
          stages: [
            { stage: 'source', files: ['samples.jsonl'] },
            { stage: 'responses', models: ['pol'], n: 2 },
          ],
        }),
      );
      const r = await interruptCli(['construct', cfg], /responses: \d+\/60/, { delayMs: 300 });
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toMatch(/interrupted: \d+ items \(this run\) written; rerun the same command to resume\n$/);
      const out = path.join(dir, 'run', 'stages', 'responses', 'out.jsonl');
      const partial = readOutput(out);
      expect(partial.duplicates).toEqual([]);
      expect(partial.ids.length).toBeLessThan(120);
      const again = await runCliAsync(['construct', cfg]);
      expect(again.code, again.stderr).toBe(0);
      const full = readOutput(out);
      expect(full.duplicates).toEqual([]);
      expect(full.ids).toHaveLength(120);
      expect(leftovers(path.join(dir, 'run'))).toEqual([]);
    } finally {
      await fx.close();
    }
  }, 120_000);

  it('eval run: keeps the finished requests, writes no metrics; a rerun resumes; a finished run is left as it was', async () => {
    const fx = await startFixtureServer({ behave: () => ({ kind: 'ok', delayMs: 30 }) });
    try {
      const out = at('eval');
      const args = (seed: string) => [
        'eval',
        'run',
        '--suite',
        'shapes',
        '--model',
        `openai:fixture@${fx.url}`,
        '--limit',
        '40',
        '--concurrency',
        '2',
        '--seed',
        seed,
        '--out',
        out,
      ];
      const r = await interruptCli(args('1'), /: 16\/\d+ requests done/, { delayMs: 200 });
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toMatch(
        /interrupted: [1-9]\d* requests written to the cache; rerun the same command to resume \(metrics\.json and report\.html are written when the run completes\)\n$/,
      );
      const partial = readdirSync(out).sort();
      for (const f of ['metrics.json', 'report.html', 'run.json', 'samples.jsonl']) expect(partial).not.toContain(f);
      expect(leftovers(out)).toEqual([]);
      const cachedBefore = readFileSync(path.join(out, 'responses.jsonl'), 'utf8').trim().split('\n').length;

      const again = await runCliAsync(args('1'));
      expect(again.code, again.stderr).toBe(0);
      const keys = readFileSync(path.join(out, 'responses.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).key as string);
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys.length).toBeGreaterThan(cachedBefore);
      expect(again.stderr).toMatch(/cached or shared|from cache/);

      // a complete run, then an interrupted rerun with another seed: the complete run's files are untouched
      const complete = snapshot(out);
      const other = await interruptCli(args('2'), /: 16\/\d+ requests done/, { delayMs: 200 });
      expect(other.code, other.stderr).toBe(130);
      const after = snapshot(out);
      for (const f of ['metrics.json', 'report.html', 'run.json', 'samples.jsonl']) expect(after[f]).toBe(complete[f]);
      expect(leftovers(out)).toEqual([]);
    } finally {
      await fx.close();
    }
  }, 180_000);

  it('export: OUT stays absent (or empty as it was) and no temp folder is left', async () => {
    // 8,000 records, each with its own image, so copying the media takes long enough to interrupt
    const template = JSON.parse(readFileSync('src/export/golden/input/prefs.jsonl', 'utf8').split('\n')[1]);
    const src = at('exp-src');
    mkdirSync(path.join(src, 'media'), { recursive: true });
    const rows: string[] = [];
    for (let i = 0; i < 8000; i++) {
      const [width, height] = [4 + (i % 60), 4 + Math.floor(i / 60)];
      const png = solidPng(width, height, [200, 40, 40]);
      writeFileSync(path.join(src, 'media', `i${i}.png`), png);
      const sha256 = createHash('sha256').update(png).digest('hex');
      const media = [{ kind: 'image', path: `media/i${i}.png`, sha256, width, height }];
      rows.push(JSON.stringify({ ...template, id: `p${i}`, sampleId: `s${i}`, media }));
    }
    const input = path.join(src, 'prefs.jsonl');
    writeFileSync(input, `${rows.join('\n')}\n`);
    const args = (out: string) => ['export', '--engine', 'trl', '--objective', 'dpo', '--model', 'm', input, out];
    const fresh = at('exp-fresh');
    const r = await interruptCli(args(fresh), /write: [1-9]\d*\/80\d\d/);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(
      /interrupted: 8000 of 8000 rows checked, none written; rerun the same command to redo \(.*exp-fresh was not written; \d+ of 80\d\d files were ready\)\n$/,
    );
    expect(existsSync(fresh)).toBe(false);
    expect(readdirSync(t.dir).filter((f) => f.includes('exp-fresh'))).toEqual([]);

    // an empty folder made for the output stays empty; a finished export then fills it
    const made = at('exp-made');
    mkdirSync(made);
    const again = await interruptCli(args(made), /write: [1-9]\d*\/80\d\d/);
    expect(again.code, again.stderr).toBe(130);
    expect(readdirSync(made)).toEqual([]);
    expect(readdirSync(t.dir).filter((f) => f.includes('exp-made') && f !== 'exp-made')).toEqual([]);
    const done = await runCliAsync(args(made));
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('8000 records → 8000 candidate rows');
    expect(readdirSync(made)).toContain('README.md');
  }, 180_000);

  it('run: stops, says how many stages are cached, leaves no temp file', async () => {
    const out = at('run');
    const r = await interruptCli(
      ['run', 'recipes/shapes-hallucination.yaml', '--quick', '--out', out],
      /\] [\w-]+: (done in|cached)/,
    );
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted: [1-9]\d* stages written; rerun the same command to resume\n$/);
    expect(leftovers(out)).toEqual([]);
  }, 240_000);
});
