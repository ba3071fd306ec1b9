/**
 * Losses and loss+gradient evaluations per second for every objective on a batch of 64 pairs (64 rollouts of
 * 16 tokens for the online ones, 16 tokens per answer for dense_dpo), beside plain dpo in the same run.
 *
 *   npx tsx bench/objectives.ts [--backend wasm|cpu] [--ms 400]
 *
 * Gradients are taken with respect to every policy-side input (what a trainer back-propagates into the model).
 */
import { initTf, type TfBackend, tf } from '../src/nn/tf.ts';
import {
  computeObjective,
  FIELDS,
  type FieldName,
  OBJECTIVE_NAMES,
  OBJECTIVES,
  type ObjectiveBatch,
  type ObjectiveName,
} from '../src/objectives/index.ts';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const backend = opt('backend', 'wasm') as TfBackend;
let budgetMs = Number(opt('ms', '400'));
const B = 64;
const T = 16;

let seed = 12345;
const rand = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const seq = (lo: number, hi: number) => tf.tensor1d(Array.from({ length: B }, () => lo + rand() * (hi - lo)));
const tok = (lo: number, hi: number, rows = B) =>
  tf.tensor2d(
    Array.from({ length: rows * T }, () => lo + rand() * (hi - lo)),
    [rows, T],
  );

function makeBatch(name: ObjectiveName): ObjectiveBatch {
  const e = OBJECTIVES[name];
  const b: ObjectiveBatch = {};
  for (const f of [...e.needs, ...e.optional] as FieldName[]) {
    const shape = FIELDS[f].shape;
    if (f === 'beta') continue;
    if (f.endsWith('mask')) b[f] = tf.ones([B, T]);
    else if (f.endsWith('weights')) b[f] = tok(1, 3);
    else if (f.endsWith('lengths')) b[f] = seq(4, 20);
    else if (f === 'rewards') b[f] = name === 'ppo' ? seq(0, 1) : tf.tensor2d(Array.from({ length: B }, rand), [16, 4]);
    else if (shape === 'token') b[f] = tok(-3, -0.05);
    else if (f.includes('rewards') || f === 'reward_margins' || f.includes('seq_kl')) b[f] = seq(0, 2);
    else b[f] = seq(-40, -5);
  }
  return b;
}

/** Inputs a trainer differentiates: the policy's log-probs (and the rewards for the reward model). */
function diffFields(name: ObjectiveName, b: ObjectiveBatch): FieldName[] {
  const fs = (Object.keys(b) as FieldName[]).filter((f) => f.startsWith('policy_') || f === 'sft_logps');
  return name === 'bt' ? ['chosen_rewards', 'rejected_rewards'] : fs;
}

function rate(fn: () => void): number {
  for (let i = 0; i < 5; i++) fn();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < budgetMs) {
    fn();
    n++;
  }
  return (n * 1000) / (performance.now() - t0);
}

await initTf(backend);
function measure(name: ObjectiveName) {
  const batch = makeBatch(name);
  const fields = diffFields(name, batch);
  const lossRate = rate(() => computeObjective(name, batch).loss.dispose());
  const gradRate = rate(() => {
    const { value, grads } = tf.valueAndGrads((...ts: tf.Tensor[]) => {
      const b = { ...batch };
      fields.forEach((f, i) => {
        b[f] = ts[i];
      });
      return computeObjective(name, b).loss;
    })(fields.map((f) => batch[f]!));
    value.dispose();
    for (const g of grads) g.dispose();
  });
  for (const t of Object.values(batch)) t?.dispose();
  return { name, loss: lossRate, grad: gradRate };
}
// one warm-up pass (wasm kernels, JIT), then dpo first and last: the baseline is their mean
const budget = budgetMs;
budgetMs = 50;
for (const name of OBJECTIVE_NAMES) measure(name);
budgetMs = budget;
const first = measure('dpo');
const rows = OBJECTIVE_NAMES.filter((n) => n !== 'dpo').map(measure);
const last = measure('dpo');
const base = { name: 'dpo' as ObjectiveName, loss: (first.loss + last.loss) / 2, grad: (first.grad + last.grad) / 2 };
rows.unshift(base);
console.log(
  `dpo baseline drift over the run: loss/s ${first.loss.toFixed(0)} → ${last.loss.toFixed(0)}, loss+grad/s ${first.grad.toFixed(0)} → ${last.grad.toFixed(0)}`,
);
console.log(
  `objectives bench: backend ${tf.getBackend()}, batch ${B} (T = ${T} for per-token inputs), ${budgetMs} ms each`,
);
console.log('| objective | loss/s | ×dpo | loss+grad/s | ×dpo |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows)
  console.log(
    `| ${r.name} | ${r.loss.toFixed(0)} | ${(r.loss / base.loss).toFixed(2)} | ${r.grad.toFixed(0)} | ${(r.grad / base.grad).toFixed(2)} |`,
  );
console.log(`tensors alive at the end: ${tf.memory().numTensors}`);
