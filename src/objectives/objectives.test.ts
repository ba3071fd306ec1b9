import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../nn/tf.ts';
import { fixtureFor, PAIRS, ROLLOUTS, TOKENS } from './fixtures.test-support.ts';
import { reference } from './float64.test-support.ts';
import {
  computeObjective,
  FIELDS,
  type FieldName,
  inputToBatch,
  lossFromInput,
  OBJECTIVE_NAMES,
  OBJECTIVES,
  type ObjectiveInput,
  type ObjectiveName,
  type ObjectiveParams,
} from './index.ts';

const LN2 = Math.LN2;

beforeAll(async () => {
  await initTf('cpu');
});

/** Run one objective on JSON-shaped input and return plain numbers (tensors disposed). */
function run(name: ObjectiveName, input: ObjectiveInput, params?: ObjectiveParams) {
  return lossFromInput(name, params ? { ...input, params } : input);
}

function close(actual: number, expected: number, tol = 2e-6) {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected)));
}

/** Parameter settings beyond the defaults, so every param is exercised against the float64 reference. */
const VARIANTS: Partial<Record<ObjectiveName, ObjectiveParams[]>> = {
  bt: [{ center_rewards_coefficient: 0.01 }],
  dpo: [{ label_smoothing: 0.1 }],
  robust: [{ label_smoothing: 0.2 }],
  simpo: [{ gamma: 0.2, label_smoothing: 0.1 }],
  orpo: [{ lambda: 0.5 }],
  bco_pair: [{ delta: 0.05 }],
  kto: [{ kl: 0.2, desirable_weight: 1.33, undesirable_weight: 0.7 }],
  mdpo: [{ delta: 0.1 }],
  chip: [{ tok_beta: 0.4, sft_weight: 0.5 }],
  dense_dpo: [{ normalize: true }],
  hadpo: [{ sft_weight: 0.3 }],
  mia_dpo: [{ gamma: 0.25 }],
  mm_dpo: [{ w: 1.0, k: 2.0 }],
  dama: [{ data_gap_mean: 0.3, model_gap_mean: 0.5 }],
  mpo: [{ weights: { dpo: 1, bco_pair: 0.5, sft: 0.1 } }],
  grpo: [{ scale_rewards: false, loss_aggregation: 'token', epsilon: 0.1 }, { loss_aggregation: 'fixed' }],
  rloo: [{ loss_aggregation: 'token', epsilon: 0.3, epsilon_high: 0.1 }],
  ppo: [{ whiten: false, epsilon: 0.1 }],
};

describe('every objective equals the independent float64 computation', () => {
  for (const name of OBJECTIVE_NAMES) {
    it(name, () => {
      for (const params of [undefined, ...(VARIANTS[name] ?? [])]) {
        const input = params ? { ...fixtureFor(name), params } : fixtureFor(name);
        close(run(name, input).loss, reference(name, input).loss);
      }
    });
  }
});

