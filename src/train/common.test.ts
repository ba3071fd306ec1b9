import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../nn/tf.ts';
import { AdamW, lrAt, OptimConfig, trainStep } from './common.ts';

beforeAll(async () => {
  await initTf();
});

describe('lrAt', () => {
  const c = { lr: 1, minLr: 0.1, warmupSteps: 4 };
  it('warms up linearly to lr, then decays by a half cosine to minLr', () => {
    expect([0, 1, 2, 3].map((s) => lrAt(s, 14, c))).toEqual([0.25, 0.5, 0.75, 1]);
    expect(lrAt(4, 14, c)).toBe(1);
    // halfway through the decay: minLr + (lr − minLr)/2
    expect(lrAt(9, 14, c)).toBeCloseTo(0.55, 12);
    expect(lrAt(14, 14, c)).toBeCloseTo(0.1, 12);
    expect(lrAt(99, 14, c)).toBeCloseTo(0.1, 12);
  });
});

describe('AdamW', () => {
  it('matches torch.optim.AdamW on a worked example (two steps, decay on matrices only)', () => {
    // p = [[1, -2]] (matrix, decayed), b = [0.5] (bias, not decayed); loss = sum(p·g0) + sum(b·g1) → constant grads
    const p = tf.variable(tf.tensor2d([[1, -2]]));
    const b = tf.variable(tf.tensor1d([0.5]));
    const cfg = OptimConfig.parse({ lr: 0.1, weightDecay: 0.5, beta1: 0.9, beta2: 0.99, eps: 1e-8, gradClip: 0 });
    const opt = new AdamW(
      [
        ['p', p],
        ['b', b],
      ],
      cfg,
    );
    const g0 = tf.tensor2d([[0.3, -0.4]]);
    const g1 = tf.tensor1d([2]);
    for (let i = 0; i < 2; i++) {
      trainStep(opt, 0.1, () => tf.add(tf.sum(tf.mul(p, g0)), tf.sum(tf.mul(b, g1))) as tf.Scalar);
    }
    // by hand: with constant g, m̂ = g and v̂ = g² at every step, so each step moves −lr·g/(|g|+ε) after decay
    const step = (x: number, g: number, wd: number) => x * (1 - 0.1 * wd) - (0.1 * g) / (Math.abs(g) + 1e-8);
    const p0 = step(step(1, 0.3, 0.5), 0.3, 0.5);
    const p1 = step(step(-2, -0.4, 0.5), -0.4, 0.5);
    const b0 = step(step(0.5, 2, 0), 2, 0);
    const got = [...p.dataSync(), ...b.dataSync()];
    for (const [i, x] of [p0, p1, b0].entries()) expect(got[i]).toBeCloseTo(x, 6);
    opt.dispose();
  });

  it('clips the global gradient norm like clip_grad_norm_ and reports the pre-clip norm', () => {
    const p = tf.variable(tf.tensor1d([0, 0]));
    const opt = new AdamW([['p', p]], OptimConfig.parse({ lr: 1, weightDecay: 0, gradClip: 1 }));
    const r = trainStep(opt, 1, (report) => {
      report('twice', tf.scalar(2));
      return tf.sum(tf.mul(p, tf.tensor1d([3, 4]))) as tf.Scalar;
    });
    expect(r.gradNorm).toBeCloseTo(5, 5);
    expect(r.metrics).toEqual({ twice: 2 });
    // the first Adam step is lr·sign(g) whatever the scale, so check the clipped moment instead: m = (1−β1)·g/5
    const state = new Map(opt.stateTensors());
    expect([...(state.get('m.p') as tf.Tensor).dataSync()].map((x) => Number(x.toFixed(6)))).toEqual([0.06, 0.08]);
    for (const t of state.values()) t.dispose();
    opt.dispose();
  });
});

describe('AdamW fused over all parameters', () => {
  /** The unfused update, one tensor at a time (the optimiser before it was fused): the reference, bit for bit. */
  function unfusedStep(
    ps: tf.Variable[],
    ms: tf.Variable[],
    vs: tf.Variable[],
    gs: tf.Tensor[],
    t: number,
    lr: number,
  ) {
    const c = OptimConfig.parse({});
    tf.tidy(() => {
      const norm = tf.sqrt(tf.addN(gs.map((g) => tf.sum(tf.square(g)))));
      const coef = tf.minimum(1, tf.div(c.gradClip, tf.add(norm, 1e-6)));
      ps.forEach((p, i) => {
        const g = tf.mul(gs[i] as tf.Tensor, coef);
        const m = tf.add(tf.mul(ms[i] as tf.Variable, c.beta1), tf.mul(g, 1 - c.beta1));
        const v = tf.add(tf.mul(vs[i] as tf.Variable, c.beta2), tf.mul(tf.square(g), 1 - c.beta2));
        (ms[i] as tf.Variable).assign(m);
        (vs[i] as tf.Variable).assign(v);
        const update = tf.div(tf.div(m, 1 - c.beta1 ** t), tf.add(tf.sqrt(tf.div(v, 1 - c.beta2 ** t)), c.eps));
        const decayed = p.rank >= 2 ? tf.mul(p, 1 - lr * c.weightDecay) : p;
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    });
  }

  it('gives bit-identical weights and optimizer state to the per-tensor update, clipping on', () => {
    const shapes = [[3, 5], [5], [2, 3, 4], [1]];
    const init = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 10 + i));
    const fused = init.map((x) => tf.variable(x.clone()));
    const ref = init.map((x) => tf.variable(x.clone()));
    const ms = init.map((x) => tf.variable(tf.zerosLike(x)));
    const vs = init.map((x) => tf.variable(tf.zerosLike(x)));
    const opt = new AdamW(
      fused.map((v, i) => [`w${i}`, v] as [string, tf.Variable]),
      OptimConfig.parse({}),
    );
    for (let t = 1; t <= 5; t++) {
      // gradients large enough that clipping (norm > 1) is active on every step
      const gs = shapes.map((s, i) => tf.mul(tf.randomNormal(s, 0, 1, 'float32', 100 * t + i), 3));
      const lr = 0.01 * t;
      tf.tidy(() => opt.apply(Object.fromEntries(fused.map((v, i) => [v.name, gs[i] as tf.Tensor])), lr));
      unfusedStep(ref, ms, vs, gs, t, lr);
      tf.dispose(gs);
    }
    fused.forEach((v, i) => {
      expect([...v.dataSync()]).toEqual([...(ref[i] as tf.Variable).dataSync()]);
    });
    const state = new Map(opt.stateTensors());
    ms.forEach((m, i) => {
      expect([...(state.get(`m.w${i}`) as tf.Tensor).dataSync()]).toEqual([...m.dataSync()]);
      expect([...(state.get(`v.w${i}`) as tf.Tensor).dataSync()]).toEqual([...(vs[i] as tf.Variable).dataSync()]);
    });
    for (const t of state.values()) t.dispose();
    opt.dispose();
  });
});
