import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../../../test/helpers/cli.ts';

const tmp = tempDir('mmalign-train-cli-');
afterAll(() => tmp.cleanup());

describe('mmalign train sft', () => {
  it('trains a checkpoint from a world folder, resumes, and reports hallucination metrics (captions of the test split, POPE in-distribution)', () => {
    const data = path.join(tmp.dir, 'w');
    const world = runCli([
      'world',
      '--n',
      '12',
      '--seed',
      '2',
      '--tasks',
      'caption,pope',
      '--split',
      'both',
      '--out',
      data,
    ]);
    expect(world.code, world.stderr).toBe(0);
    const cfg = path.join(tmp.dir, 'sft.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        model: { dModel: 16, nHeads: 2, decLayers: 1, encLayers: 1, maxTextLen: 40 },
        steps: 6,
        batchSize: 4,
        checkpointEvery: 3,
        evalEvery: 3,
      }),
    );
    const out = path.join(tmp.dir, 'ck');
    const r = runCli(['train', 'sft', '--data', data, '--out', out, '--config', cfg, '--hallucination', 'test']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    expect(summary).toMatchObject({ steps: 6, stepsRun: 6, stopped: false });
    expect(summary.parameters).toBeGreaterThan(1000);
    expect(summary.hallucination.captions).toBe(12);
    // POPE as the shapes suite asks it: 300 per split on in-distribution scenes of the world (seed 2 + 104729)
    expect(Object.keys(summary.hallucination.pope).sort()).toEqual(['adversarial', 'popular', 'random']);
    expect(summary.hallucination.popeImages).toBe('in-distribution held-out scenes (train statistics, seed 104731)');
    const evalJson = JSON.parse(readFileSync(path.join(out, 'eval.json'), 'utf8'));
    expect(Object.values(evalJson.pope).map((p) => (p as { n: number }).n)).toEqual([300, 300, 300]);
    expect(summary.hallucination.yesToControl).toBeGreaterThanOrEqual(0);
    for (const f of ['model.safetensors', 'config.json', 'tokenizer.json', 'eval.json', 'last/optimizer.safetensors']) {
      expect(existsSync(path.join(out, f)), f).toBe(true);
    }
    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(config.data.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(config.training.sft.steps).toBe(6);

    // extending a finished run: only `steps` may change
    const more = runCli(['train', 'sft', '--data', data, '--out', out, '--config', cfg, '--steps', '8', '--resume']);
    expect(more.code, more.stderr).toBe(0);
    expect(JSON.parse(more.stdout.trim().split('\n').at(-1) as string)).toMatchObject({ resumedFrom: 6, stepsRun: 2 });

    const bad = runCli(['train', 'sft', '--data', path.join(tmp.dir, 'nope'), '--out', out]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/does not exist/);
  });
});
