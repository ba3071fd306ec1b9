import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { disposeVlm, initTf, loadCheckpoint, saveCheckpoint } from '../nn/index.ts';
import type { Sample } from '../schema/index.ts';
import { type PromptExample, trainGrpo } from './grpo.ts';
import { COLORS, colorExamples, solid, tinyModel } from './pref.test-support.ts';
import { makeReward } from './rewards.ts';
import { evaluateRm, loadRewardModel, trainRewardModel } from './rm.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
beforeAll(async () => {
  await initTf('wasm');
});

function sample(id: string, task: string, truth: Sample['truth']): Sample {
  return {
    id,
    task,
    truth,
    messages: [{ role: 'user', content: 'what color is it ?' }],
    media: [],
    provenance: { source: 'test', createdAt: '2026-01-01T00:00:00Z' },
  } as Sample;
}

/** Every image is red: the verifiable reward pays 1 for an answer naming red. */
function redPrompts(n: number): PromptExample[] {
  return Array.from({ length: n }, (_, i) => ({
    sample: sample(`s${i}`, 'attribute', { attribute: 'color', answer: 'red' }),
    image: solid(COLORS.red!, i % 5),
    prompt: 'what color is it ?',
  }));
}

describe('reward plug-ins', () => {
  it('verifiable / format / hallucination read the ground truth; weights sum', () => {
    const s = sample('a', 'attribute', { attribute: 'color', answer: 'red' });
    const completions = ['it is red .', 'it is blue .', 'banana'];
    const ctx = { sample: s, image: null, prompt: 'what color is it ?', completions };
    expect(makeReward(['verifiable']).fn(ctx)).toEqual([1, 0, 0]);
    expect(makeReward(['format']).fn(ctx)).toEqual([1, 1, 0]);
    expect(makeReward(['verifiable=2', 'format=0.5']).fn(ctx)).toEqual([2.5, 0.5, 0]);
    const cap = sample('c', 'caption', {
      objects: [{ name: 'circle', attributes: { color: 'red', size: 'large' } }],
      caption: 'a large red circle.',
    });
    const h = makeReward(['hallucination']).fn({
      ...ctx,
      sample: cap,
      completions: ['a large red circle.', 'a large red circle and a blue star.'],
    });
    expect(h).toEqual([0, -1]);
    expect(() => makeReward(['verifyable'])).toThrow(
      /unknown reward "verifyable" \(did you mean "verifiable"\?\); known: verifiable, format, hallucination/,
    );
    expect(() => makeReward(['reward_model'])).toThrow(/--reward-model/);
  });
});

describe('online GRPO / RLOO', () => {
  it('grpo raises the greedy accuracy of a random tiny model on a verifiable task', async () => {
    const model = tinyModel(5);
    const ckpt = path.join(tmp.dir, 'tiny');
    await saveCheckpoint(ckpt, model);
    const reference = await loadCheckpoint(ckpt, { trainable: false });
    const r = await trainGrpo({
      config: {
        steps: 25,
        promptsPerStep: 8,
        groupSize: 4,
        maxTokens: 4,
        evalEvery: 0,
        evalFraction: 0.3,
        optim: { lr: 3e-3, warmupSteps: 3 },
      },
      model,
      reference,
      reward: makeReward(['verifiable']).fn,
      train: redPrompts(48),
      outDir: path.join(tmp.dir, 'grpo'),
    });
    expect(r.before.accuracy).toBeLessThan(0.5);
    expect(r.after.accuracy).toBeGreaterThan(r.before.accuracy + 0.4);
    expect(r.history.at(-1)!.kl).toBeGreaterThan(0);
    disposeVlm(model);
    disposeVlm(reference);
  });

  it('with 2 workers (rollouts and evals split across replicas) the run is bit-identical to 1 worker', async () => {
    const ckpt = path.join(tmp.dir, 'tiny-w');
    await saveCheckpoint(ckpt, tinyModel(5));
    const run = async (workers: number) => {
      const model = await loadCheckpoint(ckpt);
      const reference = await loadCheckpoint(ckpt, { trainable: false });
      const r = await trainGrpo({
        config: { steps: 6, promptsPerStep: 5, groupSize: 4, maxTokens: 4, evalEvery: 3, evalFraction: 0.3 },
        model,
        reference,
        reward: makeReward(['verifiable']).fn,
        train: redPrompts(30),
        workers,
      });
      disposeVlm(model);
      disposeVlm(reference);
      return { history: r.history, before: r.before, after: r.after };
    };
    const one = await run(1);
    expect(await run(2)).toEqual(one);
    expect(one.history.map((h) => h['eval/accuracy']).filter((a) => a !== undefined)).toHaveLength(2);
  });
});

describe('reward model', () => {
  it('learns held-out pairwise accuracy above chance and reloads to the same scores', async () => {
    const out = path.join(tmp.dir, 'rm');
    const train = colorExamples(80);
    const r = await trainRewardModel({
      config: { steps: 50, evalEvery: 0, optim: { lr: 1e-2, warmupSteps: 3 }, evalFraction: 0.25 },
      model: tinyModel(),
      train,
      outDir: out,
    });
    expect(r.after.accuracy).toBeGreaterThan(0.6); // 15 of 19 held-out pairs with seed 0
    expect(r.after.margin).toBeGreaterThan(r.before.margin);
    const back = await loadRewardModel(out, { trainable: false });
    const a = evaluateRm(r.rm, train.slice(0, 8));
    const b = evaluateRm(back, train.slice(0, 8));
    expect(b.margin).toBeCloseTo(a.margin, 5);
  });
});
