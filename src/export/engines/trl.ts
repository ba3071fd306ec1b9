import type { Message } from '../../schema/index.ts';
import {
  type ExportPlan,
  envDefault,
  jsonl,
  launchPreamble,
  mediaCopies,
  mediaName,
  mediaOfKind,
  partsOf,
  TRAIN_DEFAULTS,
  versionLine,
  type WriterContext,
  yamlScalar,
  yamlSections,
} from '../plan.ts';
import type { ReadyUnit } from '../preflight.ts';
import { adapterPairRow } from './bridge.ts';

/**
 * TRL: conversational preference rows (`prompt` / `chosen` / `rejected` message lists, `{"type": "image"}` parts in
 * placeholder order, `images` a list of paths), the layout of TRL's vision DPO datasets (e.g. HuggingFaceH4/
 * rlaif-v_formatted); unpaired rows (`prompt` / `completion` / `label`) for KTOTrainer. A small script loads them
 * (paths → `datasets.Image`) and runs DPOTrainer or KTOTrainer with the DPOConfig / KTOConfig in trl_config.yaml.
 */

/**
 * KTOTrainer estimates its KL term from the other rows of the same device batch and refuses a per-device batch of 1
 * ("Actual (not effective) batch size must be > 1"): KTO gets 2 × 4 accumulation, the same effective batch as DPO.
 */
export const TRL_KTO_BATCH = { perDeviceBatchSize: 2, gradientAccumulation: 4 } as const;

type TrlPart = { type: 'text'; text: string } | { type: 'image' };

function trlMessage(m: Message): { role: string; content: TrlPart[] } {
  return {
    role: m.role,
    content: partsOf(m).map((p): TrlPart => (p.type === 'text' ? { type: 'text', text: p.text } : { type: 'image' })),
  };
}

const assistant = (text: string) => [{ role: 'assistant', content: [{ type: 'text', text }] }];

/** Pairs go through the io TRL adapter; unpaired (KTO) rows are `prompt` / `completion` / `label` / `images`. */
export async function trlRow(u: ReadyUnit): Promise<Record<string, unknown>> {
  if (u.kind === 'pair') return adapterPairRow('trl', u, mediaName);
  const prompt = u.prompt.map(trlMessage);
  return { id: u.id, prompt, completion: assistant(u.completion), label: u.label, images: mediaOfKind(u, 'image') };
}

export const TRL_SCRIPT = `#!/usr/bin/env python3
"""Train on the data mmalign exported, with TRL's DPOTrainer or KTOTrainer and the config in trl_config.yaml.

Run through launch.sh (accelerate, multi-GPU / multi-node), or directly: python train_trl.py trl_config.yaml
"""
import os
import sys

import yaml
from datasets import Image, Sequence, load_dataset

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    config_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "trl_config.yaml")
    with open(config_path) as f:
        cfg = yaml.safe_load(f)
    data_dir = os.path.join(HERE, "data")
    ds = load_dataset("json", data_files=os.path.join(data_dir, "train.jsonl"), split="train")
    ds = ds.remove_columns(["id"])
    has_images = any(len(images) > 0 for images in ds["images"])
    if has_images:
        # Paths in the file are relative to data/; datasets.Image opens them lazily as PIL images.
        ds = ds.map(lambda row: {"images": [os.path.join(data_dir, p) for p in row["images"]]})
        ds = ds.cast_column("images", Sequence(Image()))
    else:
        ds = ds.remove_columns(["images"])

    model_id = cfg["model_name_or_path"]
    if has_images:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        model = AutoModelForImageTextToText.from_pretrained(model_id, torch_dtype="auto")
        processing_class = AutoProcessor.from_pretrained(model_id)
    else:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(model_id, torch_dtype="auto")
        processing_class = AutoTokenizer.from_pretrained(model_id)

    if cfg["trainer"] == "kto":
        from trl import KTOConfig as Config
        from trl import KTOTrainer as Trainer
    else:
        from trl import DPOConfig as Config
        from trl import DPOTrainer as Trainer
    args = Config(**cfg["args"])
    trainer = Trainer(model=model, args=args, train_dataset=ds, processing_class=processing_class)
    trainer.train()
    trainer.save_model(args.output_dir)


if __name__ == "__main__":
    main()
`;

