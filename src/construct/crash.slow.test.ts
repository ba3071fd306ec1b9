import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { BIN, tempDir } from '../../test/helpers/cli.ts';
import { startFixtureServer } from '../serve/fixture.ts';
import { loadConstructConfig } from './config.ts';
import { runPipeline } from './pipeline.ts';
import { STAGES } from './stages/index.ts';
import { readOutput, writeSampleSet } from './testing.ts';

/**
 * The exactly-once promise under SIGKILL: a child process runs `mmalign construct` against a loopback server and is
 * killed at random moments several times; rerunning the same command each time, the final output must equal an
 * uninterrupted run's — same record ids and texts, none twice, none missing — and only requests that were in flight
 * at a kill may be asked again.
 */
const N = 160;
const MODELS = 2;
const IN_FLIGHT = 12;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function fileSize(f: string): number {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
}

/** Run the CLI; if `killWhen` is given, poll it every 10 ms and SIGKILL the child the first time it says so. */
function runChild(
  cfg: string,
  runDir: string,
  killWhen?: () => boolean,
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'construct', cfg, '--run', runDir], {
      // pauses inside each commit widen the windows a kill must be repaired from (see ledger.ts)
      env: { ...process.env, CI: 'true', MMALIGN_FAULT_STALL_MS: '10' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const poll = killWhen
      ? setInterval(() => {
          if (killWhen()) {
            clearInterval(poll);
            child.kill('SIGKILL');
          }
        }, 10)
      : undefined;
    child.on('exit', (code, signal) => {
      if (poll) clearInterval(poll);
      resolve({ code, signal, stderr });
    });
  });
}

describe('construct survives SIGKILL', () => {
  const t = tempDir('mmalign-crash-');
  afterAll(() => t.cleanup());

  it('a run killed at random points 5 times ends equal to an uninterrupted run', async () => {
    const fx = await startFixtureServer({ behave: () => ({ kind: 'ok', delayMs: 4 }) });
    try {
      const file = writeSampleSet(t.dir, N);
      const cfgFile = path.join(t.dir, 'c.yaml');
      writeFileSync(
        cfgFile,
        stringify({
          seed: 11,
          concurrency: IN_FLIGHT,
          models: {
            a: { spec: `openai:fixture@${fx.url}`, concurrency: 6, temperature: 0.8, policy: true },
            b: { spec: `openai:fixture@${fx.url}`, concurrency: 6, temperature: 1.1 },
          },
          stages: [
            { stage: 'source', files: [path.basename(file)] },
            { stage: 'responses', models: ['a', 'b'], n: 2 },
          ],
        }),
      );

      const ref = await runPipeline(loadConstructConfig(cfgFile, STAGES), { runDir: path.join(t.dir, 'ref') });
      const refServed = fx.served;
      expect(refServed).toBe(N * MODELS);
      const want = readOutput(ref.stages[1].output);
      expect(want.ids).toHaveLength(N * MODELS * 2);

      const runDir = path.join(t.dir, 'killed');
      const srcOut = path.join(runDir, 'stages/source/out.jsonl');
      const respOut = path.join(runDir, 'stages/responses/out.jsonl');
      const respBytes = fileSize(ref.stages[1].output);
      const rand = lcg(20261126);
      const kills: string[] = [];
      const servedBefore = fx.served;
      let killedMidRun = 0;
      for (let k = 0; k < 5; k++) {
        // first kill inside the source stage; then each after a random 4–20% more of the responses are written
        const startSize = fileSize(respOut);
        const target = startSize + Math.round((0.04 + rand() * 0.16) * respBytes);
        const when = k === 0 ? () => fileSize(srcOut) > 0 : () => fileSize(respOut) >= target;
        const r = await runChild(cfgFile, runDir, when);
        kills.push(`${k}: ${r.signal ?? `exit ${r.code}`} at ${fileSize(respOut)} B`);
        if (r.signal === 'SIGKILL') killedMidRun++;
        else expect(r.code, r.stderr).toBe(0);
      }
      const fin = await runChild(cfgFile, runDir);
      expect(fin.code, fin.stderr).toBe(0);
      expect(killedMidRun, kills.join('; ')).toBeGreaterThanOrEqual(4);

      for (const stage of ['source', 'responses']) {
        const got = readOutput(path.join(runDir, 'stages', stage, 'out.jsonl'));
        const exp = readOutput(path.join(t.dir, 'ref/stages', stage, 'out.jsonl'));
        expect(got.duplicates).toEqual([]);
        expect([...got.ids].sort()).toEqual([...exp.ids].sort());
        for (const id of exp.ids) expect(got.byId.get(id)?.text, id).toBe(exp.byId.get(id)?.text);
      }
      // finished requests are not redone: a kill loses at most the requests in flight plus the finished ones in the
      // transaction being committed (≤ IN_FLIGHT each), so extra requests ≤ 2 · IN_FLIGHT per kill
      const extra = fx.served - servedBefore - refServed;
      expect(extra).toBeGreaterThanOrEqual(0);
      expect(extra).toBeLessThanOrEqual(killedMidRun * 2 * IN_FLIGHT);
      expect(existsSync(path.join(runDir, 'summary.json'))).toBe(true);
    } finally {
      await fx.close();
    }
  }, 120_000);
});
