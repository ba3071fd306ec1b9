import { MmalignError } from '../../util/errors.ts';
import {
  type ExportPlan,
  inlineText,
  launchPreamble,
  mediaCopies,
  mediaName,
  mediaOfKind,
  TRAIN_DEFAULTS,
  versionLine,
  type WriterContext,
  yamlSections,
} from '../plan.ts';
import type { ReadyUnit } from '../preflight.ts';
import { adapterPairRow } from './bridge.ts';

/**
 * LLaMA-Factory: sharegpt rows (`conversations` of {from, value} with `<image>`/`<video>`/`<audio>` placeholders in
 * the text, `chosen`/`rejected` single {from: gpt} messages, `kto_tag` for KTO, `images`/`videos`/`audios` path
 * lists whose lengths equal the placeholder counts), registered in data/dataset_info.json with `"ranking": true` for
 * preference sets (data/README.md). Media paths are relative to dataset_dir (= media_dir by default).
 */

/** Model-id pattern → LLaMA-Factory `template` name (src/llamafactory/data/template.py). */
export const LF_TEMPLATES = [
  { match: /qwen2(\.5)?-vl/i, template: 'qwen2_vl' },
  { match: /llava-(v)?1\.5/i, template: 'llava' },
  { match: /llava-(v1\.6|next)/i, template: 'llava_next' },
  { match: /paligemma/i, template: 'paligemma' },
  { match: /internvl/i, template: 'intern_vl' },
] as const;

export function lfTemplate(model: string, explicit?: string): string {
  if (explicit) return explicit;
  for (const t of LF_TEMPLATES) if (t.match.test(model)) return t.template;
  throw new MmalignError('MMALIGN_EXPORT_TEMPLATE', `no LLaMA-Factory chat template is known for model "${model}"`, {
    hint: 'pass --template NAME (the `template` LLaMA-Factory uses for this model, e.g. qwen2_vl, llava, gemma3)',
  });
}

type ShareGptTurn = { from: 'human' | 'gpt'; value: string };

function conversation(u: ReadyUnit): { system?: string; conversations: ShareGptTurn[] } {
  const system = u.prompt[0].role === 'system' ? inlineText(u.prompt[0]) : undefined;
  const turns = u.prompt
    .filter((m) => m.role !== 'system')
    .map((m): ShareGptTurn => ({ from: m.role === 'user' ? 'human' : 'gpt', value: inlineText(m) }));
  return system === undefined ? { conversations: turns } : { system, conversations: turns };
}

export interface LfColumns {
  system: boolean;
  images: boolean;
  videos: boolean;
  audios: boolean;
}

export function lfColumns(units: readonly ReadyUnit[]): LfColumns {
  const has = (k: 'image' | 'video' | 'audio') => units.some((u) => u.media.some((m) => m.kind === k));
  return {
    system: units.some((u) => u.prompt[0].role === 'system'),
    images: has('image'),
    videos: has('video'),
    audios: has('audio'),
  };
}

/**
 * Preference pairs go through the io LLaMA-Factory adapter; KTO rows (answer as the last `gpt` turn + `kto_tag`) and
 * SFT rows (chosen answer as the last `gpt` turn) are written here in the same sharegpt layout.
 */
export async function lfRow(
  u: ReadyUnit,
  stage: 'dpo' | 'kto' | 'rm' | 'sft',
  cols: LfColumns,
): Promise<Record<string, unknown>> {
  if (u.kind === 'pair' && stage !== 'sft') return adapterPairRow('llamafactory', u, mediaName);
  const { system, conversations } = conversation(u);
  const row: Record<string, unknown> = { id: u.id };
  const answer = u.kind === 'binary' ? u.completion : u.chosen;
  row.conversations = [...conversations, { from: 'gpt', value: answer }];
  if (u.kind === 'binary') row.kto_tag = u.label;
  if (system !== undefined) row.system = system;
  if (cols.images) row.images = mediaOfKind(u, 'image');
  if (cols.videos) row.videos = mediaOfKind(u, 'video');
  if (cols.audios) row.audios = mediaOfKind(u, 'audio');
  return row;
}

export function lfDatasetInfo(name: string, stage: 'dpo' | 'kto' | 'rm' | 'sft', cols: LfColumns) {
  const columns: Record<string, string> = { messages: 'conversations' };
  if (stage === 'kto') columns.kto_tag = 'kto_tag';
  if (stage === 'dpo' || stage === 'rm') Object.assign(columns, { chosen: 'chosen', rejected: 'rejected' });
  if (cols.system) columns.system = 'system';
  if (cols.images) columns.images = 'images';
  if (cols.videos) columns.videos = 'videos';
  if (cols.audios) columns.audios = 'audios';
  const entry: Record<string, unknown> = { file_name: `${name}.json`, formatting: 'sharegpt' };
  if (stage === 'dpo' || stage === 'rm') entry.ranking = true;
  entry.columns = columns;
  entry.tags = { role_tag: 'from', content_tag: 'value', user_tag: 'human', assistant_tag: 'gpt' };
  return { [name]: entry };
}

/** LLaMA-Factory's examples/deepspeed/ds_z3_config.json. */
export const LF_DS_Z3 = {
  train_batch_size: 'auto',
  train_micro_batch_size_per_gpu: 'auto',
  gradient_accumulation_steps: 'auto',
  gradient_clipping: 'auto',
  zero_allow_untested_optimizer: true,
  fp16: {
    enabled: 'auto',
    loss_scale: 0,
    loss_scale_window: 1000,
    initial_scale_power: 16,
    hysteresis: 2,
    min_loss_scale: 1,
  },
  bf16: { enabled: 'auto' },
  zero_optimization: {
    stage: 3,
    overlap_comm: false,
    contiguous_gradients: true,
    sub_group_size: 1e9,
    reduce_bucket_size: 'auto',
    stage3_prefetch_bucket_size: 'auto',
    stage3_param_persistence_threshold: 'auto',
    stage3_max_live_parameters: 1e9,
    stage3_max_reuse_distance: 1e9,
    stage3_gather_16bit_weights_on_model_save: true,
  },
};