/** accelerate + DeepSpeed ZeRO-3, the layout of TRL's examples/accelerate_configs/deepspeed_zero3.yaml. */
export const ACCELERATE_ZERO3 = `# accelerate config: DeepSpeed ZeRO-3 (shards params, grads and optimizer state over all GPUs).
# launch.sh overrides num_machines / num_processes / machine_rank from NNODES, GPUS_PER_NODE and NODE_RANK.
compute_environment: LOCAL_MACHINE
debug: false
deepspeed_config:
  deepspeed_multinode_launcher: standard
  offload_optimizer_device: none
  offload_param_device: none
  zero3_init_flag: true
  zero3_save_16bit_model: true
  zero_stage: 3
distributed_type: DEEPSPEED
downcast_bf16: 'no'
machine_rank: 0
main_training_function: main
mixed_precision: bf16
num_machines: 1
num_processes: ${TRAIN_DEFAULTS.gpusPerNode}
rdzv_backend: static
same_network: true
tpu_env: []
tpu_use_cluster: false
tpu_use_sudo: false
use_cpu: false
`;

/** accelerate + FSDP2, the layout of TRL's examples/accelerate_configs/fsdp2.yaml. */
export const ACCELERATE_FSDP = `# accelerate config: FSDP2 (use instead of ZeRO-3 with DIST_CONFIG=accelerate_fsdp.yaml ./launch.sh).
compute_environment: LOCAL_MACHINE
debug: false
distributed_type: FSDP
downcast_bf16: 'no'
enable_cpu_affinity: false
fsdp_config:
  fsdp_activation_checkpointing: false
  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP
  fsdp_cpu_ram_efficient_loading: true
  fsdp_offload_params: false
  fsdp_reshard_after_forward: true
  fsdp_state_dict_type: FULL_STATE_DICT
  fsdp_version: 2
machine_rank: 0
main_training_function: main
mixed_precision: bf16
num_machines: 1
num_processes: ${TRAIN_DEFAULTS.gpusPerNode}
rdzv_backend: static
same_network: true
tpu_env: []
tpu_use_cluster: false
tpu_use_sudo: false
use_cpu: false
`;

/** The `args:` mapping of trl_config.yaml: DPOConfig / KTOConfig keyword arguments. */
export function trlArgs(
  ctx: WriterContext<'trl'>,
): Record<string, string | number | boolean | readonly (string | number)[]> {
  const r = ctx.recipe;
  const common = {
    output_dir: 'output',
    per_device_train_batch_size: TRAIN_DEFAULTS.perDeviceBatchSize,
    gradient_accumulation_steps: TRAIN_DEFAULTS.gradientAccumulation,
    learning_rate: TRAIN_DEFAULTS.learningRate,
    num_train_epochs: TRAIN_DEFAULTS.epochs,
    lr_scheduler_type: 'cosine',
    warmup_ratio: TRAIN_DEFAULTS.warmupRatio,
    bf16: true,
    gradient_checkpointing: true,
    logging_steps: TRAIN_DEFAULTS.loggingSteps,
    save_steps: TRAIN_DEFAULTS.saveSteps,
    report_to: 'none',
  };
  // keep_start for KTO too: its default keep_end is deprecated and refused for vision models.
  if (r.trainer === 'kto')
    return {
      beta: ctx.beta ?? 0.1,
      max_length: ctx.maxLength,
      truncation_mode: 'keep_start',
      ...common,
      per_device_train_batch_size: TRL_KTO_BATCH.perDeviceBatchSize,
      gradient_accumulation_steps: TRL_KTO_BATCH.gradientAccumulation,
    };
  const out: Record<string, string | number | boolean | readonly (string | number)[]> = {
    loss_type: r.config.loss_type ?? ['sigmoid'],
  };
  if (r.config.loss_weights) out.loss_weights = r.config.loss_weights;
  out.beta = ctx.beta ?? 0.1;
  if (r.config.label_smoothing !== undefined) out.label_smoothing = r.config.label_smoothing;
  // keep_start cuts the end of a too-long row, never the image tokens at the start of the prompt.
  Object.assign(out, { max_length: ctx.maxLength, truncation_mode: 'keep_start' }, common);
  return out;
}

