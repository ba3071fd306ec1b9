import { tf } from '../nn/tf.ts';
import { defineObjective, mean, nls, rewardMetrics, tokenMeanNll } from './define.ts';
import { DEFAULT_BETA } from './pairwise.ts';

/**
 * Reference-free objectives: they need no π_ref forward pass at all (the survey's §6.6 efficiency option).
 * They work on length-normalised log-probs ā(y) = log π_θ(y|I,x) / |y|.
 */

/**
 * SimPO (Meng et al. 2024, eq. 6): L = −log σ(β·(ā(y_w) − ā(y_l)) − γ), with optional label smoothing ε as in TRL
 * `CPOTrainer.simpo_loss` (−(1−ε)·log σ(u) − ε·log σ(−u)). Rewards are β·ā(y). Defaults β = 0.1, γ = 0.5 (TRL's);
 * the paper tunes β ∈ [2, 10], γ/β ∈ [0.3, 1.6].
 */
export const simpo = defineObjective('simpo', (f, p) => {
  const beta = f.beta(DEFAULT_BETA);
  const aw = tf.div(f.req('policy_chosen_logps'), f.req('chosen_lengths'));
  const al = tf.div(f.req('policy_rejected_logps'), f.req('rejected_lengths'));
  const u = tf.sub(tf.mul(beta, tf.sub(aw, al)), p.gamma ?? 0.5);
  const eps = p.label_smoothing ?? 0;
  const losses = eps === 0 ? nls(u) : tf.add(tf.mul(1 - eps, nls(u)), tf.mul(eps, nls(tf.neg(u))));
  return {
    loss: mean(losses),
    metrics: { ...rewardMetrics(tf.mul(beta, aw), tf.mul(beta, al)), 'logps/chosen': tf.mean(aw) },
  };
});

/**
 * ORPO (Hong et al. 2024, eq. 6–7): L = NLL(y_w) − λ·mean log σ(log-odds(ā_w) − log-odds(ā_l)),
 * log-odds(a) = a − log(1 − e^a), NLL the token mean over all chosen tokens. Checked against TRL
 * `ORPOTrainer.odds_ratio_loss` (its `beta` is this λ, default 0.1; rewards λ·ā). Needs ā < 0 (every sequence has
 * probability < 1), true of any real model.
 */
export const orpo = defineObjective('orpo', (f, p) => {
  const lambda = p.lambda ?? 0.1;
  const lw = f.req('policy_chosen_logps');
  const nw = f.req('chosen_lengths');
  const aw = tf.div(lw, nw);
  const al = tf.div(f.req('policy_rejected_logps'), f.req('rejected_lengths'));
  const logOdds = tf.sub(tf.sub(aw, al), tf.sub(tf.log1p(tf.neg(tf.exp(aw))), tf.log1p(tf.neg(tf.exp(al)))));
  const nll = tokenMeanNll(lw, nw);
  const orTerm = mean(nls(logOdds));
  return {
    loss: tf.add(nll, tf.mul(lambda, orTerm)) as tf.Scalar,
    metrics: {
      ...rewardMetrics(tf.mul(lambda, aw), tf.mul(lambda, al)),
      nll_loss: nll,
      log_odds_ratio: tf.mean(tf.neg(nls(logOdds))),
      log_odds_chosen: tf.mean(logOdds),
    },
  };
});

/**
 * SFT on the chosen answer: L = Σ_i −log π_θ(y_w,i) / Σ_i |y_w,i|, the token-mean NLL. It is TRL's DPO loss_type
 * "sft" (cross-entropy over all chosen completion tokens), the MPO generation term and the anchor of HA-DPO/MIA-DPO.
 */
export const sft = defineObjective('sft', (f) => {
  const lw = f.req('policy_chosen_logps');
  const nll = tokenMeanNll(lw, f.req('chosen_lengths'));
  return { loss: nll, metrics: { nll_loss: nll, 'logps/chosen': tf.mean(lw) } };
});
