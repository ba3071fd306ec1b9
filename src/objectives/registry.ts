import type { tf } from '../nn/tf.ts';
import { tf as tfjs } from '../nn/tf.ts';
import { MmalignError } from '../util/errors.ts';
import { lookup } from '../util/table.ts';
import { MissingFieldError, ObjectiveInputError } from './define.ts';
import { chip, dama, dense_dpo, hadpo, image_dpo, mdpo, mia_dpo, mm_dpo } from './multimodal.ts';
import { grpo, ppo, rloo } from './online.ts';
import { bco_pair, bt, dpo, hinge, ipo, robust } from './pairwise.ts';
import { orpo, sft, simpo } from './reffree.ts';
import {
  type DataKind,
  FIELDS,
  type FieldName,
  type ObjectiveBatch,
  type ObjectiveFn,
  type ObjectiveParams,
  type ParamName,
} from './types.ts';
import { fdpo, kto } from './unpaired.ts';

/**
 * The one table of objectives. CLI help, the "missing field" and "unknown objective" errors, the docs check, the
 * bench and the trainers all read it; nothing else lists objective names.
 */
export interface ObjectiveEntry {
  fn: ObjectiveFn;
  /** one line for `--help` */
  summary: string;
  data: DataKind;
  /** true when no π_ref forward pass is needed */
  referenceFree: boolean;
  needs: readonly FieldName[];
  optional: readonly FieldName[];
  params: readonly ParamName[];
  /** β when the batch has none; null when β is not used */
  defaultBeta: number | null;
  paper: string;
  checkedAgainst: string;
}

const PAIR = [
  'policy_chosen_logps',
  'policy_rejected_logps',
  'reference_chosen_logps',
  'reference_rejected_logps',
] as const;
const CORRUPT = ['policy_chosen_logps_corrupt', 'reference_chosen_logps_corrupt'] as const;
const ONLINE = ['policy_token_logps', 'token_mask', 'rewards'] as const;
const ONLINE_OPT = ['old_token_logps', 'reference_token_logps', 'beta'] as const;
const CLIP = ['epsilon', 'epsilon_high', 'loss_aggregation'] as const;

