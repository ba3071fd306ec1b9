/**
 * The training engines mmalign hands data to, and the option names each one documents. Every generated config or
 * launch script is checked against these lists (see `checkConfigKeys`), so an export never names an option the engine
 * would reject or silently ignore. Each list cites the file it was read from; update it together with the link.
 */

/** TRL `DPOConfig` fields (plus the `TrainingArguments` ones we write). trl/trainer/dpo_config.py (loss_type is a list). */
const TRL_DPO_CONFIG = [
  'loss_type',
  'loss_weights',
  'beta',
  'label_smoothing',
  'max_length',
  'truncation_mode',
  'precompute_ref_log_probs',
  'dataset_num_proc',
  'padding_free',
  'use_weighting',
  'ld_alpha',
  'sync_ref_model',
] as const;

/** TRL `KTOConfig` fields we write. trl/trainer/kto_config.py. */
const TRL_KTO_CONFIG = ['beta', 'desirable_weight', 'undesirable_weight', 'max_length'] as const;

/** transformers `TrainingArguments` fields shared by every TRL config we write. transformers/training_args.py. */
const HF_TRAINING_ARGUMENTS = [
  'output_dir',
  'per_device_train_batch_size',
  'gradient_accumulation_steps',
  'learning_rate',
  'num_train_epochs',
  'lr_scheduler_type',
  'warmup_ratio',
  'bf16',
  'gradient_checkpointing',
  'logging_steps',
  'save_steps',
  'save_total_limit',
  'report_to',
  'seed',
  'remove_unused_columns',
] as const;

/**
 * LLaMA-Factory YAML keys we write: model_args.py (model_name_or_path, trust_remote_code), data_args.py (template,
 * dataset, dataset_dir, cutoff_len, ...), finetuning_args.py (stage, finetuning_type, pref_beta, pref_ftx,
 * pref_bco_weight, pref_loss, dpo_label_smoothing, simpo_gamma, kto_*_weight, freeze_vision_tower, lora_*),
 * plus transformers TrainingArguments (output_dir, deepspeed, ...). src/llamafactory/hparams/*.py.
 */
const LLAMAFACTORY_KEYS = [
  'model_name_or_path',
  'trust_remote_code',
  'stage',
  'do_train',
  'finetuning_type',
  'lora_rank',
  'lora_target',
  'freeze_vision_tower',
  'freeze_multi_modal_projector',
  'pref_beta',
  'pref_ftx',
  'pref_bco_weight',
  'pref_loss',
  'dpo_label_smoothing',
  'simpo_gamma',
  'kto_chosen_weight',
  'kto_rejected_weight',
  'dataset',
  'dataset_dir',
  'template',
  'cutoff_len',
  'overwrite_cache',
  'preprocessing_num_workers',
  'output_dir',
  'logging_steps',
  'save_steps',
  'plot_loss',
  'overwrite_output_dir',
  'per_device_train_batch_size',
  'gradient_accumulation_steps',
  'learning_rate',
  'num_train_epochs',
  'lr_scheduler_type',
  'warmup_ratio',
  'bf16',
  'ddp_timeout',
  'deepspeed',
  'report_to',
] as const;

/**
 * `swift rlhf` flags we write: docs/source_en/Instruction/Command-line-parameters.md (RLHF arguments: rlhf_type
 * dpo|orpo|simpo|kto|cpo|rm|ppo|grpo|gkd, beta, label_smoothing, rpo_alpha, loss_type (a list for MPO), loss_weights,
 * cpo_alpha, simpo_gamma, desirable_weight, undesirable_weight) plus the shared training arguments.
 */
const SWIFT_RLHF_FLAGS = [
  'rlhf_type',
  'model',
  'dataset',
  'loss_type',
  'loss_weights',
  'beta',
  'label_smoothing',
  'rpo_alpha',
  'simpo_gamma',
  'cpo_alpha',
  'desirable_weight',
  'undesirable_weight',
  'train_type',
  'torch_dtype',
  'freeze_vit',
  'num_train_epochs',
  'per_device_train_batch_size',
  'gradient_accumulation_steps',
  'learning_rate',
  'lora_rank',
  'lora_alpha',
  'target_modules',
  'max_length',
  'truncation_strategy',
  'warmup_ratio',
  'logging_steps',
  'save_steps',
  'save_total_limit',
  'output_dir',
  'deepspeed',
  'dataloader_num_workers',
  'dataset_num_proc',
] as const;

/** Flags every OpenRLHF trainer CLI takes (openrlhf/cli/train_dpo.py, train_rm.py, train_kto.py; OpenRLHF 0.8.x). */
const OPENRLHF_COMMON_FLAGS = [
  'save_path',
  'save_steps',
  'logging_steps',
  'eval_steps',
  'train_batch_size',
  'micro_train_batch_size',
  'pretrain',
  'bf16',
  'max_epochs',
  'max_len',
  'zero_stage',
  'learning_rate',
  'dataset',
  'apply_chat_template',
  'flash_attn',
  'gradient_checkpointing',
  'adam_offload',
  'seed',
] as const;