describe('values worked by hand and edge cases', () => {
  const one = (pw: number, pl: number, rw: number, rl: number, beta = 1): ObjectiveInput => ({
    beta,
    policy_chosen_logps: [pw],
    policy_rejected_logps: [pl],
    reference_chosen_logps: [rw],
    reference_rejected_logps: [rl],
  });
  const same = {
    ...PAIRS,
    reference_chosen_logps: PAIRS.policy_chosen_logps,
    reference_rejected_logps: PAIRS.policy_rejected_logps,
  };

  it('dpo: z = 0 gives ln 2 (policy = reference), the TRL step-0 invariant', () => {
    close(run('dpo', same).loss, LN2, 1e-7);
    close(run('dpo', same, { label_smoothing: 0.3 }).loss, LN2, 1e-7);
  });
  it('dpo: βz = 1 gives log(1 + e^−1); ε = 0.1 mixes in log(1 + e)', () => {
    close(run('dpo', one(-1, -3, -2, -3)).loss, Math.log1p(Math.exp(-1)));
    close(run('dpo', one(-1, -3, -2, -3), { label_smoothing: 0.1 }).loss, 0.9 * 0.3132616875 + 0.1 * 1.3132616875);
  });
  it('dpo: ε = 0 is plain DPO, and the reward metrics are TRL’s', () => {
    const r = run('dpo', PAIRS, { label_smoothing: 0 });
    close(r.loss, run('dpo', PAIRS).loss, 0);
    // h_w = 0.3·(pw − rw): 0.21, −0.27, 0.36, −0.03 → mean 0.0675; h_l = 0.3·(pl − rl): −0.39, 0.27, −0.51, 0.21 → −0.105
    close(r.metrics['rewards/chosen']!, 0.0675, 1e-6);
    close(r.metrics['rewards/rejected']!, -0.105, 1e-6);
    close(r.metrics['rewards/margins']!, 0.1725, 1e-6);
    expect(r.metrics['rewards/accuracies']).toBe(0.5);
  });
  it('robust: ε = 0 equals dpo; ε = 0.1 at βz = 1 by hand; ε ≥ 0.5 is refused', () => {
    close(run('robust', PAIRS).loss, run('dpo', PAIRS).loss, 1e-7);
    close(
      run('robust', one(-1, -3, -2, -3), { label_smoothing: 0.1 }).loss,
      (0.9 * 0.3132616875 - 0.1 * 1.3132616875) / 0.8,
    );
    expect(() => run('robust', PAIRS, { label_smoothing: 0.5 })).toThrow(/< 0.5/);
  });
  it('hinge: βz = 0.3 gives 0.7, βz = 2 gives 0', () => {
    close(run('hinge', one(-1, -2, -1.3, -2)).loss, 0.7);
    close(run('hinge', one(0, -2, 0, 0)).loss, 0);
  });
  it('ipo: β = 0.5 puts the minimum at z = 1; z = 3 gives 4', () => {
    close(run('ipo', one(-1, -2, -1, -1, 0.5)).loss, 0);
    close(run('ipo', one(-1, -4, -1, -1, 0.5)).loss, 4);
  });
  it('bt: equal rewards give ln 2; a margin of 1 on a gap of 1 too; a gap of 2 gives log(1 + e^−2)', () => {
    close(run('bt', { chosen_rewards: [0.4], rejected_rewards: [0.4] }).loss, LN2);
    close(run('bt', { chosen_rewards: [2], rejected_rewards: [1], reward_margins: [1] }).loss, LN2);
    close(run('bt', { chosen_rewards: [2], rejected_rewards: [0] }).loss, Math.log1p(Math.exp(-2)));
  });
  it('sft: the token mean over the batch, not the mean of per-answer means', () => {
    const r = run('sft', { policy_chosen_logps: [-2, -4], chosen_lengths: [1, 3] });
    close(r.loss, 1.5); // 6 nats / 4 tokens (per-answer means would give 1.667)
  });
  it('simpo: equal length-normalised log-probs give log(1 + e^γ)', () => {
    const x = { policy_chosen_logps: [-4], policy_rejected_logps: [-6], chosen_lengths: [2], rejected_lengths: [3] };
    close(run('simpo', x, { gamma: 0 }).loss, LN2);
    close(run('simpo', x, { gamma: 0.5 }).loss, Math.log1p(Math.exp(0.5)));
  });
  it('orpo: equal odds give NLL + λ·ln 2', () => {
    const x = { policy_chosen_logps: [-2], policy_rejected_logps: [-3], chosen_lengths: [2], rejected_lengths: [3] };
    close(run('orpo', x, { lambda: 0.1 }).loss, 1 + 0.1 * LN2);
  });
  it('kto: zero log-ratios at z0 = 0 give 1 − σ(0) = 0.5', () => {
    const x = {
      beta: 0.2,
      policy_chosen_logps: [-3],
      reference_chosen_logps: [-3],
      policy_rejected_logps: [-5, -6],
      reference_rejected_logps: [-5, -6],
    };
    close(run('kto', x).loss, 0.5);
    expect(run('kto', { ...x, policy_rejected_logps: [], reference_rejected_logps: [] }).loss).toBeCloseTo(0.5, 6);
  });
  it('fdpo: segments at the reference give ln 2; the survey sign would reward pushing hallucinations to −∞', () => {
    const x = {
      policy_chosen_logps: [-1, -2],
      reference_chosen_logps: [-1, -2],
      policy_rejected_logps: [-3],
      reference_rejected_logps: [-3],
    };
    close(run('fdpo', x).loss, LN2);
    const lower = run('fdpo', { ...x, policy_rejected_logps: [-1000] }).loss;
    expect(lower).toBeGreaterThan(0); // bounded below by 0, unlike −[log σ(h_w) − log σ(h_l)]
  });
  it('dense_dpo: weights of 1 reduce it to dpo on the token sums', () => {
    const ones = TOKENS.chosen_token_mask!.map((r) => r.map(() => 1));
    const x = { ...TOKENS, chosen_token_weights: ones, rejected_token_weights: ones };
    const sums = (k: keyof ObjectiveInput, m: number[][]) =>
      (x[k] as number[][]).map((row, i) => row.reduce((a, v, t) => a + v * m[i]![t]!, 0));
    const pairs = {
      beta: 0.3,
      policy_chosen_logps: sums('policy_chosen_token_logps', x.chosen_token_mask!),
      policy_rejected_logps: sums('policy_rejected_token_logps', x.rejected_token_mask!),
      reference_chosen_logps: sums('reference_chosen_token_logps', x.chosen_token_mask!),
      reference_rejected_logps: sums('reference_rejected_token_logps', x.rejected_token_mask!),
    };
    close(run('dense_dpo', x).loss, run('dpo', pairs).loss, 1e-6);
    expect(Math.abs(run('dense_dpo', TOKENS).loss - run('dpo', pairs).loss)).toBeGreaterThan(1e-3);
  });
  it('mdpo: policy = reference on all terms gives 3·ln 2; δ shifts only the anchor', () => {
    const x = {
      ...same,
      reference_chosen_logps_corrupt: PAIRS.policy_chosen_logps_corrupt,
    };
    const r = run('mdpo', x);
    close(r.loss, 3 * LN2, 1e-6);
    close(run('mdpo', x, { delta: 1 }).metrics['mdpo/anchor_loss']!, Math.log1p(Math.exp(1)));
  });
  it('image_dpo and chip: ln 2 at the reference; chip without image gap and SeqKL equals dpo', () => {
    const x = { ...same, reference_chosen_logps_corrupt: PAIRS.policy_chosen_logps_corrupt };
    close(run('image_dpo', x).loss, LN2, 1e-6);
    const { chosen_seq_kl: _a, rejected_seq_kl: _b, ...noKl } = PAIRS;
    const flat = {
      ...noKl,
      policy_chosen_logps_corrupt: PAIRS.policy_chosen_logps,
      reference_chosen_logps_corrupt: PAIRS.reference_chosen_logps,
    };
    close(run('chip', flat).loss, run('dpo', flat).loss, 1e-6);
  });
  it('hadpo / mia_dpo: weight 0 reduces to dpo; hadpo uses sft_logps when given', () => {
    const dpoLoss = run('dpo', PAIRS).loss;
    close(run('hadpo', PAIRS, { sft_weight: 0 }).loss, dpoLoss, 1e-6);
    close(run('mia_dpo', PAIRS, { gamma: 0 }).loss, dpoLoss, 1e-6);
    close(run('hadpo', PAIRS).metrics.nll_loss!, 16.5 / 13, 1e-6); // Σ sft_logps / Σ sft_lengths
    const { sft_logps: _s, sft_lengths: _l, ...noSft } = PAIRS;
    close(run('hadpo', noSft).metrics.nll_loss!, 45.6 / 22, 1e-6);
  });
  it('mm_dpo: w = 0 or δ = 0 is dpo; δ → ∞ is dpo with β·(1 + w)', () => {
    const dpoLoss = run('dpo', PAIRS).loss;
    close(run('mm_dpo', PAIRS, { w: 0 }).loss, dpoLoss, 1e-6);
    close(run('mm_dpo', { ...PAIRS, reward_margins: [0, 0, 0, 0] }).loss, dpoLoss, 1e-6);
    close(
      run('mm_dpo', { ...PAIRS, reward_margins: [60, 60, 60, 60] }, { w: 0.5 }).loss,
      run('dpo', { ...PAIRS, beta: 0.45 }).loss,
      1e-6,
    );
  });
  it('dama: constant hardness and z̄ = z reduce it to dpo; the next running mean is reported', () => {
    const z = 0.7;
    const x = one(-1, -1 - z, -1, -1, 0.3);
    const r = run('dama', { ...x, reward_margins: [0.4] }, { model_gap_mean: z });
    close(r.loss, run('dpo', x).loss, 1e-6);
    close(r.metrics['dama/model_gap_mean_next']!, 0.9 * z + 0.1 * z, 1e-6);
  });
  it('mpo: 0.8·dpo + 0.2·bco_pair + 1.0·sft, weights overridable by name', () => {
    const parts = ['dpo', 'bco_pair', 'sft'] as const;
    const [d, b, s] = parts.map((n) => run(n, PAIRS).loss) as [number, number, number];
    close(run('mpo', PAIRS).loss, 0.8 * d + 0.2 * b + s, 1e-6);
    close(run('mpo', PAIRS, { weights: { sft: 0 } }).loss, 0.8 * d + 0.2 * b, 1e-6);
    expect(() => run('mpo', PAIRS, { weights: { ipo: 1 } })).toThrow(/weights for ipo/);
  });
  it('grpo: advantages (r − mean)/(unbiased std + 1e-4); equal rewards leave only the KL term', () => {
    // One group [1, 0], one token each, on-policy, no reference: A = ±0.5/(√0.5 + 1e-4); mean of −A is 0.
    const x = { policy_token_logps: [[-1], [-2]], token_mask: [[1], [1]], rewards: [[1, 0]] };
    close(run('grpo', x).loss, 0, 1e-7);
    // With old log-probs making ρ_0 = 1.1 (inside the clip): loss = (−1.1·A + A)/2 = −0.05·A.
    const A = 0.5 / (Math.sqrt(0.5) + 1e-4);
    close(run('grpo', { ...x, old_token_logps: [[-1 - Math.log(1.1)], [-2]] }).loss, -0.05 * A, 1e-6);
    const flat = run('grpo', {
      ...ROLLOUTS,
      rewards: [
        [1, 1, 1],
        [0, 0, 0],
      ],
    });
    expect(flat.metrics.frac_reward_zero_std).toBe(1);
    expect(flat.loss).toBeGreaterThan(0); // only β·k3 ≥ 0 remains
  });
  it('rloo: leave-one-out advantages [−1.5, 0, 1.5] for rewards [1, 2, 3]', () => {
    const x = {
      policy_token_logps: [[-1], [-1], [-1]],
      old_token_logps: [[-1], [-1], [-1 - Math.log(1.1)]],
      token_mask: [[1], [1], [1]],
      rewards: [[1, 2, 3]],
    };
    close(run('rloo', x).loss, (1.5 - 1.65) / 3, 1e-6);
  });
  it('ppo: critic-free advantages are rewards-to-go with the per-token KL penalty', () => {
    const x = { policy_token_logps: [[-1, -2]], token_mask: [[1, 1]], rewards: [1] };
    close(run('ppo', x).loss, -1, 1e-6);
    // old − ref = [0.1, 0.2], β = 0.5: token rewards [−0.05, 0.9], advantages [0.85, 0.9]
    const y = { ...x, beta: 0.5, reference_token_logps: [[-1.1, -2.2]] };
    close(run('ppo', y).loss, -0.875, 1e-6);
    close(run('ppo', { ...x, token_advantages: [[2, -1]] }).loss, -0.5, 1e-6);
  });
});