const BASE = {
  bt: {
    fn: bt,
    summary: 'Bradley–Terry reward-model loss with optional per-pair margin',
    data: 'scored_pairs',
    referenceFree: true,
    needs: ['chosen_rewards', 'rejected_rewards'],
    optional: ['reward_margins'],
    params: ['center_rewards_coefficient'],
    defaultBeta: null,
    paper: 'Ouyang et al. 2022 (InstructGPT) eq. 1; margin: Touvron et al. 2023 (Llama 2)',
    checkedAgainst: 'TRL RewardTrainer.compute_loss',
  },
  dpo: {
    fn: dpo,
    summary: 'DPO with conservative label smoothing (ε = 0: plain DPO)',
    data: 'pairs',
    referenceFree: false,
    needs: PAIR,
    optional: ['beta'],
    params: ['label_smoothing'],
    defaultBeta: 0.1,
    paper: 'Rafailov et al. 2023, arXiv:2305.18290, eq. 7; cDPO: Mitchell 2023',
    checkedAgainst: 'TRL DPOTrainer loss_type "sigmoid"',
  },
  robust: {
    fn: robust,
    summary: 'robust DPO (rDPO): unbiased under label-flip rate ε',
    data: 'pairs',
    referenceFree: false,
    needs: PAIR,
    optional: ['beta'],
    params: ['label_smoothing'],
    defaultBeta: 0.1,
    paper: 'Chowdhury et al. 2024, arXiv:2403.00409, eq. 8',
    checkedAgainst: 'TRL DPOTrainer loss_type "robust"',
  },
  hinge: {
    fn: hinge,
    summary: 'hinge / SLiC loss max(0, 1 − βz)',
    data: 'pairs',
    referenceFree: false,
    needs: PAIR,
    optional: ['beta'],
    params: [],
    defaultBeta: 0.1,
    paper: 'Zhao et al. 2023 (SLiC-HF), arXiv:2305.10425',
    checkedAgainst: 'TRL DPOTrainer loss_type "hinge"',
  },
  ipo: {
    fn: ipo,
    summary: 'IPO squared loss (z − 1/(2β))²',
    data: 'pairs',
    referenceFree: false,
    needs: PAIR,
    optional: ['beta'],
    params: [],
    defaultBeta: 0.1,
    paper: 'Azar et al. 2024, arXiv:2310.12036, eq. 17',
    checkedAgainst: 'TRL DPOTrainer loss_type "ipo" (pre-length-normalisation form)',
  },
  kto: {
    fn: kto,
    summary: 'KTO on unpaired desirable / undesirable examples, reference point z0',
    data: 'unpaired',
    referenceFree: false,
    needs: PAIR,
    optional: ['beta'],
    params: ['kl', 'desirable_weight', 'undesirable_weight'],
    defaultBeta: 0.1,
    paper: 'Ethayarajh et al. 2024, arXiv:2402.01306, eq. 8',
    checkedAgainst: 'TRL KTOTrainer.kto_loss',
  },
  orpo: {
    fn: orpo,
    summary: 'ORPO: NLL(y_w) + λ·odds-ratio loss, no reference',
    data: 'pairs',
    referenceFree: true,
    needs: ['policy_chosen_logps', 'policy_rejected_logps', 'chosen_lengths', 'rejected_lengths'],
    optional: [],
    params: ['lambda'],
    defaultBeta: null,
    paper: 'Hong et al. 2024, arXiv:2403.07691, eq. 6–7',
    checkedAgainst: 'TRL ORPOTrainer.odds_ratio_loss',
  },
  simpo: {
    fn: simpo,
    summary: 'SimPO: length-normalised margin loss, no reference',
    data: 'pairs',
    referenceFree: true,
    needs: ['policy_chosen_logps', 'policy_rejected_logps', 'chosen_lengths', 'rejected_lengths'],
    optional: ['beta'],
    params: ['gamma', 'label_smoothing'],
    defaultBeta: 0.1,
    paper: 'Meng et al. 2024, arXiv:2405.14734, eq. 6',
    checkedAgainst: 'TRL CPOTrainer loss_type "simpo"',
  },
  bco_pair: {
    fn: bco_pair,
    summary: 'pairwise BCO: both implicit rewards classified around δ',
    data: 'pairs',
    referenceFree: false,
    needs: PAIR,
    optional: ['beta'],
    params: ['delta'],
    defaultBeta: 0.1,
    paper: 'Jung et al. 2024, arXiv:2404.04656',
    checkedAgainst: 'TRL DPOTrainer loss_type "bco_pair"',
  },
  sft: {
    fn: sft,
    summary: 'token-mean NLL on the chosen answer',
    data: 'pairs',
    referenceFree: true,
    needs: ['policy_chosen_logps', 'chosen_lengths'],
    optional: [],
    params: [],
    defaultBeta: null,
    paper: 'supervised fine-tuning; the NLL term of RPO (Pang et al. 2024) and MPO',
    checkedAgainst: 'TRL DPOTrainer loss_type "sft"',
  },
  mdpo: {
    fn: mdpo,
    summary: 'mDPO: DPO + image-conditional term on y_w (I vs I_neg) + anchor',
    data: 'image_pairs',
    referenceFree: false,
    needs: [...PAIR, ...CORRUPT],
    optional: ['beta'],
    params: ['delta'],
    defaultBeta: 0.1,
    paper: 'Wang et al. 2024, arXiv:2406.11839',
    checkedAgainst: 'luka-group/mDPO mdpo_trainer.py',
  },
  image_dpo: {
    fn: image_dpo,
    summary: 'image DPO: same answer, clean image preferred over corrupted',
    data: 'image_pairs',
    referenceFree: false,
    needs: ['policy_chosen_logps', 'reference_chosen_logps', ...CORRUPT],
    optional: ['beta'],
    params: [],
    defaultBeta: 0.1,
    paper: 'survey Table 1 "Image DPO" (vVLM); Xie et al. 2024 (V-DPO-style visual term)',
    checkedAgainst: 'mDPO conditional term / CHiP cross-modal term',
  },
  chip: {
    fn: chip,
    summary: 'CHiP: response + visual + token-level (SeqKL) terms in one logit',
    data: 'image_pairs',
    referenceFree: false,
    needs: [...PAIR, ...CORRUPT],
    optional: ['beta', 'chosen_seq_kl', 'rejected_seq_kl', 'chosen_lengths'],
    params: ['tok_beta', 'sft_weight'],
    defaultBeta: 0.1,
    paper: 'Fu et al. 2025 (CHiP, ICLR), arXiv:2501.16629',
    checkedAgainst: 'LVUGAI/CHiP trainers.py chip_loss',
  },
  dense_dpo: {
    fn: dense_dpo,
    summary: 'RLHF-V dense DPO: token weights γ on corrected segments',
    data: 'segments',
    referenceFree: false,
    needs: [
      'policy_chosen_token_logps',
      'policy_rejected_token_logps',
      'reference_chosen_token_logps',
      'reference_rejected_token_logps',
      'chosen_token_weights',
      'rejected_token_weights',
    ],
    optional: ['beta', 'chosen_token_mask', 'rejected_token_mask'],
    params: ['normalize'],
    defaultBeta: 0.1,
    paper: 'Yu et al. 2024 (RLHF-V, CVPR), arXiv:2312.00849',
    checkedAgainst: 'RLHF-V / CHiP compute_weighted_logp',
  },
  fdpo: {
    fn: fdpo,
    summary: 'fine-grained DPO per segment: accurate up, hallucinated down',
    data: 'segments',
    referenceFree: false,
    needs: PAIR,
    optional: ['beta'],
    params: [],
    defaultBeta: 0.1,
    paper: 'Gunjal et al. 2024 (M-HalDetect, AAAI), arXiv:2308.06394',
    checkedAgainst: 'paper §5 (no official loss code found)',
  },
  hadpo: {
    fn: hadpo,
    summary: 'HA-DPO: DPO + NLL on SFT targets (default: y_w)',
    data: 'pairs',
    referenceFree: false,
    needs: PAIR,
    optional: ['beta', 'chosen_lengths', 'sft_logps', 'sft_lengths'],
    params: ['sft_weight'],
    defaultBeta: 0.1,
    paper: 'Zhao et al. 2023, arXiv:2311.16839',
    checkedAgainst: 'survey T5; NLL as TRL rpo_alpha',
  },
  mia_dpo: {
    fn: mia_dpo,
    summary: 'MIA-DPO: DPO + γ·NLL(y_w)',
    data: 'pairs',
    referenceFree: false,
    needs: [...PAIR, 'chosen_lengths'],
    optional: ['beta'],
    params: ['gamma'],
    defaultBeta: 0.1,
    paper: 'Liu et al. 2024, arXiv:2410.17637',
    checkedAgainst: 'survey T6; NLL as TRL rpo_alpha',
  },
  mm_dpo: {
    fn: mm_dpo,
    summary: 'MM-DPO: β scaled by the reward margin, β(1 + w(1 − e^(−kδ)))',
    data: 'scored_pairs',
    referenceFree: false,
    needs: PAIR,
    optional: ['beta', 'reward_margins', 'chosen_rewards', 'rejected_rewards'],
    params: ['w', 'k'],
    defaultBeta: 0.1,
    paper: 'Zhang et al. 2025 (MM-RLHF), arXiv:2502.10391',
    checkedAgainst: 'paper notes (survey-digest §3 T16)',
  },
  dama: {
    fn: dama,
    summary: 'DAMA: β scaled by data hardness and the model’s current gap',
    data: 'scored_pairs',
    referenceFree: false,
    needs: PAIR,
    optional: ['beta', 'reward_margins', 'chosen_rewards', 'rejected_rewards'],
    params: ['data_gap_mean', 'model_gap_mean', 'ema'],
    defaultBeta: 0.1,
    paper: 'Lu et al. 2025 (ICML), arXiv:2502.01943',
    checkedAgainst: 'injadlu/DAMA train_dpo.py dpo_loss',
  },
  ppo: {
    fn: ppo,
    summary: 'PPO clipped surrogate with per-token KL penalty in the reward',
    data: 'rollouts',
    referenceFree: false,
    needs: ONLINE,
    optional: [...ONLINE_OPT, 'token_advantages'],
    params: ['epsilon', 'epsilon_high', 'whiten'],
    defaultBeta: 0.05,
    paper: 'Schulman et al. 2017 eq. 7; Ouyang et al. 2022; survey T1 (Fact-RLHF)',
    checkedAgainst: 'TRL PPOTrainer / OpenRLHF PolicyLoss',
  },
  grpo: {
    fn: grpo,
    summary: 'GRPO: group-normalised advantages, clipped ratio, k3 KL to π_ref',
    data: 'groups',
    referenceFree: false,
    needs: ONLINE,
    optional: ONLINE_OPT,
    params: [...CLIP, 'group_size', 'scale_rewards'],
    defaultBeta: 0.04,
    paper: 'Shao et al. 2024 (DeepSeekMath), arXiv:2402.03300, eq. 3',
    checkedAgainst: 'TRL GRPOTrainer',
  },
  rloo: {
    fn: rloo,
    summary: 'RLOO: leave-one-out baseline, KL in the reward',
    data: 'groups',
    referenceFree: false,
    needs: ONLINE,
    optional: ONLINE_OPT,
    params: [...CLIP, 'group_size'],
    defaultBeta: 0.05,
    paper: 'Ahmadian et al. 2024, arXiv:2402.14740',
    checkedAgainst: 'TRL RLOOTrainer',
  },
} as const satisfies Record<string, ObjectiveEntry>;

