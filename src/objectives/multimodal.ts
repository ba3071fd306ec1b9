import { tf } from '../nn/tf.ts';
import {
  defineObjective,
  type Fields,
  mean,
  nls,
  pairLogits,
  rewardMetrics,
  stopGradient,
  tokenMeanNll,
} from './define.ts';
import { DEFAULT_BETA } from './pairwise.ts';

/**
 * The multimodal and composite rows of the survey's Table 1. Where the survey's form and the official code differ,
 * the code's form is used (survey-digest §3.2) and the doc comment says so.
 */

/** h(y_w|I) − h(y_w|I_neg) before β: the same answer under the clean vs the corrupted image. */
function imageLogit(f: Fields) {
  const clean = tf.sub(f.req('policy_chosen_logps'), f.req('reference_chosen_logps'));
  const corrupt = tf.sub(f.req('policy_chosen_logps_corrupt'), f.req('reference_chosen_logps_corrupt'));
  return { clean, corrupt, logit: tf.sub(clean, corrupt) };
}

/**
 * mDPO (Wang et al. 2024, "mDPO: Conditional Preference Optimization for Multimodal LLMs"), the official code's
 * form (luka-group/mDPO `mdpo_trainer.py`): L = DPO − log σ(β·[(log π_θ(y_w|I) − log π_θ(y_w|I_neg))
 * − (log π_ref(y_w|I) − log π_ref(y_w|I_neg))]) − log σ(β·(log π_θ(y_w|I) − log π_ref(y_w|I)) − δ), δ = 0.
 * The survey writes the conditional term over y_l under I_l; the code compares the SAME y_w under I vs I_neg.
 * The anchor keeps log π_θ(y_w) from falling below the reference (the known DPO collapse).
 */
export const mdpo = defineObjective('mdpo', (f, p) => {
  const beta = f.beta(DEFAULT_BETA);
  const { z, chosenRatio, metrics } = pairLogits(f, beta);
  const { logit } = imageLogit(f);
  const dpoTerm = mean(nls(tf.mul(beta, z)));
  const conditional = mean(nls(tf.mul(beta, logit)));
  const anchor = mean(nls(tf.sub(tf.mul(beta, chosenRatio), p.delta ?? 0)));
  return {
    loss: tf.addN([dpoTerm, conditional, anchor]) as tf.Scalar,
    metrics: { ...metrics, 'mdpo/dpo_loss': dpoTerm, 'mdpo/conditional_loss': conditional, 'mdpo/anchor_loss': anchor },
  };
});

/**
 * Image DPO (vVLM / survey T8; also the "visual" term of mDPO and CHiP): L = −log σ(h(y_w|I_w) − h(y_w|I_l)),
 * the same answer preferred under the clean image over a corrupted one. Rewards are h(y_w|I) and h(y_w|I_neg).
 */
export const image_dpo = defineObjective('image_dpo', (f) => {
  const beta = f.beta(DEFAULT_BETA);
  const { clean, corrupt, logit } = imageLogit(f);
  return {
    loss: mean(nls(tf.mul(beta, logit))),
    metrics: { ...rewardMetrics(tf.mul(beta, clean), tf.mul(beta, corrupt)) },
  };
});

/**
 * CHiP (Fu et al. 2025, "CHiP: Cross-modal Hierarchical Preference Optimization"), the official code's single logit
 * (LVUGAI/CHiP `trainers.py`, `chip_loss`): z' = z + [(log π_θ(y_w|I) − log π_ref(y_w|I)) − (log π_θ(y_w|I_neg)
 * − log π_ref(y_w|I_neg))] − τ·(SeqKL_l − sg(SeqKL_w)); L = −log σ(β·z') + sft_weight·NLL(y_w).
 * τ = `tok_beta` (default 0.1, ours); the token term is skipped when the SeqKL fields are absent. Segment weighting
 * enters through the log-probs (see dense_dpo). The survey's four separately weighted terms collapse into this logit.
 */
