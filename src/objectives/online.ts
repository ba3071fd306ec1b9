import { tf } from '../nn/tf.ts';
import { defineObjective, type Fields, maskedMean, ObjectiveInputError, stopGradient } from './define.ts';
import type { ObjectiveParams } from './types.ts';

/**
 * Online policy-gradient objectives over sampled responses: per-token log-probs [N,T] with a mask, sequence rewards,
 * and the clipped importance ratio ρ_t = π_θ(o_t)/π_old(o_t) of PPO (Schulman et al. 2017, eq. 7). Without
 * `old_token_logps` the batch is on-policy: π_old = π_θ detached (ρ = 1, gradient = the policy gradient).
 */

/** Per-token −min(ρ·A, clip(ρ, 1−ε, 1+ε_h)·A) and TRL's clip indicator. */
function clippedSurrogate(logps: tf.Tensor, old: tf.Tensor, adv: tf.Tensor, p: ObjectiveParams) {
  const eps = p.epsilon ?? 0.2;
  const epsHigh = p.epsilon_high ?? eps;
  const ratio = tf.exp(tf.sub(logps, old));
  const clipped = tf.clipByValue(ratio, 1 - eps, 1 + epsHigh);
  const loss = tf.neg(tf.minimum(tf.mul(ratio, adv), tf.mul(clipped, adv)));
  const isClipped = tf.logicalOr(
    tf.logicalAnd(tf.less(ratio, 1 - eps), tf.less(adv, 0)),
    tf.logicalAnd(tf.greater(ratio, 1 + epsHigh), tf.greater(adv, 0)),
  );
  return { loss, ratio, isClipped: tf.cast(isClipped, 'float32') };
}

function tokens(f: Fields) {
  const logps = f.req('policy_token_logps');
  const mask = f.req('token_mask');
  const oldIn = f.opt('old_token_logps');
  const old = oldIn ?? stopGradient(logps);
  if (logps.rank !== 2 || !sameShape(logps, mask) || !sameShape(logps, old))
    throw new ObjectiveInputError(
      f.objective,
      `policy_token_logps, old_token_logps and token_mask must share one [N,T] shape, got ${fmt(logps)}, ${fmt(old)}, ${fmt(mask)}`,
    );
  return { logps, mask, old };
}

function sameShape(a: tf.Tensor, b: tf.Tensor) {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}
const fmt = (t: tf.Tensor) => `[${t.shape.join(',')}]`;

/** Rewards as [P,G]; flat rewards need `group_size`. */
function groupedRewards(f: Fields, p: ObjectiveParams, n: number): tf.Tensor2D {
  const r = f.req('rewards');
  let g: tf.Tensor2D;
  if (r.rank === 2) g = r as tf.Tensor2D;
  else if (p.group_size !== undefined) {
    if (r.size % p.group_size !== 0)
      throw new ObjectiveInputError(f.objective, `${r.size} rewards do not split into groups of ${p.group_size}`);
    g = tf.reshape(r, [r.size / p.group_size, p.group_size]) as tf.Tensor2D;
  } else throw new ObjectiveInputError(f.objective, 'rewards must be [prompts][G] groups, or flat with group_size');
  if (g.shape[1] < 2) throw new ObjectiveInputError(f.objective, `groups need G ≥ 2 samples, got ${g.shape[1]}`);
  if (g.size !== n) throw new ObjectiveInputError(f.objective, `${g.size} rewards but ${n} rows of policy_token_logps`);
  return g;
}

