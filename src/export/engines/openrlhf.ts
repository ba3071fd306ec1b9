import { MmalignError } from '../../util/errors.ts';
import {
  type ExportPlan,
  envDefault,
  inlineText,
  jsonl,
  launchPreamble,
  shellFlags,
  TRAIN_DEFAULTS,
  versionLine,
  type WriterContext,
} from '../plan.ts';
import type { ReadyUnit } from '../preflight.ts';
import type { OpenRlhfCli } from './versions.ts';

/**
 * OpenRLHF: `prompt` a message list, `chosen`/`rejected` one-message assistant lists, read with the chat template
 * and the prompt/chosen/rejected key options (datasets/reward_dataset.py applies the template to prompt + answer and
 * strips the prompt); KTO rows `prompt`/`completion`/`label` for train_kto's input/output/label keys (< 0.10 only).
 * Text only: pre-flight drops rows with media.
 */

/** What the launch command sets, by meaning; FLAG_NAMES gives each its name in either CLI. */
type Setting =
  | 'model'
  | 'dataset'
  | 'chatTemplate'
  | 'promptKey'
  | 'chosenKey'
  | 'rejectedKey'
  | 'inputKey'
  | 'outputKey'
  | 'labelKey'
  | 'beta'
  | 'ipo'
  | 'nllLossCoef'
  | 'maxLen'
  | 'zeroStage'
  | 'gradientCheckpointing'
  | 'trainBatchSize'
  | 'microBatchSize'
  | 'learningRate'
  | 'maxEpochs'
  | 'loggingSteps'
  | 'saveSteps'
  | 'evalSteps'
  | 'output';

// 0.10+ has no train_kto, so the dotted CLI has no input/output/label key names.
const FLAG_NAMES: Record<OpenRlhfCli, Partial<Record<Setting, string>>> = {
  flat: {
    model: 'pretrain',
    dataset: 'dataset',
    chatTemplate: 'apply_chat_template',
    promptKey: 'prompt_key',
    chosenKey: 'chosen_key',
    rejectedKey: 'rejected_key',
    inputKey: 'input_key',
    outputKey: 'output_key',
    labelKey: 'label_key',
    beta: 'beta',
    ipo: 'ipo',
    nllLossCoef: 'nll_loss_coef',
    maxLen: 'max_len',
    zeroStage: 'zero_stage',
    gradientCheckpointing: 'gradient_checkpointing',
    trainBatchSize: 'train_batch_size',
    microBatchSize: 'micro_train_batch_size',
    learningRate: 'learning_rate',
    maxEpochs: 'max_epochs',
    loggingSteps: 'logging_steps',
    saveSteps: 'save_steps',
    evalSteps: 'eval_steps',
    output: 'save_path',
  },
  dotted: {
    model: 'model.model_name_or_path',
    dataset: 'data.dataset',
    chatTemplate: 'data.apply_chat_template',
    promptKey: 'data.prompt_key',
    chosenKey: 'data.chosen_key',
    rejectedKey: 'data.rejected_key',
    beta: 'model.beta',
    ipo: 'model.ipo_enable',
    nllLossCoef: 'model.nll_loss_coef',
    maxLen: 'data.max_len',
    zeroStage: 'ds.zero_stage',
    gradientCheckpointing: 'model.gradient_checkpointing_enable',
    trainBatchSize: 'train.batch_size',
    microBatchSize: 'train.micro_batch_size',
    learningRate: 'adam.lr',
    maxEpochs: 'train.max_epochs',
    loggingSteps: 'logger.logging_steps',
    saveSteps: 'ckpt.save_steps',
    evalSteps: 'eval.steps',
    output: 'ckpt.output_dir',
  },
};

function flagName(cli: OpenRlhfCli, setting: Setting): string {
  const name = FLAG_NAMES[cli][setting];
  if (!name) throw new MmalignError('MMALIGN_EXPORT_INTERNAL', `the ${cli} OpenRLHF CLI has no flag for ${setting}`);
  return name;
}

/** The recipe's objective flags (`ipo`, `nll_loss_coef`) under this CLI's names. */
function recipeFlag(cli: OpenRlhfCli, key: 'ipo' | 'nll_loss_coef'): string {
  return flagName(cli, key === 'ipo' ? 'ipo' : 'nllLossCoef');
}
export function openrlhfRow(u: ReadyUnit, withMargin: boolean): Record<string, unknown> {
  const prompt = u.prompt.map((m) => ({ role: m.role, content: inlineText(m) }));
  if (u.kind === 'binary')
    return { id: u.id, prompt, completion: [{ role: 'assistant', content: u.completion }], label: u.label };
  const row: Record<string, unknown> = {
    id: u.id,
    prompt,
    chosen: [{ role: 'assistant', content: u.chosen }],
    rejected: [{ role: 'assistant', content: u.rejected }],
  };
  // train_rm reads an optional `margin` column (datasets/reward_dataset.py) for --margin_loss.
  if (withMargin && u.margin !== undefined) row.margin = u.margin;
  return row;
}

