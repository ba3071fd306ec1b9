import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir } from '../../test/helpers/cli.ts';

/** `mmalign run --quick` as a user runs it; `until` (polled) kills the child with SIGKILL when it returns true. */
function runQuick(
  out: string,
  until?: () => boolean,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, [BIN, 'run', '--quick', '--out', out], {
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

  it('runs every stage end to end, and a run SIGKILLed after SFT resumes without redoing it and ends with the same numbers', async () => {
    const a = path.join(t.dir, 'a');
    const r = await runQuick(a);
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
      'GRPO rule reward',
    ])
      expect(r.stdout).toContain(label);
    expect(existsSync(path.join(a, 'report.html'))).toBe(true);
    const html = readFileSync(path.join(a, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('CHAIR-i');
    expect(cells(a)).toHaveLength(10);

    const b = path.join(t.dir, 'b');
    const sftDone = () =>
      existsSync(path.join(b, 'stages')) &&
      readdirSync(path.join(b, 'stages')).some(
        (d) => d.startsWith('sft-') && existsSync(path.join(b, 'stages', d, 'result.json')),
      );
    const killed = await runQuick(b, sftDone);
    expect(killed.signal).toBe('SIGKILL');
    const resumed = await runQuick(b);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/world: cached/);
    expect(resumed.stderr).toMatch(/sft: cached/);
    // same seed, same data, same numbers (timings aside)
    expect(cells(b)).toEqual(cells(a));
  }, 600_000);
});
