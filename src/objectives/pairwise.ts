import { tf } from '../nn/tf.ts';
import { defineObjective, mean, nls, ObjectiveInputError, pairLogits, rewardMetrics, stopGradient } from './define.ts';

/**
 * The reward model and the reference-anchored pairwise losses of the DPO family. All take
 * z = [log π_θ(y_w) − log π_θ(y_l)] − [log π_ref(y_w) − log π_ref(y_l)] per pair and average over the batch.
 * Signs and means checked against TRL `DPOTrainer.dpo_loss` (loss_type sigmoid / robust / hinge / ipo / bco_pair).
 */

export const DEFAULT_BETA = 0.1;

/**
 * Bradley–Terry reward model: L = −log σ(r_w − r_l − m) + c·(r_w + r_l)², m the optional per-pair margin.
 * Ouyang et al. 2022 (InstructGPT) eq. 1; margin as in Llama 2 (Touvron et al. 2023, eq. 2). Checked against TRL
 * `RewardTrainer.compute_loss` (margin column; `center_rewards_coefficient` is its centring term, default 0).
 */
export const bt = defineObjective('bt', (f, p) => {
  const rw = f.req('chosen_rewards');
  const rl = f.req('rejected_rewards');
  const margin = f.opt('reward_margins');
  const diff = margin ? tf.sub(tf.sub(rw, rl), margin) : tf.sub(rw, rl);
  let loss = mean(nls(diff));
  const c = p.center_rewards_coefficient ?? 0;
  if (c !== 0) loss = tf.add(loss, tf.mul(c, tf.mean(tf.square(tf.add(rw, rl))))) as tf.Scalar;
  return { loss, metrics: rewardMetrics(rw, rl) };
});

/**
 * DPO (Rafailov et al. 2023, eq. 7) with conservative label smoothing (cDPO, Mitchell 2023):
 * L = −(1−ε)·log σ(βz) − ε·log σ(−βz). ε = 0 is plain DPO; z = 0 gives log 2. TRL loss_type "sigmoid".
 * Use when pairs are clean; ε > 0 when some labels are believed flipped.
 */
export const dpo = defineObjective('dpo', (f, p) => {
  const beta = f.beta(DEFAULT_BETA);
  const { z, metrics } = pairLogits(f, beta);
  const eps = p.label_smoothing ?? 0;
  const bz = tf.mul(beta, z);
  const losses = eps === 0 ? nls(bz) : tf.add(tf.mul(1 - eps, nls(bz)), tf.mul(eps, nls(tf.neg(bz))));
  return { loss: mean(losses), metrics };
});

/**
 * Robust DPO (rDPO, Chowdhury et al. 2024, eq. 8): an unbiased loss under label-flip rate ε < 1/2,
 * L = [−(1−ε)·log σ(βz) + ε·log σ(−βz)] / (1 − 2ε). ε = 0 equals dpo. TRL loss_type "robust".
 */
export const robust = defineObjective('robust', (f, p) => {
  const eps = p.label_smoothing ?? 0;
  if (eps >= 0.5) throw new ObjectiveInputError('robust', `label_smoothing must be < 0.5, got ${eps}`);
  const beta = f.beta(DEFAULT_BETA);
  const { z, metrics } = pairLogits(f, beta);
  const bz = tf.mul(beta, z);
  // ε·log σ(−βz) = −ε·softplus(βz)
  const losses = tf.div(tf.sub(tf.mul(1 - eps, nls(bz)), tf.mul(eps, nls(tf.neg(bz)))), 1 - 2 * eps);
  return { loss: mean(losses), metrics };
});

/** Hinge / SLiC (Zhao et al. 2023, eq. 4 with δ = 1/β): L = max(0, 1 − βz). TRL loss_type "hinge". */
export const hinge = defineObjective('hinge', (f) => {
  const beta = f.beta(DEFAULT_BETA);
  const { z, metrics } = pairLogits(f, beta);
  return { loss: mean(tf.relu(tf.sub(1, tf.mul(beta, z)))), metrics };
});

/**
 * IPO (Azar et al. 2024, eq. 17): L = (z − 1/(2β))², β playing the paper's τ. On the log-probs as given: recent TRL
 * divides each log-ratio by the completion length first (confirmed with the IPO authors); pass per-token averages
 * as the *_logps fields to get that form.
 */
export const ipo = defineObjective('ipo', (f) => {
  const beta = f.beta(DEFAULT_BETA);
  const { z, metrics } = pairLogits(f, beta);
  return { loss: mean(tf.square(tf.sub(z, tf.div(0.5, beta)))), metrics };
});

/**
 * Pairwise BCO (Jung et al. 2024, binary classifier optimisation): L = −log σ(h_w − δ) − log σ(−(h_l − δ)),
 * h = β·log π_θ/π_ref, δ the mean of all 2B implicit rewards of the batch (detached) unless `delta` is given.
 * TRL loss_type "bco_pair" uses a running mean over steps (RunningMoments): a trainer passes it as `delta`.
 * The survey's MPO row drops the inner negation of the rejected term (survey-digest §3 T15); this is the code's form.
 */
export const bco_pair = defineObjective('bco_pair', (f, p) => {
  const beta = f.beta(DEFAULT_BETA);
  const { chosenRatio, rejectedRatio, metrics } = pairLogits(f, beta);
  const hw = tf.mul(beta, chosenRatio);
  const hl = tf.mul(beta, rejectedRatio);
  const delta = p.delta !== undefined ? tf.scalar(p.delta) : stopGradient(tf.mean(tf.concat([hw, hl])));
  const losses = tf.add(nls(tf.sub(hw, delta)), nls(tf.neg(tf.sub(hl, delta))));
  return { loss: mean(losses), metrics: { ...metrics, 'bco/delta': delta } };
});
