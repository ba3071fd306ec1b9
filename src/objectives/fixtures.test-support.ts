import type { ObjectiveInput } from './json.ts';
import type { ObjectiveName } from './registry.ts';

/**
 * Shared test batches: 4 pairs with every per-sequence field, a token-level version for dense_dpo, unpaired lists,
 * and 2 prompts × 3 rollouts for the online objectives. Values are chosen so no pair sits on a kink (βz = 1 for
 * hinge, ρ = 1 ± ε for clipping) and every length-normalised log-prob is < 0 (ORPO's odds).
 */

/** Deterministic numbers in [lo, hi) from a small LCG, so fixtures need no typing and no Math.random. */
export function lcg(seed: number) {
  let s = seed >>> 0;
  return (lo: number, hi: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((s >>> 8) / 2 ** 24) * (hi - lo);
  };
}

export const PAIRS: ObjectiveInput = {
  beta: 0.3,
  policy_chosen_logps: [-10.2, -12.5, -7.8, -15.1],
  policy_rejected_logps: [-11.4, -9.3, -14.2, -13.9],
  reference_chosen_logps: [-10.9, -11.6, -9.0, -15.0],
  reference_rejected_logps: [-10.1, -10.2, -12.5, -14.6],
  chosen_lengths: [5, 6, 4, 7],
  rejected_lengths: [6, 5, 7, 6],
  policy_chosen_logps_corrupt: [-12.0, -13.1, -9.4, -16.0],
  reference_chosen_logps_corrupt: [-11.2, -12.4, -9.9, -15.3],
  chosen_rewards: [1.2, 2.0, 0.4, 1.0],
  rejected_rewards: [0.1, 1.6, 0.9, -0.5],
  chosen_seq_kl: [0.3, 0.1, 0.5, 0.2],
  rejected_seq_kl: [0.6, 0.2, 0.1, 0.4],
  sft_logps: [-3.0, -8.0, -5.5],
  sft_lengths: [3, 6, 4],
};

function tokens(seed: number, rows: number, cols: number, lo: number, hi: number) {
  const r = lcg(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => r(lo, hi)));
}

const MASK = [
  [1, 1, 1, 1],
  [1, 1, 1, 0],
  [1, 1, 0, 0],
  [1, 1, 1, 1],
];

export const TOKENS: ObjectiveInput = {
  beta: 0.3,
  policy_chosen_token_logps: tokens(1, 4, 4, -2.5, -0.1),
  policy_rejected_token_logps: tokens(2, 4, 4, -2.5, -0.1),
  reference_chosen_token_logps: tokens(3, 4, 4, -2.5, -0.1),
  reference_rejected_token_logps: tokens(4, 4, 4, -2.5, -0.1),
  chosen_token_weights: [
    [1, 3, 3, 1],
    [1, 1, 1, 1],
    [3, 1, 1, 1],
    [1, 1, 3, 3],
  ],
  rejected_token_weights: [
    [1, 1, 1, 1],
    [3, 3, 1, 1],
    [1, 1, 1, 1],
    [1, 3, 1, 1],
  ],
  chosen_token_mask: MASK,
  rejected_token_mask: MASK.slice().reverse(),
};

export const UNPAIRED: ObjectiveInput = {
  beta: 0.3,
  policy_chosen_logps: [-10.2, -12.5, -7.8],
  reference_chosen_logps: [-10.9, -11.6, -9.0],
  policy_rejected_logps: [-11.4, -9.3, -14.2, -13.9, -6.0],
  reference_rejected_logps: [-10.1, -10.2, -12.5, -14.6, -6.4],
};

const policy = tokens(5, 6, 4, -2.0, -0.2);
const noise = tokens(6, 6, 4, -0.35, 0.35);
const refNoise = tokens(7, 6, 4, -0.3, 0.3);
/** 2 prompts × G = 3; some ratios fall outside 1 ± 0.2 so clipping is exercised. */
export const ROLLOUTS: ObjectiveInput = {
  beta: 0.1,
  policy_token_logps: policy,
  old_token_logps: policy.map((row, i) => row.map((v, t) => v + noise[i]![t]!)),
  reference_token_logps: policy.map((row, i) => row.map((v, t) => v + refNoise[i]![t]!)),
  token_mask: [
    [1, 1, 1, 1],
    [1, 1, 0, 0],
    [1, 1, 1, 0],
    [1, 0, 0, 0],
    [1, 1, 1, 1],
    [1, 1, 1, 0],
  ],
  rewards: [
    [1, 0, 0.4],
    [0.2, 0.2, 0.9],
  ],
};

/** The fixture each objective is tested on. */
export function fixtureFor(name: ObjectiveName): ObjectiveInput {
  if (name === 'dense_dpo') return TOKENS;
  if (name === 'kto' || name === 'fdpo') return UNPAIRED;
  if (name === 'grpo' || name === 'rloo') return ROLLOUTS;
  if (name === 'ppo') return { ...ROLLOUTS, rewards: [1, 0, 0.4, 0.2, 0.2, 0.9] };
  return PAIRS;
}