export function lfYaml(ctx: WriterContext<'llamafactory'>): string {
  const r = ctx.recipe;
  const pref = r.stage === 'dpo' || r.stage === 'kto';
  return yamlSections(
    [
      `mmalign export for LLaMA-Factory: objective ${ctx.objective} → ${r.engineName}`,
      ...versionLine('LLaMA-Factory', ctx.version).map((l) => l.slice(2)),
      'run: llamafactory-cli train llamafactory_train.yaml (launch.sh adds multi-node settings)',
    ],
    [
      ['model', { model_name_or_path: ctx.model, trust_remote_code: true }],
      [
        'method',
        {
          stage: r.stage,
          do_train: true,
          finetuning_type: 'lora',
          lora_rank: 8,
          lora_target: 'all',
          freeze_vision_tower: true,
          pref_beta: pref ? (ctx.beta ?? r.yaml.pref_beta ?? 0.1) : undefined,
          pref_loss: r.yaml.pref_loss,
          pref_bco_weight: r.yaml.pref_bco_weight,
          pref_ftx: r.yaml.pref_ftx,
          simpo_gamma: r.yaml.simpo_gamma,
        },
      ],
      [
        'dataset',
        {
          dataset: ctx.name,
          dataset_dir: 'data',
          template: ctx.template,
          cutoff_len: ctx.maxLength,
          overwrite_cache: true,
          preprocessing_num_workers: 16,
        },
      ],
      [
        'output',
        {
          output_dir: `saves/${ctx.name}-${ctx.objective}`,
          logging_steps: TRAIN_DEFAULTS.loggingSteps,
          save_steps: TRAIN_DEFAULTS.saveSteps,
          plot_loss: true,
          overwrite_output_dir: true,
        },
      ],
      [
        'train',
        {
          per_device_train_batch_size: TRAIN_DEFAULTS.perDeviceBatchSize,
          gradient_accumulation_steps: TRAIN_DEFAULTS.gradientAccumulation,
          learning_rate: TRAIN_DEFAULTS.learningRate,
          num_train_epochs: TRAIN_DEFAULTS.epochs,
          lr_scheduler_type: 'cosine',
          warmup_ratio: TRAIN_DEFAULTS.warmupRatio,
          bf16: true,
          ddp_timeout: 180000000,
          deepspeed: 'ds_z3_config.json',
          report_to: 'none',
        },
      ],
    ],
  );
}

export async function planLlamaFactory(ctx: WriterContext<'llamafactory'>): Promise<ExportPlan> {
  const stage = ctx.recipe.stage;
  const cols = lfColumns(ctx.units);
  const rows = await Promise.all(ctx.units.map((u) => lfRow(u, stage, cols)));
  const launch = [
    ...launchPreamble(
      `mmalign export: LLaMA-Factory stage ${stage}, objective ${ctx.objective}`,
      [],
      versionLine('LLaMA-Factory', ctx.version),
    ),
    '# FORCE_TORCHRUN makes llamafactory-cli start torchrun with the node settings below (DeepSpeed ZeRO-3 from',
    '# ds_z3_config.json, named in the YAML).',
    'FORCE_TORCHRUN=1 NNODES="$NNODES" NODE_RANK="$NODE_RANK" NPROC_PER_NODE="$GPUS_PER_NODE" \\',
    '  MASTER_ADDR="$MASTER_ADDR" MASTER_PORT="$MASTER_PORT" \\',
    '  llamafactory-cli train llamafactory_train.yaml',
    '',
  ].join('\n');
  const r = ctx.recipe;
  const objectiveOptions = [`stage: ${stage}`, ...Object.entries(r.yaml).map(([k, v]) => `${k}: ${v}`)];
  return {
    files: [
      { path: `data/${ctx.name}.json`, text: `${JSON.stringify(rows, null, 2)}\n` },
      { path: 'data/dataset_info.json', text: `${JSON.stringify(lfDatasetInfo(ctx.name, stage, cols), null, 2)}\n` },
      { path: 'llamafactory_train.yaml', text: lfYaml(ctx) },
      { path: 'ds_z3_config.json', text: `${JSON.stringify(LF_DS_Z3, null, 2)}\n` },
      { path: 'launch.sh', text: launch },
    ],
    media: mediaCopies(ctx.units, 'data'),
    rows: rows.length,
    entrypoints: [
      { path: 'llamafactory_train.yaml', what: 'model, stage/pref_loss and weights, template, cutoff_len, batch, LR' },
      {
        path: 'data/dataset_info.json',
        what: `registers the dataset "${ctx.name}" (sharegpt${stage === 'dpo' || stage === 'rm' ? ', ranking: true' : ''})`,
      },
      { path: 'launch.sh', what: 'llamafactory-cli with FORCE_TORCHRUN; NNODES/NODE_RANK/GPUS_PER_NODE/MASTER_*' },
      { path: 'ds_z3_config.json', what: 'DeepSpeed ZeRO-3 (swap for ZeRO-2 or remove `deepspeed:` for DDP)' },
    ],
    launch: {
      single: 'bash launch.sh',
      multi: 'NNODES=2 NODE_RANK=<0|1> MASTER_ADDR=<node0 ip> bash launch.sh   # on each node',
    },
    objectiveOptions,
  };
}
