import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/cli.ts';
import { AdamW, OptimConfig, trainableWeights, trainStep } from '../train/common.ts';
import { encodeBatch } from './batch.ts';
import { createVlm, loadCheckpoint, saveCheckpoint, type Vlm } from './checkpoint.ts';
import { generateText } from './generate.ts';
import { imagesToFloat } from './image.ts';
import { responseLogprobs } from './logprobs.ts';
import { decodeSafetensors, encodeSafetensors } from './safetensors.ts';
import { initTf, tf } from './tf.ts';
import { EOS, WordTokenizer } from './tokenizer.ts';
import { decode, encodeImages, namedWeights, numPatches, parameterCount, prefill, step, tokenLogprobs } from './vlm.ts';

const newDir = tempDirs('mmalign-ckpt-');

const ARCH = {
  imageSize: 16,
  patchSize: 4,
  mergeSize: 2,
  dModel: 16,
  nHeads: 2,
  encLayers: 1,
  decLayers: 2,
  mlpRatio: 2,
  maxTextLen: 20,
};
const TEXTS = ['Describe the image.', 'a red circle and a blue square.', 'Is there a star? yes no'];

function image(seed: number, size = 16): Uint8Array {
  return Uint8Array.from({ length: size * size * 3 }, (_, i) => (i * 37 + seed * 101) % 256);
}

let m: Vlm;
let summarised: Vlm;
beforeAll(async () => {
  await initTf();
  m = createVlm(ARCH, WordTokenizer.fromTexts(TEXTS), 7);
  summarised = createVlm({ ...ARCH, imageSummary: 'film', patchNorm: true }, WordTokenizer.fromTexts(TEXTS), 7);
  // FiLM starts at zero (plain `add`); random values make the test exercise the product
  summarised.weights.text.film?.assign(tf.randomNormal([16, 16], 0, 0.5, 'float32', 3));
});

describe('vlm shapes', () => {
  it('encodes images to P tokens of C channels and decodes text positions', () => {
    tf.tidy(() => {
      const imgs = tf.tensor4d(imagesToFloat([image(1), image(2)], 16), [2, 16, 16, 3]);
      expect(numPatches(m.config)).toBe(4); // 4×4 patches of 4 px, merged 2×2
      expect(encodeImages(m.weights, m.config, imgs).shape).toEqual([2 * 4, 16]);
      const ids = tf.tensor2d([2, 5, 6, 3, 2, 7, 8, 3], [2, 4], 'int32');
      const visual = tf.zeros([2, 4, 16]);
      expect(decode(m.weights, m.config, visual, ids).hidden.shape).toEqual([2, 4, 16]);
      expect(tokenLogprobs(m.weights, m.config, imgs, ids).shape).toEqual([2, 3]);
    });
  });

  it('counts parameters from the weight record', () => {
    const C = 16;
    const F = 32;
    const V = m.tokenizer.size;
    const block = 4 * C * C + 4 * C + 2 * C * F + F + C + 4 * C; // q,k,v,proj + biases, mlp, 2 LayerNorms
    const expected =
      48 * C +
      C +
      16 * C +
      block +
      2 * C +
      (4 * C * C + C + C * C + C) +
      C +
      V * C +
      (4 + 20) * C +
      2 * block +
      2 * C +
      C * V;
    expect(parameterCount(m.weights)).toBe(expected);
    expect(new Set(namedWeights(m.weights).map(([n]) => n)).size).toBe(namedWeights(m.weights).length);
  });
});