/** Fields whose gradient autograd and finite differences should agree on (detached inputs excluded by design). */
function gradFields(name: ObjectiveName, input: ObjectiveInput): FieldName[] {
  const e = OBJECTIVES[name];
  const detached = new Set<FieldName>(['beta', 'chosen_token_mask', 'rejected_token_mask', 'token_mask']);
  if (name === 'chip') detached.add('chosen_seq_kl');
  if (name === 'rloo' || name === 'ppo') detached.add('old_token_logps');
  return [...e.needs, ...e.optional].filter((f) => input[f] !== undefined && !detached.has(f));
}

function perturb(input: ObjectiveInput, field: FieldName, idx: number[], h: number): ObjectiveInput {
  const copy = structuredClone(input) as Record<string, unknown>;
  const v = copy[field] as number[] | number[][];
  if (idx.length === 1) (v as number[])[idx[0]!]! += h;
  else (v as number[][])[idx[0]!]![idx[1]!]! += h;
  return copy as ObjectiveInput;
}

function indices(v: unknown): number[][] {
  const a = v as number[] | number[][];
  return a.flatMap((row, i) => (Array.isArray(row) ? row.map((_, t) => [i, t]) : [[i]]));
}

function autograd(name: ObjectiveName, input: ObjectiveInput, fields: FieldName[]) {
  const batch = inputToBatch(input);
  const xs = fields.map((f) => batch[f]!);
  const g = tf.grads((...ts: tf.Tensor[]) => {
    const b = { ...batch };
    fields.forEach((f, i) => {
      b[f] = ts[i];
    });
    // + Σ 0·x keeps every input on the tape (tf.grads refuses inputs the loss does not reach)
    const loss = computeObjective(name, b, input.params ?? {}).loss;
    return tf.addN([loss, ...ts.map((t) => tf.mul(0, tf.sum(t)))]) as tf.Scalar;
  })(xs);
  const out = g.map((t) => Array.from(t.dataSync()));
  for (const t of [...g, ...Object.values(batch)]) t?.dispose();
  return out;
}

