import { describe, expect, it } from 'vitest';
import { initTf, tf } from '../nn/tf.ts';
import { fixtureFor } from './fixtures.test-support.ts';
import { computeObjective, FIELDS, inputToBatch, OBJECTIVE_NAMES, OBJECTIVES, type ObjectiveName } from './index.ts';

/**
 * The trainers run on tfjs-wasm, where some gradients are missing or crash (stack.md traps 4–5). Every objective's
 * loss and input gradients on wasm must equal the cpu backend's.
 */
function lossAndGrads(name: ObjectiveName) {
  const input = fixtureFor(name);
  const batch = inputToBatch(input);
  const fields = [...OBJECTIVES[name].needs, ...OBJECTIVES[name].optional].filter(
    (f) => batch[f] && FIELDS[f].shape !== 'beta' && !f.endsWith('mask'),
  );
  const { value, grads } = tf.valueAndGrads((...ts: tf.Tensor[]) => {
    const b = { ...batch };
    fields.forEach((f, i) => {
      b[f] = ts[i];
    });
    const loss = computeObjective(name, b, input.params ?? {}).loss;
    return tf.addN([loss, ...ts.map((t) => tf.mul(0, tf.sum(t)))]) as tf.Scalar;
  })(fields.map((f) => batch[f]!));
  const out = { loss: value.dataSync()[0]!, grads: grads.map((g) => Array.from(g.dataSync())) };
  for (const t of [value, ...grads, ...Object.values(batch)]) t?.dispose();
  return out;
}

describe('wasm backend agrees with cpu on every objective', () => {
  it('losses and gradients', async () => {
    await initTf('cpu');
    const cpu = OBJECTIVE_NAMES.map(lossAndGrads);
    await initTf('wasm');
    expect(tf.getBackend()).toBe('wasm');
    OBJECTIVE_NAMES.forEach((name, i) => {
      const w = lossAndGrads(name);
      expect(Math.abs(w.loss - cpu[i]!.loss), name).toBeLessThan(1e-5 * Math.max(1, Math.abs(w.loss)));
      w.grads.forEach((g, k) => {
        g.forEach((v, j) => {
          expect(Math.abs(v - cpu[i]!.grads[k]![j]!), `${name} grad ${k}[${j}]`).toBeLessThan(1e-5);
        });
      });
    });
  });
});