export type BaseObjectiveName = keyof typeof BASE;

/**
 * A weighted sum of table objectives (TRL `loss_type=[…]`, `loss_weights=[…]`): L = Σ_k w_k·L_k. `params.weights`
 * overrides the weights by name. Metrics: the first component's unprefixed, each component's `<name>/loss`, and
 * any metric a later component adds that the first lacks.
 */
export function combine(parts: readonly { name: BaseObjectiveName; weight: number }[]): ObjectiveFn {
  return (batch, params = {}) => {
    const unknown = Object.keys(params.weights ?? {}).filter((k) => !parts.some((p) => p.name === k));
    if (unknown.length > 0)
      throw new ObjectiveInputError(
        'combine',
        `weights for ${unknown.join(', ')}, but the components are ${parts.map((p) => p.name).join(', ')}`,
      );
    const results = parts.map((p) => ({ ...p, r: BASE[p.name].fn(batch, params) }));
    const loss = tfjs.tidy(
      () =>
        tfjs.addN(
          results.map(({ name, weight, r }) => tfjs.mul(params.weights?.[name] ?? weight, r.loss)),
        ) as tf.Scalar,
    );
    const metrics: Record<string, number> = {};
    for (const { name, r } of results) {
      metrics[`${name}/loss`] = r.loss.dataSync()[0]!;
      r.loss.dispose();
    }
    for (const { r } of results) for (const [k, v] of Object.entries(r.metrics)) if (!(k in metrics)) metrics[k] = v;
    return { loss, metrics };
  };
}