export const chip = defineObjective('chip', (f, p) => {
  const beta = f.beta(DEFAULT_BETA);
  const { z, metrics } = pairLogits(f, beta);
  const { logit } = imageLogit(f);
  let zz = tf.add(z, logit);
  const klw = f.opt('chosen_seq_kl');
  const kll = f.opt('rejected_seq_kl');
  if (klw && kll) zz = tf.sub(zz, tf.mul(p.tok_beta ?? 0.1, tf.sub(kll, stopGradient(klw))));
  const pref = mean(nls(tf.mul(beta, zz)));
  const sw = p.sft_weight ?? 0;
  const loss =
    sw === 0
      ? pref
      : (tf.add(pref, tf.mul(sw, tokenMeanNll(f.req('policy_chosen_logps'), f.req('chosen_lengths')))) as tf.Scalar);
  return { loss, metrics: { ...metrics, 'chip/pref_loss': pref } };
});

/** Σ_t w_t·m_t·log π(y_t) (optionally / Σ_t w_t·m_t): RLHF-V `compute_weighted_logp`. */
function weightedLogp(logps: tf.Tensor, weights: tf.Tensor, mask: tf.Tensor | undefined, normalize: boolean) {
  const wm = mask ? tf.mul(weights, mask) : weights;
  const s = tf.sum(tf.mul(logps, wm), -1);
  return normalize ? tf.div(s, tf.sum(wm, -1)) : s;
}

/**
 * Dense DPO (RLHF-V, Yu et al. 2024, DDPO): DPO on segment-weighted log-probs log π(y) = Σ_t w_t·log π(y_t), with
 * w = γ > 1 on human-corrected tokens and 1 elsewhere (`normalize` divides by Σ w, the paper's 1/N form and RLHF-V's
 * `dpo_use_average`). Checked against the RLHF-V-derived CHiP code (`compute_weighted_logp`, `dpo_token_weight` 3.0).
 * The survey attaches γ to the unchanged segments; the weight belongs on the corrected ones. Equal weights of 1
 * without normalisation reduce it to dpo.
 */
export const dense_dpo = defineObjective('dense_dpo', (f, p) => {
  const beta = f.beta(DEFAULT_BETA);
  const norm = p.normalize ?? false;
  const cm = f.opt('chosen_token_mask');
  const rm = f.opt('rejected_token_mask');
  const pw = weightedLogp(f.req('policy_chosen_token_logps'), f.req('chosen_token_weights'), cm, norm);
  const pl = weightedLogp(f.req('policy_rejected_token_logps'), f.req('rejected_token_weights'), rm, norm);
  const rw = weightedLogp(f.req('reference_chosen_token_logps'), f.req('chosen_token_weights'), cm, norm);
  const rl = weightedLogp(f.req('reference_rejected_token_logps'), f.req('rejected_token_weights'), rm, norm);
  const cr = tf.sub(pw, rw);
  const rr = tf.sub(pl, rl);
  const z = tf.sub(cr, rr);
  return {
    loss: mean(nls(tf.mul(beta, z))),
    metrics: {
      ...rewardMetrics(tf.mul(beta, cr), tf.mul(beta, rr)),
      'logps/chosen': tf.mean(pw),
      'logps/rejected': tf.mean(pl),
    },
  };
});

/**
 * HA-DPO (Zhao et al. 2023, "Beyond Hallucinations"): L = DPO + sft_weight·NLL on D_SFT (survey T5). The SFT
 * targets are `sft_logps`/`sft_lengths` when given (style-consistent rewrites), else the chosen answers.
 * NLL is the token mean (TRL `rpo_alpha` form); sft_weight defaults to 1 (the survey's unweighted sum).
 */
export const hadpo = defineObjective('hadpo', (f, p) => {
  const beta = f.beta(DEFAULT_BETA);
  const { z, metrics } = pairLogits(f, beta);
  const pref = mean(nls(tf.mul(beta, z)));
  const sftLogps = f.opt('sft_logps');
  const nll = sftLogps
    ? tokenMeanNll(sftLogps, f.req('sft_lengths'))
    : tokenMeanNll(f.req('policy_chosen_logps'), f.req('chosen_lengths'));
  return {
    loss: tf.add(pref, tf.mul(p.sft_weight ?? 1, nll)) as tf.Scalar,
    metrics: { ...metrics, dpo_loss: pref, nll_loss: nll },
  };
});

