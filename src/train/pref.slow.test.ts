import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../../test/helpers/cli.ts';
import { disposeVlm, initTf, saveCheckpoint } from '../nn/index.ts';
import { COLORS, colorExamples, SIZE, tinyModel } from './pref.test-support.ts';
import { trainPreference } from './pref.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
beforeAll(async () => {
  await initTf('wasm');
});

const FAST = { evalFraction: 0.25, optim: { lr: 3e-3, warmupSteps: 3 }, batchSize: 16 };

describe('offline preference trainer (learning runs)', () => {
  it('dpo learns the toy task: held-out accuracy and loss improve, every step logs the chosen shift', async () => {
    const model = tinyModel();
    const out = path.join(tmp.dir, 'dpo');
    const r = await trainPreference({
      config: { ...FAST, objective: 'dpo', steps: 30, evalEvery: 10, patience: 0 },
      model,
      train: colorExamples(80),
      outDir: out,
    });
    expect(r.before.accuracy).toBe(0); // π_θ = π_ref: every margin is exactly 0 (strict, as TRL)
    expect(r.before.loss).toBeCloseTo(Math.LN2, 5);
    expect(r.after.accuracy).toBeGreaterThanOrEqual(0.6); // 15 of 19 held-out pairs with seed 0
    expect(r.after.loss).toBeLessThan(r.before.loss);
    const lines = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(30);
    for (const l of lines) expect(typeof l['logps/chosen_shift']).toBe('number');
    expect(lines[0]['logps/chosen_shift']).toBeCloseTo(0, 4); // first step: the policy is the reference
    expect(lines[9]['eval/accuracy']).toBeTypeOf('number');
    expect(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')).training.summary.objective).toBe('dpo');
    disposeVlm(model);
  });

  it('kto on binary labels and dense_dpo on segments train without error and improve', async () => {
    for (const [objective, kind] of [
      ['kto', 'binary'],
      ['dense_dpo', 'segments'],
    ] as const) {
      const model = tinyModel();
      const r = await trainPreference({
        config: { ...FAST, objective, steps: 20, evalEvery: 0, patience: 0 },
        model,
        train: colorExamples(60, kind),
      });
      expect(r.after.loss, objective).toBeLessThan(r.before.loss);
      disposeVlm(model);
    }
  });
});

describe('mmalign train pref', () => {
  it('trains a checkpoint end to end and prints a summary', async () => {
    const model = tinyModel();
    const ckpt = path.join(tmp.dir, 'ckpt');
    await saveCheckpoint(ckpt, model);
    disposeVlm(model);
    const dir = path.join(tmp.dir, 'cli-data');
    mkdirSync(path.join(dir, 'media'), { recursive: true });
    const lines: string[] = [];
    for (const [c, rgb] of Object.entries(COLORS)) {
      const png = new PNG({ width: SIZE, height: SIZE });
      png.data = Buffer.from(Array.from({ length: SIZE * SIZE }, () => [...rgb, 255]).flat());
      writeFileSync(path.join(dir, `media/${c}.png`), PNG.sync.write(png));
      const wrong = Object.keys(COLORS).find((x) => x !== c)!;
      for (let k = 0; k < 4; k++)
        lines.push(
          JSON.stringify({
            id: `${c}${k}`,
            kind: 'pair',
            sampleId: c,
            prompt: [{ role: 'user', content: 'what color is it ?' }],
            media: [{ kind: 'image', path: `media/${c}.png`, sha256: 'b'.repeat(64) }],
            chosen: { text: `it is ${c} .` },
            rejected: { text: `it is ${wrong} .` },
            provenance: { source: 'test', createdAt: '2026-01-01T00:00:00Z', annotator: { kind: 'rule', id: 'truth' } },
          }),
        );
    }
    writeFileSync(path.join(dir, 'preferences.jsonl'), lines.join('\n'));
    const out = path.join(tmp.dir, 'cli-out');
    const r = runCli(
      [
        'train',
        'pref',
        '--objective',
        'ipo',
        '--data',
        dir,
        '--model',
        ckpt,
        '--out',
        out,
        '--steps',
        '4',
        '--param',
        'x=1',
      ],
      {},
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/params\.x|x/);
    const ok = runCli([
      'train',
      'pref',
      '--objective',
      'ipo',
      '--data',
      dir,
      '--model',
      ckpt,
      '--out',
      out,
      '--steps',
      '4',
    ]);
    expect(ok.stderr).toContain('pref: 16 preferences');
    expect(ok.code).toBe(0);
    const summary = JSON.parse(ok.stdout);
    expect(summary).toMatchObject({ objective: 'ipo', lastStep: 4 });
    expect(readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4);
  });

  it('train rm and train grpo run end to end from the CLI', () => {
    const ckpt = path.join(tmp.dir, 'ckpt');
    const rm = runCli([
      'train',
      'rm',
      '--data',
      path.join(tmp.dir, 'cli-data'),
      '--model',
      ckpt,
      '--out',
      path.join(tmp.dir, 'rm-out'),
      '--steps',
      '3',
    ]);
    expect(rm.stderr).toContain('rm: 16 preferences');
    expect(rm.code).toBe(0);
    expect(JSON.parse(rm.stdout)).toMatchObject({ steps: 3 });
    const world = path.join(tmp.dir, 'world');
    expect(runCli(['world', '--out', world, '--n', '6', '--tasks', 'count', '--size', '32']).code).toBe(0);
    const g = runCli([
      'train',
      'grpo',
      '--data',
      world,
      '--model',
      ckpt,
      '--out',
      path.join(tmp.dir, 'grpo-out'),
      '--steps',
      '2',
      '--prompts',
      '2',
      '--group-size',
      '2',
      '--tasks',
      'count',
      '--reward',
      'verifiable',
      '--reward',
      'format=0.5',
    ]);
    expect(g.stderr).toContain('grpo: 6 prompts');
    expect(g.code).toBe(0);
    expect(JSON.parse(g.stdout)).toMatchObject({
      objective: 'grpo',
      stepsRun: 2,
      rewards: [
        { name: 'verifiable', weight: 1 },
        { name: 'format', weight: 0.5 },
      ],
    });
    const bad = runCli([
      'train',
      'grpo',
      '--data',
      world,
      '--model',
      ckpt,
      '--out',
      path.join(tmp.dir, 'g2'),
      '--reward',
      'nope',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown reward "nope"');
  });
});