/** MPO (InternVL2-MPO, Wang et al. 2024, arXiv:2411.10442): 0.8·dpo + 0.2·bco_pair + 1.0·sft. */
export const MPO_PARTS = [
  { name: 'dpo', weight: 0.8 },
  { name: 'bco_pair', weight: 0.2 },
  { name: 'sft', weight: 1.0 },
] as const;
export const mpo = combine(MPO_PARTS);

export const OBJECTIVES = {
  ...BASE,
  mpo: {
    fn: mpo,
    summary: 'MPO: 0.8·dpo + 0.2·bco_pair + 1.0·sft (weights overridable)',
    data: 'pairs',
    referenceFree: false,
    needs: [...PAIR, 'chosen_lengths'],
    optional: ['beta'],
    params: ['weights', 'label_smoothing', 'delta'],
    defaultBeta: 0.1,
    paper: 'Wang et al. 2024 (InternVL2-MPO), arXiv:2411.10442',
    checkedAgainst: 'TRL DPOTrainer loss_type ["sigmoid","bco_pair","sft"], weights [0.8,0.2,1.0]',
  },
} as const satisfies Record<string, ObjectiveEntry>;

export type ObjectiveName = keyof typeof OBJECTIVES;
export const OBJECTIVE_NAMES = Object.keys(OBJECTIVES) as ObjectiveName[];