describe('causal masking', () => {
  it('changing a later token does not change earlier log-probs', () => {
    const [a, b] = tf.tidy(() => {
      const imgs = tf.tensor4d(imagesToFloat([image(3)], 16), [1, 16, 16, 3]);
      const ids1 = tf.tensor2d([[2, 5, 6, 3, 7, 8, 9]], undefined, 'int32');
      const ids2 = tf.tensor2d([[2, 5, 6, 3, 7, 8, 10]], undefined, 'int32');
      return [tokenLogprobs(m.weights, m.config, imgs, ids1), tokenLogprobs(m.weights, m.config, imgs, ids2)];
    });
    const x = a.arraySync() as number[][];
    const y = b.arraySync() as number[][];
    // outputs 0..4 score ids[1..5], which are equal; output 5 scores the changed last token
    expect(x[0]?.slice(0, 5)).toEqual(y[0]?.slice(0, 5));
    expect(x[0]?.[5]).not.toEqual(y[0]?.[5]);
    a.dispose();
    b.dispose();
  });

  it('the image changes the text log-probs (the decoder attends to it)', () => {
    const [a, b] = tf.tidy(() => {
      const ids = tf.tensor2d([[2, 5, 6, 3, 7]], undefined, 'int32');
      const i1 = tf.tensor4d(imagesToFloat([image(1)], 16), [1, 16, 16, 3]);
      const i2 = tf.tensor4d(imagesToFloat([image(9)], 16), [1, 16, 16, 3]);
      return [tokenLogprobs(m.weights, m.config, i1, ids), tokenLogprobs(m.weights, m.config, i2, ids)];
    });
    expect(a.arraySync()).not.toEqual(b.arraySync());
    a.dispose();
    b.dispose();
  });
});

describe('decoding', () => {
  it.each([false, true])(
    'KV-cache steps give the same logits as a full recompute (image summary and normalised patches: %s)',
    (summary) => {
      const model = summary ? summarised : m;
      const seq = [2, 5, 6, 3, 7, 8, 9, 10];
      const prefixLen = 4;
      const out = tf.tidy(() => {
        const imgs = tf.tensor4d(imagesToFloat([image(4)], 16), [1, 16, 16, 3]);
        let state = prefill(
          model.weights,
          model.config,
          imgs,
          tf.tensor2d([seq.slice(0, prefixLen)], undefined, 'int32'),
        );
        const cached: tf.Tensor[] = [state.logits];
        for (let t = prefixLen; t < seq.length; t++) {
          state = step(model.weights, model.config, state, tf.tensor1d([seq[t] as number], 'int32'));
          cached.push(state.logits);
        }
        const full: tf.Tensor[] = [];
        for (let t = prefixLen; t <= seq.length; t++) {
          full.push(
            prefill(model.weights, model.config, imgs, tf.tensor2d([seq.slice(0, t)], undefined, 'int32')).logits,
          );
        }
        return [tf.concat(cached), tf.concat(full)];
      });
      const [a, b] = out as [tf.Tensor, tf.Tensor];
      const x = a.dataSync();
      const y = b.dataSync();
      expect(x.length).toBe(y.length);
      for (let i = 0; i < x.length; i++) expect(x[i]).toBeCloseTo(y[i] as number, 4);
      a.dispose();
      b.dispose();
    },
  );

  it('sampled log-probs equal the teacher-forced log-probs the decoder assigns to the same text', () => {
    const img = image(5);
    const [gen] = generateText(m, [{ image: img, prompt: 'Describe the image.' }], {
      n: 1,
      temperature: 1,
      seed: 3,
      maxTokens: 6,
    });
    const g = gen?.[0];
    if (!g) throw new Error('no generation');
    expect(g.tokens.length).toBeGreaterThan(0);
    const ids = g.ids;
    const scored = tf.tidy(() => {
      const row = [2, ...m.tokenizer.encode('Describe the image.'), 3, ...ids];
      const imgs = tf.tensor4d(imagesToFloat([img], 16), [1, 16, 16, 3]);
      return tokenLogprobs(m.weights, m.config, imgs, tf.tensor2d([row], undefined, 'int32'));
    });
    const lp = scored.dataSync();
    scored.dispose();
    const start = lp.length - ids.length;
    g.logprobs.forEach((x, k) => {
      expect(x).toBeCloseTo(lp[start + k] as number, 4);
    });
  });

  it('responseLogprobs sums the per-token log-probs over the answer (incl. <eos>) only', () => {
    const items = [
      { image: image(1), prompt: 'Describe the image.', response: 'a red circle.' },
      { image: null, prompt: 'Is there a star?', response: 'no' },
    ];
    const r = tf.tidy(() => {
      const s = responseLogprobs(m, items);
      return tf.concat([tf.reshape(s.seqLogps, [2, 1]), s.tokenLogps, s.mask], 1);
    });
    const rows = r.arraySync() as number[][];
    r.dispose();
    const enc = encodeBatch(
      m.tokenizer,
      items.map((i) => ({ prompt: i.prompt, answer: i.response })),
      20,
    );
    const W = enc.T - 1;
    rows.forEach((row, b) => {
      const logps = row.slice(1, 1 + W);
      const mask = row.slice(1 + W);
      expect(mask.reduce((a, x) => a + x, 0)).toBe(enc.answers[b]?.length);
      expect(enc.answers[b]?.at(-1)).toBe(EOS);
      expect(row[0]).toBeCloseTo(
        logps.reduce((a, x) => a + x, 0),
        4,
      );
      logps.forEach((x, t) => {
        if (mask[t] === 0) expect(Math.abs(x)).toBe(0);
        else expect(x).toBeLessThan(0);
      });
    });
  });

  it('greedy decoding is deterministic and seeded sampling is reproducible', () => {
    const req = [{ image: image(2), prompt: 'Describe the image.' }];
    const g1 = generateText(m, req, { temperature: 0, maxTokens: 5 });
    const g2 = generateText(m, req, { temperature: 0, maxTokens: 5 });
    expect(g1).toEqual(g2);
    const s1 = generateText(m, req, { n: 3, temperature: 1, seed: 11, maxTokens: 5 });
    const s2 = generateText(m, req, { n: 3, temperature: 1, seed: 11, maxTokens: 5 });
    expect(s1).toEqual(s2);
    expect(s1[0]).toHaveLength(3);
  });
});

