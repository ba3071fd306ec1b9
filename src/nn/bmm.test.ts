import { beforeAll, describe, expect, it } from 'vitest';
import { batchMatMulSimd } from './bmm.ts';
import { initTf, tf } from './tf.ts';
import { mm } from './vlm.ts';

beforeAll(async () => {
  await initTf();
});

const maxAbsDiff = (x: tf.Tensor, y: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0] as number);

describe('batchMatMulSimd', () => {
  // N = 1, 4, 6, 43: whole 4-column chunks and the run-over of the last chunk into the next row; K = 57, 130:
  // sums over more than one of tfjs-wasm's 48-wide blocks
  const shapes: Array<[number, number, number, number]> = [
    [1, 1, 1, 1],
    [2, 4, 8, 4],
    [3, 5, 7, 6],
    [64, 43, 32, 43],
    [8, 43, 57, 32],
    [4, 10, 130, 7],
  ];
  for (const [B, M, K, N] of shapes)
    for (const ta of [false, true])
      for (const tb of [false, true])
        it(`equals tf.matMul for [${B}, ${M}, ${K}] @ [${B}, ${K}, ${N}], transposeA ${ta}, transposeB ${tb}`, () => {
          const a = tf.randomNormal(ta ? [B, K, M] : [B, M, K], 0, 1, 'float32', 1);
          const b = tf.randomNormal(tb ? [B, N, K] : [B, K, N], 0, 1, 'float32', 2);
          const got = batchMatMulSimd(a, b, ta, tb);
          const want = tf.matMul(a, b, ta, tb);
          expect(got.shape).toEqual([B, M, N]);
          // same products summed in the same order and blocks: bit-identical, so training runs reproduce
          expect(maxAbsDiff(got, want)).toBe(0);
          tf.dispose([a, b, got, want]);
        });

  it('grows its memory for a larger product after a small one, and leaves no row of garbage', () => {
    const small = batchMatMulSimd(tf.ones([2, 1, 1]), tf.ones([2, 1, 1]));
    expect([...small.dataSync()]).toEqual([1, 1]);
    const a = tf.ones([128, 50, 64]);
    const b = tf.ones([128, 64, 45]);
    const big = batchMatMulSimd(a, b);
    const values = big.dataSync();
    expect(values.length).toBe(128 * 50 * 45);
    expect(values.every((v) => v === 64)).toBe(true);
    tf.dispose([small, a, b, big]);
  });

  it('rejects shapes that do not multiply', () => {
    expect(() => batchMatMulSimd(tf.ones([2, 3, 4]), tf.ones([2, 5, 3]))).toThrow(/do not multiply/);
    expect(() => batchMatMulSimd(tf.ones([2, 3, 4]), tf.ones([3, 4, 3]))).toThrow(/do not multiply/);
  });
});

describe('mm on batched rank-3 inputs (the attention path)', () => {
  it('has the value and both gradients of tf.matMul', () => {
    const a = tf.randomNormal([6, 5, 3], 0, 1, 'float32', 3);
    const b = tf.randomNormal([6, 3, 7], 0, 1, 'float32', 4);
    const w = tf.randomNormal([6, 5, 7], 0, 1, 'float32', 5);
    const loss = (f: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(f(x, y), w));
    const [da, db] = tf.grads(loss(mm))([a, b]);
    const [ra, rb] = tf.grads(loss((x, y) => tf.matMul(x, y)))([a, b]);
    expect(maxAbsDiff(mm(a, b), tf.matMul(a, b))).toBe(0);
    expect(maxAbsDiff(da as tf.Tensor, ra as tf.Tensor)).toBe(0);
    expect(maxAbsDiff(db as tf.Tensor, rb as tf.Tensor)).toBe(0);
  });
});