/** `openrlhf.cli.train_dpo` argparse flags. */
const OPENRLHF_DPO_FLAGS = [
  ...OPENRLHF_COMMON_FLAGS,
  'beta',
  'ipo',
  'label_smoothing',
  'nll_loss_coef',
  'prompt_key',
  'chosen_key',
  'rejected_key',
  'ref_offload',
] as const;

/** `openrlhf.cli.train_rm` flags. */
const OPENRLHF_RM_FLAGS = [...OPENRLHF_COMMON_FLAGS, 'prompt_key', 'chosen_key', 'rejected_key'] as const;

/** `openrlhf.cli.train_kto` flags. */
const OPENRLHF_KTO_FLAGS = [
  ...OPENRLHF_COMMON_FLAGS,
  'beta',
  'desirable_loss_weight',
  'undesirable_loss_weight',
  'input_key',
  'output_key',
  'label_key',
  'ref_offload',
] as const;

/** Values the engines accept for the option that selects the loss (same sources as the key lists). */
export const ENGINE_VALUES = {
  /** DPOConfig.loss_type (also what ms-swift passes through for rlhf_type dpo). */
  trlLossTypes: [
    'sigmoid',
    'hinge',
    'ipo',
    'exo_pair',
    'nca_pair',
    'robust',
    'bco_pair',
    'sppo_hard',
    'aot',
    'aot_unpaired',
    'apo_zero',
    'apo_down',
    'discopop',
    'sft',
  ],
  /** finetuning_args.py: stage and pref_loss literals. */
  lfStages: ['pt', 'sft', 'rm', 'ppo', 'dpo', 'kto'],
  lfPrefLoss: ['sigmoid', 'hinge', 'ipo', 'kto_pair', 'orpo', 'simpo'],
  /** Command-line-parameters.md: rlhf_type. */
  swiftRlhfTypes: ['dpo', 'orpo', 'simpo', 'kto', 'cpo', 'rm', 'ppo', 'grpo', 'gkd'],
} as const;

/** data/README.md of LLaMA-Factory: the keys a dataset_info.json entry, its `columns` and its `tags` may hold. */
export const LF_DATASET_INFO = {
  entry: [
    'hf_hub_url',
    'ms_hub_url',
    'script_url',
    'cloud_file_name',
    'file_name',
    'formatting',
    'ranking',
    'subset',
    'split',
    'folder',
    'num_samples',
    'columns',
    'tags',
  ],
  columns: [
    'prompt',
    'query',
    'response',
    'history',
    'messages',
    'system',
    'tools',
    'images',
    'videos',
    'audios',
    'chosen',
    'rejected',
    'kto_tag',
  ],
  tags: ['role_tag', 'content_tag', 'user_tag', 'assistant_tag', 'observation_tag', 'function_tag', 'system_tag'],
} as const;

export const ENGINES = {
  trl: {
    title: 'TRL (Hugging Face)',
    docs: 'https://huggingface.co/docs/trl/dpo_trainer',
    configSource: 'https://github.com/huggingface/trl/blob/main/trl/trainer/dpo_config.py',
    keys: {
      dpo: [...TRL_DPO_CONFIG, ...HF_TRAINING_ARGUMENTS],
      kto: [...TRL_KTO_CONFIG, ...HF_TRAINING_ARGUMENTS],
    },
    media: { image: true, video: false, audio: false, rejectedImages: false },
  },
  llamafactory: {
    title: 'LLaMA-Factory',
    docs: 'https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md',
    configSource: 'https://github.com/hiyouga/LLaMA-Factory/blob/main/src/llamafactory/hparams/finetuning_args.py',
    keys: { yaml: LLAMAFACTORY_KEYS },
    media: { image: true, video: true, audio: true, rejectedImages: false },
  },
  swift: {
    title: 'ms-swift (ModelScope)',
    docs: 'https://swift.readthedocs.io/en/latest/Customization/Custom-dataset.html',
    configSource: 'https://swift.readthedocs.io/en/latest/Instruction/Command-line-parameters.html',
    keys: { rlhf: SWIFT_RLHF_FLAGS },
    media: { image: true, video: true, audio: true, rejectedImages: true },
  },
  openrlhf: {
    title: 'OpenRLHF',
    docs: 'https://openrlhf.readthedocs.io/en/latest/non_rl.html',
    configSource: 'https://github.com/OpenRLHF/OpenRLHF/blob/main/openrlhf/cli/train_dpo.py',
    keys: { train_dpo: OPENRLHF_DPO_FLAGS, train_rm: OPENRLHF_RM_FLAGS, train_kto: OPENRLHF_KTO_FLAGS },
    // train_dpo / train_rm / train_kto read text only (no image key in their argparse); media rows are dropped.
    media: { image: false, video: false, audio: false, rejectedImages: false },
  },
} as const;

export type EngineName = keyof typeof ENGINES;
export const ENGINE_NAMES = Object.keys(ENGINES) as EngineName[];
export type MediaKind = 'image' | 'video' | 'audio';

/** Names in `keys` that the engine's documented option list (`allowed`) does not hold. */
export function unknownKeys(keys: Iterable<string>, allowed: readonly string[]): string[] {
  const ok = new Set(allowed);
  return [...keys].filter((k) => !ok.has(k));
}
