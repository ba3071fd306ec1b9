import { beforeAll, describe, expect, it } from 'vitest';
import { disposeVlm, initTf, responseLogprobs, tf } from '../nn/index.ts';
import type { SftExample } from './data.ts';
import { COLORS, colorExamples, solid, tinyModel } from './pref.test-support.ts';
import { trainPreference } from './pref.ts';
import { replayBatch, replayExamples, replayLoss, withReplay } from './replay.ts';

beforeAll(async () => {
  await initTf('wasm');
});

const mixture: SftExample[] = Object.keys(COLORS).flatMap((c, i) => [
  { id: `cap${i}`, task: 'caption', image: solid(COLORS[c]!), prompt: 'what color is it ?', answer: `it is ${c} .` },
  { id: `att${i}`, task: 'attribute', image: solid(COLORS[c]!), prompt: 'what color is it ?', answer: c },
]);

describe('replay against forgetting', () => {
  it('replays every task but the (noisy) captions, with a seeded batch per step', () => {
    const pool = replayExamples(mixture);
    expect(pool.map((e) => e.task)).toEqual(['attribute', 'attribute', 'attribute', 'attribute']);
    const r = { examples: pool, weight: 1, batchSize: 3, seed: 7 };
    expect(replayBatch(r, 5).map((e) => e.id)).toEqual(replayBatch(r, 5).map((e) => e.id));
    const draws = new Set(
      Array.from({ length: 8 }, (_, s) =>
        replayBatch(r, s)
          .map((e) => e.id)
          .join(),
      ),
    );
    expect(draws.size).toBeGreaterThan(1);
  });

  it('with exactCaptions, keeps the captions that have a ground-truth text and trains on that text', () => {
    const withTruth = mixture.map((e, i) =>
      e.task === 'caption' && i > 0 ? { ...e, exactAnswer: `exact ${e.id}` } : e,
    );
    const pool = replayExamples(withTruth, { exactCaptions: true });
    // the first caption has no ground truth: dropped, as without the option
    expect(pool.filter((e) => e.task === 'caption').map((e) => [e.id, e.answer])).toEqual([
      ['cap1', 'exact cap1'],
      ['cap2', 'exact cap2'],
      ['cap3', 'exact cap3'],
    ]);
    expect(pool.filter((e) => e.task !== 'caption')).toHaveLength(4);
    expect(replayExamples(withTruth).every((e) => e.task !== 'caption')).toBe(true);
  });

  it('adds λ · the token-mean NLL of the step batch, and is the loss itself at λ = 0', () => {
    const m = tinyModel();
    const r = { examples: replayExamples(mixture), weight: 0.5, batchSize: 2, seed: 1 };
    const base = tf.scalar(0.25);
    expect(withReplay(base, m, { ...r, weight: 0 }, 3)).toBe(base);
    const got = tf.tidy(() => withReplay(base, m, r, 3).dataSync()[0]!);
    const batch = replayBatch(r, 3);
    const want = tf.tidy(() => {
      const s = responseLogprobs(
        m,
        batch.map((e) => ({ image: e.image, prompt: e.prompt, response: e.answer })),
      );
      return (-tf.sum(s.tokenLogps).dataSync()[0]! / tf.sum(s.mask).dataSync()[0]!) * 0.5 + 0.25;
    });
    expect(got).toBeCloseTo(want, 5);
    expect(tf.tidy(() => replayLoss(m, batch).dataSync()[0]!)).toBeCloseTo((want - 0.25) / 0.5, 5);
    disposeVlm(m);
  });

  it('changes the preference trainer only when on, and logs replay/nll', async () => {
    const train = colorExamples(24);
    const run = async (weight: number) => {
      const model = tinyModel();
      const r = await trainPreference({
        config: { objective: 'dpo', steps: 4, batchSize: 4, evalEvery: 0, patience: 0, seed: 2 },
        model,
        train,
        replay: weight ? { examples: replayExamples(mixture), weight, batchSize: 4, seed: 2 } : undefined,
      });
      disposeVlm(model);
      return r.history;
    };
    const off = await run(0);
    const on = await run(1);
    expect(off[0]!['replay/nll']).toBeUndefined();
    expect(on[0]!['replay/nll']).toBeGreaterThan(0);
    expect(on[0]!.loss).toBeCloseTo(off[0]!.loss + on[0]!['replay/nll']!, 5);
    expect(on[3]!.loss).not.toBe(off[3]!.loss);
  });
});