describe('gradients match central finite differences of the float64 reference', () => {
  for (const name of OBJECTIVE_NAMES) {
    it(name, () => {
      for (const params of [undefined, ...(VARIANTS[name] ?? [])]) {
        let input = params ? { ...fixtureFor(name), params } : fixtureFor(name);
        if (name === 'bco_pair' || name === 'mpo') input = { ...input }; // δ: frozen below, as autograd detaches it
        const fields = gradFields(name, input);
        const grads = autograd(name, input, fields);
        const { frozen } = reference(name, input);
        const h = 1e-5;
        fields.forEach((f, k) => {
          indices(input[f]).forEach((idx, j) => {
            const fd =
              (reference(name, perturb(input, f, idx, h), frozen).loss -
                reference(name, perturb(input, f, idx, -h), frozen).loss) /
              (2 * h);
            const g = grads[k]![j]!;
            if (Math.abs(g - fd) > 2e-4 + 2e-3 * Math.abs(fd))
              throw new Error(`${name} ${JSON.stringify(params ?? {})}: d/d ${f}[${idx}] autograd ${g} vs fd ${fd}`);
          });
        });
      }
    });
  }

  it('detached inputs get exactly zero gradient (chip SeqKL of y_w, bco δ)', () => {
    const batch = inputToBatch(PAIRS);
    const [g] = tf.grads((klw: tf.Tensor) => computeObjective('chip', { ...batch, chosen_seq_kl: klw }).loss)([
      batch.chosen_seq_kl!,
    ]);
    expect(Array.from(g!.dataSync())).toEqual([0, 0, 0, 0]);
    for (const t of [g, ...Object.values(batch)]) t?.dispose();
  });
});