type Flag = [string, string | number | boolean | undefined];

export function openrlhfFlags(ctx: WriterContext<'openrlhf'>): Flag[] {
  const r = ctx.recipe;
  const cli = ctx.version.cli;
  const set = (setting: Setting, value: string | number | boolean | undefined): Flag => [flagName(cli, setting), value];
  const keys: Flag[] =
    r.module === 'train_kto'
      ? [set('inputKey', 'prompt'), set('outputKey', 'completion'), set('labelKey', 'label')]
      : [set('promptKey', 'prompt'), set('chosenKey', 'chosen'), set('rejectedKey', 'rejected')];
  const loss: Flag[] =
    r.module === 'train_rm'
      ? []
      : [set('beta', ctx.beta ?? 0.1), set('ipo', r.flags.ipo), set('nllLossCoef', r.flags.nll_loss_coef)];
  // Precision and attention: flat takes --bf16 (its --flash_attn was renamed --attn_implementation within the flat
  // line, so no attention flag is written there); dotted takes a dtype and an attention name.
  const precision: Flag[] =
    cli === 'flat'
      ? [['bf16', true]]
      : [
          ['ds.param_dtype', 'bf16'],
          ['ds.attn_implementation', 'flash_attention_2'],
        ];
  return [
    set('model', ctx.model),
    set('dataset', 'data/train.jsonl'),
    set('chatTemplate', true),
    ...keys,
    ...loss,
    set('maxLen', ctx.maxLength),
    set('zeroStage', 3),
    ...precision,
    set('gradientCheckpointing', true),
    set(
      'trainBatchSize',
      TRAIN_DEFAULTS.perDeviceBatchSize * TRAIN_DEFAULTS.gradientAccumulation * TRAIN_DEFAULTS.gpusPerNode,
    ),
    set('microBatchSize', TRAIN_DEFAULTS.perDeviceBatchSize),
    set('learningRate', TRAIN_DEFAULTS.learningRate),
    set('maxEpochs', TRAIN_DEFAULTS.epochs),
    set('loggingSteps', 1),
    set('saveSteps', -1),
    set('evalSteps', -1),
    set('output', 'output'),
  ];
}

export async function planOpenRlhf(ctx: WriterContext<'openrlhf'>): Promise<ExportPlan> {
  const module = ctx.recipe.module;
  const rows = ctx.units.map((u) => openrlhfRow(u, module === 'train_rm'));
  const flags = shellFlags(openrlhfFlags(ctx));
  const launch = [
    ...launchPreamble(
      `mmalign export: OpenRLHF ${module}, objective ${ctx.objective}`,
      [envDefault('HOSTFILE', 'hostfile', 'multi-node: one "host slots=N" line per node')],
      versionLine('OpenRLHF', ctx.version),
    ),
    '# DeepSpeed launcher: one node uses --num_gpus; several nodes read the hostfile (run on node 0 only).',
    'if [ "$NNODES" -gt 1 ]; then',
    '  LAUNCH=(deepspeed --hostfile "$HOSTFILE" --master_addr "$MASTER_ADDR" --master_port "$MASTER_PORT")',
    'else',
    '  LAUNCH=(deepspeed --num_gpus "$GPUS_PER_NODE" --master_port "$MASTER_PORT")',
    'fi',
    `"\${LAUNCH[@]}" --module openrlhf.cli.${module} \\`,
    ...flags.map((f, i) => `  ${f}${i < flags.length - 1 ? ' \\' : ''}`),
    '',
  ].join('\n');
  const objectiveOptions = [`--module openrlhf.cli.${module}`];
  for (const [k, v] of Object.entries(ctx.recipe.flags)) {
    const flag = recipeFlag(ctx.version.cli, k as 'ipo' | 'nll_loss_coef');
    objectiveOptions.push(v === true ? `--${flag}` : `--${flag} ${v}`);
  }
  return {
    files: [
      { path: 'data/train.jsonl', text: jsonl(rows) },
      { path: 'launch.sh', text: launch },
    ],
    media: [],
    rows: rows.length,
    entrypoints: [
      {
        path: 'launch.sh',
        what: `deepspeed --module openrlhf.cli.${module} with every flag (ZeRO stage, batch, LR, β)`,
      },
      { path: 'data/train.jsonl', what: 'prompt / chosen / rejected message lists (text only)' },
    ],
    launch: {
      single: 'bash launch.sh',
      multi: 'NNODES=2 MASTER_ADDR=<node0 ip> HOSTFILE=hostfile bash launch.sh   # on node 0',
    },
    objectiveOptions,
  };
}
