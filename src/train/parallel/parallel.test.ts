import { beforeAll, describe, expect, it } from 'vitest';
import { createVlm, initTf, namedWeights, WordTokenizer } from '../../nn/index.ts';
import { squareExamples, TINY_SFT } from '../sft.test-support.ts';
import { ModelArch, type SftConfigInput, trainSft } from '../sft.ts';
import {
  generateParallel,
  parseWorkers,
  ReplicaPool,
  samplingPool,
  setSamplingWorkers,
  stridedShards,
} from './index.ts';

const CONFIG: SftConfigInput = {
  ...TINY_SFT,
  steps: 50,
  batchSize: 8,
  evalEvery: 25,
  checkpointEvery: 0,
  // some rows without their image in most batches: the noImage path and its gradient are sharded too
  imageDropout: 0.2,
};

// rows of three lengths, so shards pad to different lengths and hold different numbers of answer tokens
const EXAMPLES = squareExamples(30, true);
const HELD_OUT = EXAMPLES.slice(0, 6);

beforeAll(async () => {
  await initTf();
});

describe('data-parallel SFT', () => {
  it('1, 2 and 3 workers train the same bits over 50 steps; one fused shard follows the curve within 1e-5', async () => {
    const one = await trainSft({ config: CONFIG, train: EXAMPLES, eval: HELD_OUT, workers: 1 });
    const two = await trainSft({ config: CONFIG, train: EXAMPLES, eval: HELD_OUT, workers: 2 });
    // more workers than shards: the extra one stays idle and nothing changes
    const three = await trainSft({ config: CONFIG, train: EXAMPLES, eval: HELD_OUT, workers: 3 });
    const fused = await trainSft({ config: { ...CONFIG, gradShards: 1 }, train: EXAMPLES, eval: HELD_OUT });
    const losses = (r: typeof one) => r.history.map((h) => h.loss as number);
    const weights = (r: typeof one) => namedWeights(r.model.weights).map(([, v]) => [...v.dataSync()]);
    expect(losses(two)).toHaveLength(50);
    expect(losses(two)).toEqual(losses(one));
    expect(two.history).toEqual(one.history); // eval losses and grad norms included
    expect(weights(two)).toEqual(weights(one));
    expect(losses(three)).toEqual(losses(one));
    expect(weights(three)).toEqual(weights(one));
    // the shard count, not the worker count, sets the float32 summation order
    const gap = Math.max(...losses(one).map((l, i) => Math.abs(l - (losses(fused)[i] as number))));
    expect(gap).toBeLessThan(1e-5);
    expect(gap).toBeGreaterThan(0);
    expect(Math.abs(fused.evalLoss - one.evalLoss)).toBeLessThan(1e-5);
    // tokens/s counts the same text tokens; positions/s the computed ones (shards pad to their own longest row)
    const total = (r: typeof one, rate: number) => Math.round((rate * r.wallMs) / 1000);
    expect(total(two, two.tokensPerSec)).toBe(total(fused, fused.tokensPerSec));
    expect(total(two, two.positionsPerSec)).toBeLessThanOrEqual(total(fused, fused.positionsPerSec));
    expect(total(two, two.positionsPerSec)).toBe(total(one, one.positionsPerSec));
  });
});

describe('ReplicaPool', () => {
  it('a replica that fails answers with MMALIGN_WORKER_FAILED and the pool stays usable', async () => {
    const pool = await ReplicaPool.open(1);
    try {
      await expect(pool.run(0, 'generate', { requests: [], opts: {} })).rejects.toMatchObject({
        code: 'MMALIGN_WORKER_FAILED',
        message: expect.stringMatching(/no model loaded/),
      });
      const tok = new WordTokenizer(['<pad>', '<unk>', '<bos>', '<sep>', '<eos>', 'a']);
      await pool.load(createVlm(ModelArch.parse(CONFIG.model), tok, 0));
      await expect(pool.run(0, 'generate', { requests: [], opts: {} })).resolves.toEqual([]);
    } finally {
      await pool.close();
    }
  });
});

describe('stridedShards / parseWorkers', () => {
  it('deals rows round-robin and drops empty shards', () => {
    expect(stridedShards([0, 1, 2, 3, 4], 2)).toEqual([
      [0, 2, 4],
      [1, 3],
    ]);
    expect(stridedShards([0], 3)).toEqual([[0]]);
  });

  it('reads --workers', () => {
    expect(parseWorkers('3')).toBe(3);
    expect(parseWorkers(undefined)).toBeGreaterThanOrEqual(1);
    expect(() => parseWorkers('0')).toThrow(/positive integer/);
    expect(() => parseWorkers('two')).toThrow(/positive integer/);
  });
});

describe('generateParallel', () => {
  it('samples and greedy answers are identical with 1 and 2 replicas', async () => {
    const trained = await trainSft({ config: { ...CONFIG, steps: 20 }, train: EXAMPLES, workers: 1 });
    const model = trained.model;
    const requests = EXAMPLES.slice(0, 9).map((e) => ({ image: e.image, prompt: e.prompt, key: e.id }));
    const pool = await ReplicaPool.open(1);
    try {
      await pool.load(model);
      for (const opts of [
        { n: 4, temperature: 1, seed: 3, maxTokens: 8 },
        { n: 1, temperature: 0, seed: 0, maxTokens: 8 },
      ]) {
        const one = await generateParallel(undefined, model, requests, opts);
        const two = await generateParallel(pool, model, requests, opts);
        expect(two).toEqual(one);
        expect(one.flat().length).toBe(9 * opts.n);
      }
    } finally {
      await pool.close();
    }
  });
});

describe('the shared sampling pool behind the embedded model', () => {
  it('gives the same generations with 1 and 2 workers, for two models taking turns on the same helpers', async () => {
    const { EmbeddedModel } = await import('../../models/embedded.ts');
    const tok = WordTokenizer.fromTexts(EXAMPLES.flatMap((e) => [e.prompt, e.answer]));
    const models = [3, 4].map(
      (seed) => new EmbeddedModel(createVlm(ModelArch.parse(CONFIG.model), tok, seed), `m${seed}`),
    );
    const samples = EXAMPLES.slice(0, 6).map((e) => ({
      id: e.id,
      messages: [{ role: 'user' as const, content: e.prompt }],
      media: [],
      provenance: { source: 'test', createdAt: '2026-01-01T00:00:00Z' },
    }));
    const params = { n: 3, temperature: 1, maxTokens: 6, seed: 11, logprobs: true };
    const all = async () => {
      const out = [];
      for (const m of [...models, ...models]) out.push(await m.generate(samples as never, params));
      return out;
    };
    setSamplingWorkers(1);
    const one = await all();
    setSamplingWorkers(2);
    try {
      expect(await samplingPool()).toBeDefined();
      expect(await all()).toEqual(one);
    } finally {
      setSamplingWorkers(1);
    }
    expect(one[0]).not.toEqual(one[1]); // the two models really differ
  });
});
