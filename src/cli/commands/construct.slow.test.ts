import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCliAsync, tempDir } from '../../../test/helpers/cli.ts';
import { writeSampleSet } from '../../construct/testing.ts';
import { type FixtureServer, startFixtureServer } from '../../serve/fixture.ts';

// asynchronous: the loopback server lives in this process and must keep answering
const runCli = runCliAsync;

describe('mmalign construct (CLI)', () => {
  const t = tempDir('mmalign-construct-cli-');
  let fx: FixtureServer;
  beforeAll(async () => {
    fx = await startFixtureServer();
  });
  afterAll(async () => {
    await fx.close();
    t.cleanup();
  });

  it('names the file and the misspelt key of a bad config', async () => {
    const cfg = path.join(t.dir, 'bad.yaml');
    writeFileSync(cfg, stringify({ run: 'r', stages: [{ stage: 'source', files: ['x.jsonl'], limt: 3 }] }));
    const r = await runCli(['construct', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`mmalign: error: unknown key "limt" (did you mean "limit"?); known keys here: `);
    expect(r.stderr).toContain(`(${cfg}: stages.0.limt) [zod_unrecognized_keys]`);
  });

  it('runs stage by stage through the per-stage subcommands, in order, and resumes as a no-op', async () => {
    writeSampleSet(t.dir, 5, { image: false });
    const cfg = path.join(t.dir, 'c.yaml');
    writeFileSync(
      cfg,
      stringify({
        run: 'run',
        models: { pol: { spec: `openai:fixture@${fx.url}`, policy: true } },
        stages: [
          { stage: 'source', files: ['samples.jsonl'] },
          { stage: 'responses', models: ['pol'], n: 3 },
        ],
      }),
    );
    const early = await runCli(['construct', 'responses', cfg]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(
      /stage "responses" reads "source", which has not finished[\s\S]*mmalign construct source CONFIG/,
    );

    expect((await runCli(['construct', 'source', cfg])).code).toBe(0);
    const r = await runCli(['construct', 'responses', cfg, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { stages: { name: string; records: number; doneNow: number }[] };
    expect(summary.stages.map((s) => [s.name, s.records, s.doneNow])).toEqual([['responses', 15, 5]]);
    expect(r.stderr).toMatch(/responses \(responses\): 5\/5 items, 15 records/);
    const lines = readFileSync(path.join(t.dir, 'run/stages/responses/out.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(15);

    const again = await runCli(['construct', cfg, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const s2 = JSON.parse(again.stdout) as { stages: { doneNow: number; done: number }[] };
    expect(s2.stages.map((s) => [s.done, s.doneNow])).toEqual([
      [5, 0],
      [5, 0],
    ]);
  });
});