export async function planTrl(ctx: WriterContext<'trl'>): Promise<ExportPlan> {
  const args = trlArgs(ctx);
  const config =
    yamlSections(
      [
        `mmalign export for TRL: objective ${ctx.objective} → ${ctx.recipe.engineName}`,
        ...versionLine('TRL', ctx.version).map((l) => l.slice(2)),
        `read by train_trl.py; "args" are ${ctx.recipe.trainer === 'kto' ? 'KTOConfig' : 'DPOConfig'} keyword arguments (trl/trainer/${ctx.recipe.trainer}_config.py)`,
      ],
      [['model', { model_name_or_path: ctx.model, trainer: ctx.recipe.trainer }]],
    ) +
    '\nargs:\n' +
    Object.entries(args)
      .map(([k, v]) => `  ${k}: ${yamlScalar(v)}`)
      .join('\n') +
    '\n';
  const launch = [
    ...launchPreamble(
      `mmalign export: TRL ${ctx.recipe.trainer === 'kto' ? 'KTOTrainer' : 'DPOTrainer'}, objective ${ctx.objective}`,
      [envDefault('DIST_CONFIG', 'accelerate_zero3.yaml', 'or accelerate_fsdp.yaml')],
      versionLine('TRL', ctx.version),
    ),
    'accelerate launch --config_file "$DIST_CONFIG" \\',
    '  --num_machines "$NNODES" --machine_rank "$NODE_RANK" \\',
    '  --num_processes "$((NNODES * GPUS_PER_NODE))" \\',
    '  --main_process_ip "$MASTER_ADDR" --main_process_port "$MASTER_PORT" \\',
    '  train_trl.py trl_config.yaml',
    '',
  ].join('\n');
  const objectiveOptions = Object.entries(ctx.recipe.config).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  if (ctx.recipe.trainer === 'kto') objectiveOptions.push('trainer=KTOTrainer');
  return {
    files: [
      { path: 'data/train.jsonl', text: jsonl(await Promise.all(ctx.units.map(trlRow))) },
      { path: 'trl_config.yaml', text: config },
      { path: 'train_trl.py', text: TRL_SCRIPT },
      { path: 'accelerate_zero3.yaml', text: ACCELERATE_ZERO3 },
      { path: 'accelerate_fsdp.yaml', text: ACCELERATE_FSDP },
      { path: 'launch.sh', text: launch },
    ],
    media: mediaCopies(ctx.units, 'data'),
    rows: ctx.units.length,
    entrypoints: [
      { path: 'trl_config.yaml', what: 'model id and every DPOConfig/KTOConfig argument (loss, β, batch, LR)' },
      { path: 'launch.sh', what: 'accelerate launch; NNODES/NODE_RANK/GPUS_PER_NODE/MASTER_ADDR/MASTER_PORT' },
      { path: 'accelerate_zero3.yaml', what: 'DeepSpeed ZeRO-3 settings (default)' },
      { path: 'accelerate_fsdp.yaml', what: 'FSDP2 settings (DIST_CONFIG=accelerate_fsdp.yaml)' },
      { path: 'train_trl.py', what: 'loads data/train.jsonl (image paths → datasets.Image) and runs the trainer' },
    ],
    launch: {
      single: 'bash launch.sh',
      multi: 'NNODES=2 NODE_RANK=<0|1> MASTER_ADDR=<node0 ip> bash launch.sh   # on each node',
    },
    objectiveOptions,
  };
}
