import type { ObjectiveName } from './registry.ts';

/**
 * How each objective is selected in the training engines mmalign exports to, or `null` where the engine has no
 * equivalent (train those in mmalign, or add the loss to the engine). `trainer` is the engine's trainer / stage /
 * rlhf_type / CLI entry; `loss` its loss-type name; `options` further config keys that must be set.
 * Names as of TRL 0.2x, LLaMA-Factory 0.9, ms-swift 3.x, OpenRLHF 0.8: check them against the installed version.
 */
export interface EngineRef {
  trainer: string;
  loss?: string;
  options?: Readonly<Record<string, string | number | boolean | readonly (string | number)[]>>;
}

export type Engine = 'trl' | 'llamafactory' | 'swift' | 'openrlhf';

export const ENGINE_NAMES = {
  bt: {
    trl: { trainer: 'RewardTrainer' },
    llamafactory: { trainer: 'rm' },
    swift: { trainer: 'rm' },
    openrlhf: { trainer: 'openrlhf.cli.train_rm' },
  },
  dpo: {
    trl: { trainer: 'DPOTrainer', loss: 'sigmoid' },
    llamafactory: { trainer: 'dpo', loss: 'sigmoid' },
    swift: { trainer: 'dpo', loss: 'sigmoid' },
    openrlhf: { trainer: 'openrlhf.cli.train_dpo' },
  },
  robust: {
    trl: { trainer: 'DPOTrainer', loss: 'robust' },
    llamafactory: null,
    swift: { trainer: 'dpo', loss: 'robust' },
    openrlhf: null,
  },
  hinge: {
    trl: { trainer: 'DPOTrainer', loss: 'hinge' },
    llamafactory: { trainer: 'dpo', loss: 'hinge' },
    swift: { trainer: 'dpo', loss: 'hinge' },
    openrlhf: null,
  },
  ipo: {
    trl: { trainer: 'DPOTrainer', loss: 'ipo' },
    llamafactory: { trainer: 'dpo', loss: 'ipo' },
    swift: { trainer: 'dpo', loss: 'ipo' },
    openrlhf: { trainer: 'openrlhf.cli.train_dpo', options: { ipo: true } },
  },
  kto: {
    trl: { trainer: 'KTOTrainer' },
    llamafactory: { trainer: 'kto' },
    swift: { trainer: 'kto' },
    openrlhf: { trainer: 'openrlhf.cli.train_kto' },
  },
  orpo: {
    trl: { trainer: 'ORPOTrainer' },
    llamafactory: { trainer: 'dpo', loss: 'orpo' },
    swift: { trainer: 'orpo' },
    openrlhf: null,
  },
  simpo: {
    trl: { trainer: 'CPOTrainer', loss: 'simpo', options: { cpo_alpha: 0 } },
    llamafactory: { trainer: 'dpo', loss: 'simpo' },
    swift: { trainer: 'simpo' },
    openrlhf: null,
  },
  bco_pair: {
    trl: { trainer: 'DPOTrainer', loss: 'bco_pair' },
    llamafactory: null,
    swift: { trainer: 'dpo', loss: 'bco_pair' },
    openrlhf: null,
  },
  sft: {
    trl: { trainer: 'SFTTrainer' },
    llamafactory: { trainer: 'sft' },
    swift: { trainer: 'sft' },
    openrlhf: { trainer: 'openrlhf.cli.train_sft' },
  },
  mdpo: { trl: null, llamafactory: null, swift: null, openrlhf: null },
  image_dpo: { trl: null, llamafactory: null, swift: null, openrlhf: null },
  chip: { trl: null, llamafactory: null, swift: null, openrlhf: null },
  dense_dpo: { trl: null, llamafactory: null, swift: null, openrlhf: null },
  fdpo: { trl: null, llamafactory: null, swift: null, openrlhf: null },
  hadpo: {
    trl: { trainer: 'DPOTrainer', loss: 'sigmoid', options: { rpo_alpha: 1.0 } },
    llamafactory: { trainer: 'dpo', loss: 'sigmoid', options: { pref_ftx: 1.0 } },
    swift: { trainer: 'dpo', loss: 'sigmoid', options: { rpo_alpha: 1.0 } },
    openrlhf: { trainer: 'openrlhf.cli.train_dpo', options: { nll_loss_coef: 1.0 } },
  },
  mia_dpo: {
    trl: { trainer: 'DPOTrainer', loss: 'sigmoid', options: { rpo_alpha: 1.0 } },
    llamafactory: { trainer: 'dpo', loss: 'sigmoid', options: { pref_ftx: 1.0 } },
    swift: { trainer: 'dpo', loss: 'sigmoid', options: { rpo_alpha: 1.0 } },
    openrlhf: { trainer: 'openrlhf.cli.train_dpo', options: { nll_loss_coef: 1.0 } },
  },
  mm_dpo: { trl: null, llamafactory: null, swift: null, openrlhf: null },
  dama: { trl: null, llamafactory: null, swift: null, openrlhf: null },
  mpo: {
    trl: {
      trainer: 'DPOTrainer',
      loss: 'sigmoid,bco_pair,sft',
      options: { loss_type: ['sigmoid', 'bco_pair', 'sft'], loss_weights: [0.8, 0.2, 1.0] },
    },
    llamafactory: null,
    swift: {
      trainer: 'dpo',
      loss: 'sigmoid,bco_pair',
      options: { loss_type: ['sigmoid', 'bco_pair'], loss_weights: [0.8, 0.2], rpo_alpha: 1.0 },
    },
    openrlhf: null,
  },
  ppo: {
    trl: { trainer: 'PPOTrainer' },
    llamafactory: { trainer: 'ppo' },
    swift: { trainer: 'ppo' },
    openrlhf: { trainer: 'openrlhf.cli.train_ppo_ray', options: { advantage_estimator: 'gae' } },
  },
  grpo: {
    trl: { trainer: 'GRPOTrainer' },
    llamafactory: null,
    swift: { trainer: 'grpo' },
    openrlhf: { trainer: 'openrlhf.cli.train_ppo_ray', options: { advantage_estimator: 'group_norm' } },
  },
  rloo: {
    trl: { trainer: 'RLOOTrainer' },
    llamafactory: null,
    swift: { trainer: 'grpo', options: { advantage_estimator: 'rloo' } },
    openrlhf: { trainer: 'openrlhf.cli.train_ppo_ray', options: { advantage_estimator: 'rloo' } },
  },
} as const satisfies Record<ObjectiveName, Record<Engine, EngineRef | null>>;