/**
 * MIA-DPO (Liu et al. 2024, multi-image augmented DPO): L = DPO + γ·NLL(y_w) (survey T6), NLL the token mean.
 * γ defaults to 1.0 (ours, as TRL's recommended `rpo_alpha`; the paper's value is not in our notes).
 */
export const mia_dpo = defineObjective('mia_dpo', (f, p) => {
  const beta = f.beta(DEFAULT_BETA);
  const { z, metrics } = pairLogits(f, beta);
  const pref = mean(nls(tf.mul(beta, z)));
  const nll = tokenMeanNll(f.req('policy_chosen_logps'), f.req('chosen_lengths'));
  return {
    loss: tf.add(pref, tf.mul(p.gamma ?? 1, nll)) as tf.Scalar,
    metrics: { ...metrics, dpo_loss: pref, nll_loss: nll },
  };
});

/** δ_i per pair: `reward_margins` if given, else r_w − r_l. */
function margins(f: Fields): tf.Tensor {
  const m = f.opt('reward_margins');
  if (m) return m;
  return tf.sub(f.req('chosen_rewards'), f.req('rejected_rewards'));
}

/**
 * MM-DPO (MM-RLHF, Zhang et al. 2025, dynamic reward scaling): L = −log σ(β_i·z_i), β_i = β·(1 + w·(1 − e^(−k·δ_i))),
 * δ_i = r_w − r_l from an external reward model (`reward_margins`, or `chosen_rewards` − `rejected_rewards`).
 * The scale is bounded by 1 + w for δ ≥ 0. Defaults w = 0.5, k = 1 are ours (set them from the paper's config).
 * Rewards metrics use the base β.
 */
export const mm_dpo = defineObjective('mm_dpo', (f, p) => {
  const beta = f.beta(DEFAULT_BETA);
  const { z, metrics } = pairLogits(f, beta);
  const scale = tf.add(1, tf.mul(p.w ?? 0.5, tf.sub(1, tf.exp(tf.mul(-(p.k ?? 1), margins(f))))));
  const betaI = tf.mul(beta, scale);
  return { loss: mean(nls(tf.mul(betaI, z))), metrics: { ...metrics, 'mm_dpo/beta_mean': tf.mean(betaI) } };
});

/**
 * DAMA (Lu et al. 2025, "Data- and Model-aware Alignment of MLLMs", ICML; code injadlu/DAMA `train_dpo.py`):
 * L = −log σ(β_i·z_i), β_i = max(1e-3, β·[σ(δ_i)/σ(δ̄)]·[mean_B σ(z)/σ(z̄)]) with δ the data-hardness gap (CLIP-score
 * gap, `reward_margins`), δ̄ its dataset mean (`data_gap_mean`, default the batch mean), z detached and z̄ the running
 * mean of the batch-mean z (`model_gap_mean`, starts at 0; `dama/model_gap_mean_next` = ema·z̄ + (1−ema)·mean z is
 * the value to pass next step, ema 0.9). Deviation: the code's random 80% re-sampling mask is left out.
 */
export const dama = defineObjective('dama', (f, p) => {
  const beta = f.beta(DEFAULT_BETA);
  const { z, metrics } = pairLogits(f, beta);
  const d = margins(f);
  const dMean = p.data_gap_mean !== undefined ? tf.scalar(p.data_gap_mean) : tf.mean(d);
  const dataScale = tf.div(tf.sigmoid(d), tf.sigmoid(dMean));
  const zd = stopGradient(z);
  const zBar = p.model_gap_mean ?? 0;
  const modelScale = tf.div(tf.mean(tf.sigmoid(zd)), 1 / (1 + Math.exp(-zBar)));
  const betaI = tf.maximum(tf.mul(tf.mul(beta, dataScale), modelScale), 1e-3);
  const ema = p.ema ?? 0.9;
  return {
    loss: mean(nls(tf.mul(betaI, z))),
    metrics: {
      ...metrics,
      'dama/beta_mean': tf.mean(betaI),
      'dama/model_scale': modelScale,
      'dama/model_gap_mean_next': tf.add(ema * zBar, tf.mul(1 - ema, tf.mean(zd))),
    },
  };
});
