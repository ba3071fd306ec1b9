import { z } from 'zod';
import type { tf } from '../nn/tf.ts';

/**
 * The shared vocabulary of every objective: the input fields (log-probs per sequence or per token, rewards, masks),
 * the hyper-parameters, and the one signature `(batch, params) => { loss, metrics }`.
 *
 * Notation (survey Table 1; design.md): D = (x, I, y_w, y_l, r_w, r_l), I_neg a corrupted image,
 * log π(y|I,x) = Σ_t log π(y_t | I, x, y_<t) and the implicit reward h(y|I,x) = β·[log π_θ(y|I,x) − log π_ref(y|I,x)].
 * Shapes: B pairs, T token positions, P prompts × G samples per prompt (online objectives).
 */

/** How a field is shaped: one value per sequence [B], per token [B,T], β (scalar or [B]), or rewards ([N] or [P,G]). */
export type FieldShape = 'beta' | 'seq' | 'token' | 'rewards';

export const FIELDS = {
  beta: { shape: 'beta', doc: 'β, the KL temperature: a number or one per pair' },
  policy_chosen_logps: { shape: 'seq', doc: 'log π_θ(y_w|I,x), summed over tokens' },
  policy_rejected_logps: { shape: 'seq', doc: 'log π_θ(y_l|I,x), summed over tokens' },
  reference_chosen_logps: { shape: 'seq', doc: 'log π_ref(y_w|I,x)' },
  reference_rejected_logps: { shape: 'seq', doc: 'log π_ref(y_l|I,x)' },
  chosen_lengths: { shape: 'seq', doc: '|y_w| in tokens' },
  rejected_lengths: { shape: 'seq', doc: '|y_l| in tokens' },
  policy_chosen_logps_corrupt: {
    shape: 'seq',
    doc: 'log π_θ(y_w|I_neg,x): the chosen answer under the corrupted image',
  },
  reference_chosen_logps_corrupt: { shape: 'seq', doc: 'log π_ref(y_w|I_neg,x)' },
  chosen_rewards: { shape: 'seq', doc: 'r_w: scalar reward of y_w (a reward model output, or an external score)' },
  rejected_rewards: { shape: 'seq', doc: 'r_l: scalar reward of y_l' },
  reward_margins: { shape: 'seq', doc: 'δ: a per-pair margin (RM margin, r_w − r_l, or a CLIP-score gap for dama)' },
  chosen_seq_kl: { shape: 'seq', doc: 'SeqKL(π_ref ‖ π_θ) summed over the positions of y_w (TDPO token term)' },
  rejected_seq_kl: { shape: 'seq', doc: 'SeqKL(π_ref ‖ π_θ) summed over the positions of y_l' },
  sft_logps: { shape: 'seq', doc: 'log π_θ(y|I,x) of auxiliary SFT targets (D_SFT)' },
  sft_lengths: { shape: 'seq', doc: '|y| of the auxiliary SFT targets' },
  policy_chosen_token_logps: { shape: 'token', doc: 'log π_θ(y_w,t | …) per token' },
  policy_rejected_token_logps: { shape: 'token', doc: 'log π_θ(y_l,t | …) per token' },
  reference_chosen_token_logps: { shape: 'token', doc: 'log π_ref(y_w,t | …) per token' },
  reference_rejected_token_logps: { shape: 'token', doc: 'log π_ref(y_l,t | …) per token' },
  chosen_token_weights: { shape: 'token', doc: 'per-token weight of y_w (γ on corrected segments, 1 elsewhere)' },
  rejected_token_weights: { shape: 'token', doc: 'per-token weight of y_l' },
  chosen_token_mask: { shape: 'token', doc: '1 on real tokens of y_w, 0 on padding' },
  rejected_token_mask: { shape: 'token', doc: '1 on real tokens of y_l, 0 on padding' },
  policy_token_logps: { shape: 'token', doc: 'online: log π_θ(o_i,t | q) of sampled responses [N,T]' },
  old_token_logps: { shape: 'token', doc: 'online: log π_old(o_i,t | q) at sampling time (default: π_θ, detached)' },
  reference_token_logps: { shape: 'token', doc: 'online: log π_ref(o_i,t | q)' },
  token_mask: { shape: 'token', doc: 'online: 1 on response tokens, 0 on padding' },
  token_advantages: {
    shape: 'token',
    doc: 'ppo: per-token advantages (e.g. GAE from a critic); overrides the critic-free ones',
  },
  rewards: { shape: 'rewards', doc: 'online: sequence rewards, [P][G] groups for grpo/rloo, [N] for ppo' },
} as const satisfies Record<string, { shape: FieldShape; doc: string }>;