describe('training', () => {
  it('every kernel of one training step exists on the wasm backend', async () => {
    const wasm = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
    const opt = new AdamW(trainableWeights(m), OptimConfig.parse({}));
    const items = [
      { image: image(1), prompt: 'Describe the image.', response: 'a red circle.' },
      { image: null, prompt: 'Is there a star?', response: 'yes' },
    ];
    const info = await tf.profile(() => {
      trainStep(opt, 1e-3, () => {
        const s = responseLogprobs(m, items);
        return tf.neg(tf.mean(s.seqLogps)) as tf.Scalar;
      });
    });
    const used = [...new Set(info.kernels.map((k) => k.name))];
    expect(used).toContain('BatchMatMul');
    expect(used).toContain('Softmax');
    expect(used.length).toBeGreaterThan(15);
    // names that no backend registers are JS-level compositions (customGrad wrappers: `forward`, `logSoftmax__op`),
    // whose inner kernels are profiled on their own; every real kernel must exist on wasm
    const cpu = new Set(tf.getKernelsForBackend('cpu').map((k) => k.kernelName));
    expect(used.filter((k) => !wasm.has(k) && cpu.has(k))).toEqual([]);
    expect(used.filter((k) => !wasm.has(k) && !cpu.has(k)).every((k) => k === 'forward' || k.endsWith('__op'))).toBe(
      true,
    );
    opt.dispose();
  });

  it('loss falls over a few steps of training and tensors do not leak', () => {
    const local = createVlm(ARCH, WordTokenizer.fromTexts(TEXTS), 1);
    const opt = new AdamW(trainableWeights(local), OptimConfig.parse({ lr: 1e-2, warmupSteps: 0 }));
    const items = [
      { image: image(1), prompt: 'Describe the image.', response: 'a red circle.' },
      { image: image(2), prompt: 'Describe the image.', response: 'a blue square.' },
    ];
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    for (let i = 0; i < 40; i++) {
      losses.push(
        trainStep(opt, 1e-2, () => {
          const s = responseLogprobs(local, items);
          return tf.div(tf.neg(tf.sum(s.tokenLogps)), tf.sum(s.mask)) as tf.Scalar;
        }).loss,
      );
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(losses[0]).toBeGreaterThan(2);
    expect(losses.at(-1)).toBeLessThan((losses[0] as number) * 0.3);
    // and the image decides which caption: the trained model prefers each image's own caption
    const [own, swapped] = tf.tidy(() => [
      responseLogprobs(local, items).seqLogps,
      responseLogprobs(local, [
        { ...items[0], image: image(2) } as (typeof items)[0],
        { ...items[1], image: image(1) } as (typeof items)[0],
      ]).seqLogps,
    ]) as [tf.Tensor, tf.Tensor];
    const o = own.dataSync();
    const s = swapped.dataSync();
    expect(o[0]).toBeGreaterThan(s[0] as number);
    expect(o[1]).toBeGreaterThan(s[1] as number);
    own.dispose();
    swapped.dispose();
    opt.dispose();
  });
});

describe('checkpoints', () => {
  it.each([
    ['plain', () => m],
    ['with FiLM summary and normalised patches', () => summarised],
  ])('round-trips weights bit-exactly through safetensors + config.json + tokenizer.json (%s)', async (_, model) => {
    const m = model();
    const dir = newDir();
    await saveCheckpoint(dir, m, { training: { steps: 1 }, data: { path: 'x', sha256: 'a'.repeat(64), samples: 3 } });
    const back = await loadCheckpoint(dir);
    expect(back.config).toEqual(m.config);
    expect(back.tokenizer.vocab).toEqual(m.tokenizer.vocab);
    expect(back.checkpoint?.data?.samples).toBe(3);
    const a = namedWeights(m.weights);
    const b = namedWeights(back.weights);
    expect(b.map(([n]) => n)).toEqual(a.map(([n]) => n));
    a.forEach(([, t], i) => {
      const x = new Uint8Array((t.dataSync() as Float32Array).buffer.slice(0));
      const other = b[i]?.[1];
      if (!other) throw new Error(`missing ${i}`);
      const y = new Uint8Array((other.dataSync() as Float32Array).buffer.slice(0));
      expect(Buffer.from(y).equals(Buffer.from(x))).toBe(true);
    });
    // a re-save of the loaded model gives the same bytes
    const dir2 = newDir();
    await saveCheckpoint(dir2, back);
    expect(
      (await readFile(path.join(dir2, 'model.safetensors'))).equals(
        await readFile(path.join(dir, 'model.safetensors')),
      ),
    ).toBe(true);
  });

  it('writes the safetensors layout: u64 LE header length, JSON header, 8-byte aligned, raw LE data', () => {
    const buf = encodeSafetensors(
      new Map([
        ['a', { dtype: 'F32', shape: [2], data: Float32Array.from([1.5, -2]) }],
        ['b', { dtype: 'I32', shape: [1, 1], data: Int32Array.from([7]) }],
      ]),
      { k: 'v' },
    );
    const n = Number(buf.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
    expect(header).toEqual({
      __metadata__: { k: 'v' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'I32', shape: [1, 1], data_offsets: [8, 12] },
    });
    expect(buf.readFloatLE(8 + n + 4)).toBe(-2);
    expect(buf.readInt32LE(8 + n + 8)).toBe(7);
    const back = decodeSafetensors(buf);
    expect([...(back.tensors.get('a')?.data ?? [])]).toEqual([1.5, -2]);
    expect(back.metadata).toEqual({ k: 'v' });
    expect(() => decodeSafetensors(buf.subarray(0, buf.length - 1))).toThrow(/data_offsets/);
  });
});
