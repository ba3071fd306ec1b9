import {
  type ExportPlan,
  inlineText,
  jsonl,
  launchPreamble,
  mediaCopies,
  mediaName,
  mediaOfKind,
  shellFlags,
  TRAIN_DEFAULTS,
  versionLine,
  type WriterContext,
} from '../plan.ts';
import type { ReadyUnit } from '../preflight.ts';
import { adapterPairRow } from './bridge.ts';

/**
 * ms-swift: the standard `messages` format (the chosen answer is the last assistant turn), `rejected_response` for
 * preference methods, `label` for KTO, `images`/`videos`/`audios` paths with `<image>`… tags in the text, and
 * `rejected_images` for image-contrastive pairs (ms-swift ≥ 3.8; docs/source_en/Customization/Custom-dataset.md).
 * Paths are relative to the export folder; launch.sh runs from there.
 */

/**
 * Pairs (and image pairs) go through the io ms-swift adapter; KTO rows are `messages` + `label` + media. `margin` is
 * an RM field in ms-swift (a DPO row would pass it into the DPO forward), so only rm rows keep it.
 */
export async function swiftRow(u: ReadyUnit, rlhfType: string): Promise<Record<string, unknown>> {
  if (u.kind === 'pair')
    return adapterPairRow('swift', rlhfType === 'rm' ? u : { ...u, margin: undefined }, (m) => `data/${mediaName(m)}`);
  const messages = u.prompt.map((m) => ({ role: m.role, content: inlineText(m) }));
  const row: Record<string, unknown> = {
    id: u.id,
    messages: [...messages, { role: 'assistant', content: u.completion }],
    label: u.label,
  };
  for (const k of ['image', 'video', 'audio'] as const) {
    const paths = mediaOfKind(u, k, 'data/');
    if (paths.length || k === 'image') row[`${k}s`] = paths;
  }
  return row;
}

/** The `swift rlhf` flags, in launch order (checked against the version's facts file by src/export/facts.test.ts). */
export function swiftFlags(
  ctx: WriterContext<'swift'>,
): [string, string | number | boolean | readonly (string | number)[] | undefined][] {
  const r = ctx.recipe;
  const pref = r.rlhf_type !== 'rm';
  return [
    ['rlhf_type', r.rlhf_type],
    ['model', ctx.model],
    ['dataset', 'data/train.jsonl'],
    ['loss_type', r.flags.loss_type],
    ['loss_weights', r.flags.loss_weights],
    // SimPO's β (2.0 by ms-swift's default) is on another scale: leave it to ms-swift unless --beta was given.
    ['beta', pref ? (ctx.beta ?? (r.rlhf_type === 'simpo' ? undefined : 0.1)) : undefined],
    ['rpo_alpha', r.flags.rpo_alpha],
    ['label_smoothing', r.flags.label_smoothing],
    [ctx.version.tunerFlag, 'lora'],
    ['lora_rank', 8],
    ['lora_alpha', 32],
    ['target_modules', 'all-linear'],
    ['freeze_vit', 'true'],
    ['torch_dtype', 'bfloat16'],
    ['num_train_epochs', TRAIN_DEFAULTS.epochs],
    ['per_device_train_batch_size', TRAIN_DEFAULTS.perDeviceBatchSize],
    ['gradient_accumulation_steps', TRAIN_DEFAULTS.gradientAccumulation],
    ['learning_rate', TRAIN_DEFAULTS.learningRate],
    ['warmup_ratio', TRAIN_DEFAULTS.warmupRatio],
    // delete: an over-long row is skipped rather than cut through its image tokens.
    ['max_length', ctx.maxLength],
    ['truncation_strategy', 'delete'],
    ['logging_steps', TRAIN_DEFAULTS.loggingSteps],
    ['save_steps', TRAIN_DEFAULTS.saveSteps],
    ['save_total_limit', 2],
    ['deepspeed', 'zero3'],
    ['dataloader_num_workers', 4],
    ['dataset_num_proc', 4],
    ['output_dir', 'output'],
  ];
}

export async function planSwift(ctx: WriterContext<'swift'>): Promise<ExportPlan> {
  const rows = await Promise.all(ctx.units.map((u) => swiftRow(u, ctx.recipe.rlhf_type)));
  const flags = shellFlags(swiftFlags(ctx));
  const launch = [
    ...launchPreamble(
      `mmalign export: ms-swift rlhf_type ${ctx.recipe.rlhf_type}, objective ${ctx.objective}`,
      [],
      versionLine('ms-swift', ctx.version),
    ),
    '# ms-swift reads the node settings from these variables (torchrun under the hood); --deepspeed zero3 shards',
    '# the model over all GPUs (zero2 or removing it gives plain DDP).',
    'NNODES="$NNODES" NODE_RANK="$NODE_RANK" NPROC_PER_NODE="$GPUS_PER_NODE" \\',
    'MASTER_ADDR="$MASTER_ADDR" MASTER_PORT="$MASTER_PORT" \\',
    'swift rlhf \\',
    ...flags.map((f, i) => `  ${f}${i < flags.length - 1 ? ' \\' : ''}`),
    '',
  ].join('\n');
  const r = ctx.recipe;
  const objectiveOptions = [`--rlhf_type ${r.rlhf_type}`];
  for (const [k, v] of Object.entries(r.flags))
    objectiveOptions.push(`--${k} ${Array.isArray(v) ? v.join(' ') : String(v)}`);
  return {
    files: [
      { path: 'data/train.jsonl', text: jsonl(rows) },
      { path: 'launch.sh', text: launch },
    ],
    media: mediaCopies(ctx.units, 'data'),
    rows: rows.length,
    entrypoints: [
      {
        path: 'launch.sh',
        what: 'the full `swift rlhf` command: objective flags, model, LoRA, batch, LR, DeepSpeed, nodes',
      },
      { path: 'data/train.jsonl', what: 'messages / rejected_response / label / images / rejected_images rows' },
    ],
    launch: {
      single: 'bash launch.sh',
      multi: 'NNODES=2 NODE_RANK=<0|1> MASTER_ADDR=<node0 ip> bash launch.sh   # on each node',
    },
    objectiveOptions,
  };
}