export type FieldName = keyof typeof FIELDS;
export const FIELD_NAMES = Object.keys(FIELDS) as FieldName[];

/** One batch: any subset of the fields, as tensors. Which ones an objective needs is in its OBJECTIVES entry. */
export type ObjectiveBatch = Partial<Record<FieldName, tf.Tensor>>;

/** Every hyper-parameter any objective reads; each OBJECTIVES entry lists the ones it accepts. */
export const ParamsSchema = z.strictObject({
  label_smoothing: z.number().min(0).max(1).optional().describe('ε: assumed label-noise rate (dpo, robust, simpo)'),
  gamma: z.number().optional().describe('γ: SimPO target margin, or the SFT-term weight of mia_dpo'),
  delta: z.number().optional().describe('δ: BCO / mDPO-anchor reward shift'),
  lambda: z.number().optional().describe('λ: ORPO odds-ratio weight'),
  weights: z.record(z.string(), z.number()).optional().describe('component weights of a mixture (mpo)'),
  w: z.number().optional().describe('mm_dpo: strength of the margin-dependent β scale'),
  k: z.number().optional().describe('mm_dpo: rate of the margin-dependent β scale'),
  tok_beta: z.number().optional().describe('chip: weight of the token-level (SeqKL) term'),
  sft_weight: z.number().optional().describe('weight of an NLL term on y_w (hadpo, chip)'),
  normalize: z.boolean().optional().describe('dense_dpo: divide the weighted log-prob by the summed weights'),
  kl: z.number().optional().describe('kto: reference point z0 (KL estimate), clamped at 0'),
  desirable_weight: z.number().optional().describe('kto: weight of desirable examples'),
  undesirable_weight: z.number().optional().describe('kto: weight of undesirable examples'),
  center_rewards_coefficient: z.number().optional().describe('bt: weight of the (r_w + r_l)² centring term'),
  data_gap_mean: z.number().optional().describe('dama: dataset mean of the data-hardness gap δ (default: batch mean)'),
  model_gap_mean: z.number().optional().describe('dama: running mean of the model gap z (trainer state, starts at 0)'),
  ema: z.number().min(0).max(1).optional().describe('dama: decay of the running model-gap mean'),
  epsilon: z.number().min(0).optional().describe('online: clip range ε of the ratio'),
  epsilon_high: z.number().min(0).optional().describe('online: upper clip range (default ε)'),
  group_size: z.number().int().min(2).optional().describe('grpo/rloo: G when rewards are given flat'),
  scale_rewards: z.boolean().optional().describe('grpo: divide advantages by the group std (false = Dr. GRPO)'),
  loss_aggregation: z
    .enum(['sequence', 'token', 'fixed'])
    .optional()
    .describe('grpo/rloo: mean per sequence then batch (TRL "grpo"), per token (TRL "bnpo"), or Σ/(N·T) ("dr_grpo")'),
  whiten: z.boolean().optional().describe('ppo: whiten the critic-free advantages over the batch'),
});
export type ObjectiveParams = z.infer<typeof ParamsSchema>;
export type ParamName = keyof ObjectiveParams;

/** Loss (a graph-connected scalar, so gradients flow) and metrics (already read back as plain numbers). */
export interface ObjectiveResult {
  loss: tf.Scalar;
  metrics: Record<string, number>;
}

export type ObjectiveFn = (batch: ObjectiveBatch, params?: ObjectiveParams) => ObjectiveResult;

/** What data an objective trains on (survey §6.2 data kinds). */
export type DataKind = 'pairs' | 'image_pairs' | 'segments' | 'unpaired' | 'scored_pairs' | 'groups' | 'rollouts';