describe('the table and the functions agree', () => {
  it('every field an entry needs changes the loss or a metric when perturbed', () => {
    for (const name of OBJECTIVE_NAMES) {
      const input = fixtureFor(name);
      const base = run(name, input);
      for (const f of OBJECTIVES[name].needs) {
        if (FIELDS[f].shape === 'token' && f.endsWith('mask')) continue;
        const moved = run(
          name,
          indices(input[f]).reduce((x, idx) => perturb(x, f, idx, 0.37), input),
        );
        const changed =
          moved.loss !== base.loss || Object.keys(base.metrics).some((k) => moved.metrics[k] !== base.metrics[k]);
        if (!changed) throw new Error(`${name} lists ${f} as needed but ignores it`);
      }
    }
  });

  it('a missing field names the objective and the field; all missing fields at once', () => {
    for (const name of OBJECTIVE_NAMES) {
      const input = fixtureFor(name);
      for (const f of OBJECTIVES[name].needs) {
        const { [f]: _drop, ...rest } = input;
        expect(() => run(name, rest), `${name} without ${f}`).toThrow(
          new RegExp(`objective "${name}" needs field "${f}"`),
        );
      }
    }
    expect(() => run('dpo', { beta: 0.1 })).toThrow(/needs fields "policy_chosen_logps".*"reference_rejected_logps"/s);
  });

  it('metrics carry no tensors and no tensors leak', () => {
    const before = tf.memory().numTensors;
    for (const name of OBJECTIVE_NAMES) {
      const r = run(name, fixtureFor(name));
      expect(Number.isFinite(r.loss), name).toBe(true);
      for (const [k, v] of Object.entries(r.metrics)) expect(Number.isFinite(v), `${name} ${k}`).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