export function getObjective(name: string): ObjectiveEntry & { name: ObjectiveName } {
  return { ...lookup(OBJECTIVES, 'objective', name), name: name as ObjectiveName };
}

const CHOSEN_SIDE = new Set<FieldName>([
  'policy_chosen_logps',
  'reference_chosen_logps',
  'chosen_lengths',
  'policy_chosen_logps_corrupt',
  'reference_chosen_logps_corrupt',
  'chosen_seq_kl',
]);
const REJECTED_SIDE = new Set<FieldName>([
  'policy_rejected_logps',
  'reference_rejected_logps',
  'rejected_lengths',
  'rejected_seq_kl',
]);

/**
 * Check a batch against an objective's entry before any tensor work: missing fields (all at once), params it does
 * not take, ranks, and that per-pair fields agree on B. Fields the objective does not read are ignored, so one
 * batch can feed several objectives.
 */
export function checkBatch(name: string, batch: ObjectiveBatch, params: ObjectiveParams = {}): ObjectiveEntry {
  const e = getObjective(name);
  const missing = e.needs.filter((f) => !batch[f]);
  if (missing.length > 0) throw new MissingFieldError(name, missing);
  const badParams = Object.keys(params).filter((k) => !(e.params as readonly string[]).includes(k));
  if (badParams.length > 0)
    throw new ObjectiveInputError(
      name,
      `does not take param${badParams.length > 1 ? 's' : ''} ${badParams.join(', ')}; it takes ${e.params.length > 0 ? e.params.join(', ') : 'none'}`,
    );
  for (const [k, t] of Object.entries(batch) as [FieldName, tf.Tensor][]) {
    if (!t) continue;
    const shape = FIELDS[k].shape;
    const ok =
      shape === 'seq' ? t.rank === 1 : shape === 'token' ? t.rank === 2 : shape === 'beta' ? t.rank <= 1 : t.rank <= 2;
    if (!ok) throw new ObjectiveInputError(name, `field ${k} has shape [${t.shape.join(',')}], expected ${shape}`);
  }
  const sizes = (keep: (f: FieldName) => boolean) => {
    const out: [FieldName, number][] = [];
    for (const f of e.needs.concat(e.optional)) {
      const t = batch[f];
      if (!t || !keep(f) || (f === 'beta' && t.rank === 0)) continue;
      out.push([f, FIELDS[f].shape === 'token' ? t.shape[0]! : t.size]);
    }
    return out;
  };
  const same = (group: [FieldName, number][]) => {
    const bad = group.find(([, n]) => n !== group[0]![1]);
    if (bad)
      throw new ObjectiveInputError(name, `${group[0]![0]} has ${group[0]![1]} entries but ${bad[0]} has ${bad[1]}`);
  };
  if (e.data === 'unpaired' || name === 'fdpo') {
    if (batch.beta && batch.beta.rank > 0)
      throw new ObjectiveInputError(name, 'beta must be one number: chosen and rejected lists are unpaired');
    same(sizes((f) => CHOSEN_SIDE.has(f)));
    same(sizes((f) => REJECTED_SIDE.has(f)));
  } else if (e.data !== 'groups' && e.data !== 'rollouts') {
    same(sizes((f) => f !== 'sft_logps' && f !== 'sft_lengths'));
  }
  return e;
}

/** Validate, then run one objective. */
export function computeObjective(name: string, batch: ObjectiveBatch, params: ObjectiveParams = {}) {
  const e = checkBatch(name, batch, params);
  return e.fn(batch, params);
}

export function isMissingField(e: unknown): e is MissingFieldError {
  return e instanceof MmalignError && e.code === 'MMALIGN_MISSING_FIELD';
}