/** Reduce per-token losses [N,T] the way TRL's GRPO `loss_type` does. */
function aggregate(perToken: tf.Tensor, mask: tf.Tensor, how: ObjectiveParams['loss_aggregation']): tf.Scalar {
  const masked = tf.mul(perToken, mask);
  if (how === 'token') return tf.div(tf.sum(masked), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  if (how === 'fixed') return tf.div(tf.sum(masked), perToken.size) as tf.Scalar;
  return tf.mean(tf.div(tf.sum(masked, 1), tf.maximum(tf.sum(mask, 1), 1))) as tf.Scalar;
}

/**
 * GRPO (Shao et al. 2024, DeepSeekMath eq. 3): A_i = (r_i − mean_G r)/(std_G r + 1e-4) with the unbiased std, per-token
 * clipped surrogate plus β·k3 KL to π_ref, k3 = e^(ref−θ) − (ref−θ) − 1 (Schulman's estimator). Checked against TRL
 * `GRPOTrainer` (`_compute_advantages`, `compute_loss`: loss_type "grpo" = mean per sequence, then batch).
 * `scale_rewards: false` is Dr. GRPO's unscaled advantage. β defaults to 0.04 (TRL's former default).
 */
export const grpo = defineObjective('grpo', (f, p) => {
  const { logps, mask, old } = tokens(f);
  const g = groupedRewards(f, p, logps.shape[0]);
  const G = g.shape[1];
  const m = tf.mean(g, 1, true);
  const std = tf.sqrt(tf.div(tf.sum(tf.square(tf.sub(g, m)), 1, true), G - 1));
  const centred = tf.sub(g, m);
  const adv = tf.reshape(p.scale_rewards === false ? centred : tf.div(centred, tf.add(std, 1e-4)), [-1, 1]);
  const { loss: surrogate, isClipped } = clippedSurrogate(logps, old, adv, p);
  const beta = f.beta(0.04);
  let perToken = surrogate;
  let kl: tf.Tensor | undefined;
  const ref = f.opt('reference_token_logps');
  if (ref) {
    const d = tf.sub(ref, logps);
    const k3 = tf.sub(tf.sub(tf.exp(d), d), 1);
    perToken = tf.add(surrogate, tf.mul(beta, k3));
    kl = maskedMean(k3, mask);
  }
  return {
    loss: aggregate(perToken, mask, p.loss_aggregation),
    metrics: {
      reward: tf.mean(g),
      reward_std: tf.mean(std),
      frac_reward_zero_std: tf.mean(tf.cast(tf.lessEqual(std, 0), 'float32')),
      ...(kl ? { kl } : {}),
      clip_ratio: maskedMean(isClipped, mask),
    },
  };
});

/**
 * RLOO (Ahmadian et al. 2024, eq. 6; Kool et al. 2019): the KL to π_ref enters the reward,
 * r'_i = r_i − β·Σ_t (log π_old − log π_ref), and A_i = r'_i − (1/(G−1))·Σ_{j≠i} r'_j, the leave-one-out baseline;
 * the loss is the clipped surrogate, mean per sequence then batch. Checked against TRL `RLOOTrainer` (β 0.05).
 */
export const rloo = defineObjective('rloo', (f, p) => {
  const { logps, mask, old } = tokens(f);
  const g = groupedRewards(f, p, logps.shape[0]);
  const G = g.shape[1];
  const beta = f.beta(0.05);
  const ref = f.opt('reference_token_logps');
  const seqKl = ref ? tf.sum(tf.mul(tf.sub(stopGradient(old), ref), mask), 1) : tf.zeros([g.size]);
  const shaped = tf.sub(g, tf.mul(beta, tf.reshape(seqKl, g.shape)));
  const baseline = tf.div(tf.sub(tf.sum(shaped, 1, true), shaped), G - 1);
  const adv = tf.reshape(tf.sub(shaped, baseline), [-1, 1]);
  const { loss: surrogate, isClipped } = clippedSurrogate(logps, old, adv, p);
  return {
    loss: aggregate(surrogate, mask, p.loss_aggregation),
    metrics: {
      reward: tf.mean(g),
      ...(ref ? { kl: tf.mean(seqKl) } : {}),
      advantage_std: tf.sqrt(tf.mean(tf.square(adv))),
      clip_ratio: maskedMean(isClipped, mask),
    },
  };
});

/**
 * PPO-RLHF (Ouyang et al. 2022; Stiennon et al. 2020) with the per-token KL penalty of survey T1: token rewards
 * r_t = −β·(log π_old − log π_ref)_t + 1[t = last]·r, advantages A_t = Σ_{s≥t} r_s (critic-free, γ = λ = 1; pass
 * `token_advantages` from a critic's GAE instead), clipped surrogate averaged over all valid tokens (TRL `PPOTrainer`
 * `masked_mean`). `whiten` normalises advantages over the batch. Masks must be right-padded prefixes.
 */
export const ppo = defineObjective('ppo', (f, p) => {
  const { logps, mask, old } = tokens(f);
  const r = f.req('rewards');
  if (r.rank !== 1 || r.size !== logps.shape[0])
    throw new ObjectiveInputError('ppo', `rewards must be one per response ([${logps.shape[0]}]), got ${fmt(r)}`);
  const beta = f.beta(0.05);
  const ref = f.opt('reference_token_logps');
  const given = f.opt('token_advantages');
  let adv: tf.Tensor;
  let klTok: tf.Tensor | undefined;
  if (given) adv = given;
  else {
    const T = logps.shape[1]!;
    const next = tf.concat([tf.slice(mask, [0, 1], [-1, T - 1]), tf.zeros([mask.shape[0]!, 1])], 1);
    const last = tf.mul(mask, tf.sub(1, next));
    let tokR = tf.mul(last, tf.reshape(r, [-1, 1]));
    if (ref) {
      klTok = tf.mul(tf.sub(stopGradient(old), ref), mask);
      tokR = tf.sub(tokR, tf.mul(beta, klTok));
    }
    adv = tf.mul(tf.cumsum(tokR, 1, false, true), mask);
    if (p.whiten) {
      const mu = maskedMean(adv, mask);
      const sd = tf.sqrt(maskedMean(tf.square(tf.sub(adv, mu)), mask));
      adv = tf.mul(tf.div(tf.sub(adv, mu), tf.add(sd, 1e-8)), mask);
    }
  }
  const { loss: surrogate, isClipped } = clippedSurrogate(logps, old, adv, p);
  return {
    loss: maskedMean(surrogate, mask),
    metrics: {
      reward: tf.mean(r),
      ...(klTok ? { kl: tf.mean(tf.sum(klTok, 1)) } : {}),
      approx_kl: maskedMean(tf.mul(0.5, tf.square(tf.sub(logps, old))), mask),
      clip_ratio: maskedMean(isClipped, mask),
    },
  };
});
