import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { interruptCli, runCli, runCliAsync, tempDir } from '../../test/helpers/cli.ts';
import { readOutput, writeSampleSet } from '../construct/testing.ts';
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
