import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir } from '../../test/helpers/cli.ts';

/** `mmalign run --quick` as a user runs it; `until` (polled) kills the child with SIGKILL when it returns true. */
function runQuick(
  out: string,
  until?: () => boolean,
  extra: string[] = [],
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, [BIN, 'run', '--quick', '--out', out, ...extra], {
      cwd: ROOT,
      env: { ...process.env, CI: 'true' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const poll = until
      ? setInterval(() => {
          if (until()) child.kill('SIGKILL');
        }, 50)
      : undefined;
    child.on('exit', (code, signal) => {
      if (poll) clearInterval(poll);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const cells = (out: string) =>
  (
    JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')) as {
      methods: { label: string; cells: unknown; pairs: number }[];
    }
  ).methods.map((m) => ({ label: m.label, cells: m.cells, pairs: m.pairs }));

describe('mmalign run --quick (the default recipe on tiny sizes)', () => {
  const t = tempDir('mmalign-recipe-');
  afterAll(() => t.cleanup());

  it('runs every stage end to end; a run SIGKILLed while its methods run side by side resumes without redoing SFT; 1 and 2 workers give the same numbers', async () => {
    const a = path.join(t.dir, 'a');
    const r = await runQuick(a, undefined, ['--workers', '2']);
    expect(r.code, r.stderr).toBe(0);
    // one row per method of the recipe, the report and the metrics
    for (const label of [
      'SFT',
      'SFT on injected chosen (control)',
      'SFT on self chosen (control)',
      'DPO self+rule',
      'DPO injected',
      'mDPO crop',
      'MPO',
      'SimPO',
      'iterative DPO x3',
      'SFT on self chosen + captions (control)',
      'GRPO rule reward',
      'SFT on safety chosen (control)',
      'MPO safety',
      'SFT on mix chosen (control)',
      'MPO hallucination+safety',
      'SFT on verified samples (control)',
      'GRPO verifier',
    ])
      expect(r.stdout).toContain(label);
    expect(existsSync(path.join(a, 'report.html'))).toBe(true);
    const html = readFileSync(path.join(a, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('CHAIR-i');
    expect(cells(a)).toHaveLength(17);
    // one bar line per scenario
    for (const sc of ['hallucination', 'safety', 'reasoning'])
      expect(r.stdout).toMatch(new RegExp(`^${sc} bar \\(`, 'm'));

    const b = path.join(t.dir, 'b');
    // killed once the lanes have finished a method's eval: the other lane is mid-stage
    const methodDone = () =>
      existsSync(path.join(b, 'stages')) &&
      readdirSync(path.join(b, 'stages')).some(
        (d) => d.startsWith('eval-') && existsSync(path.join(b, 'stages', d, 'result.json')),
      );
    const killed = await runQuick(b, methodDone, ['--workers', '2']);
    expect(killed.signal).toBe('SIGKILL');
    const resumed = await runQuick(b, undefined, ['--workers', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/world: cached/);
    expect(resumed.stderr).toMatch(/sft: cached/);
    expect(resumed.stderr).toMatch(/eval-\S+: cached/);
    // same seed, same data, same numbers (timings aside)
    expect(cells(b)).toEqual(cells(a));

    // --seeds 1,2 into a fresh folder: per-seed reports, the aggregate, the cleared-seeds count; seed 1 computed again
    // from scratch on one worker gives the same numbers as the single-seed run on two
    const c = path.join(t.dir, 'c');
    const multi = await runQuick(c, undefined, ['--seeds', '1,2', '--workers', '1']);
    expect(multi.code, multi.stderr).toBe(0);
    expect(multi.stderr).toMatch(/seed 1\n[\s\S]*seed 2\n/);
    expect(multi.stdout).toContain('seeds 1, 2: mean ± half-width of the 95% t interval over seeds');
    expect(multi.stdout).toMatch(/^DPO self\+rule\s+hallucination\s+\S+ \S+\s+\S+ \S+\s+[0-2]\/2\s+(clears|no)/m);
    expect(multi.stdout).toMatch(/^safety bar on the aggregate \(/m);
    for (const s of [1, 2]) expect(existsSync(path.join(c, `seed-${s}`, 'report.html'))).toBe(true);
    expect(cells(path.join(c, 'seed-1'))).toEqual(cells(a));
    const agg = JSON.parse(readFileSync(path.join(c, 'metrics.json'), 'utf8')) as {
      seeds: number[];
      aggregate: { methods: { label: string; perSeed: { chair_i: unknown[] }; clearedSeeds: number }[] };
    };
    expect(agg.seeds).toEqual([1, 2]);
    expect(agg.aggregate.methods).toHaveLength(17);
    for (const m of agg.aggregate.methods) expect(m.perSeed.chair_i).toHaveLength(2);
    const aggHtml = readFileSync(path.join(c, 'report.html'), 'utf8');
    for (const h of ['Hallucination', 'Safety', 'Verifiable reasoning']) expect(aggHtml).toContain(`<h2>${h}</h2>`);
    expect(aggHtml).toContain('class="chart spread"');
  }, 900_000);
});
