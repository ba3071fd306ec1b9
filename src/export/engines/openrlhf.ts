import {
  type ExportPlan,
  envDefault,
  inlineText,
  jsonl,
  launchPreamble,
  shellFlags,
  TRAIN_DEFAULTS,
  type WriterContext,
} from '../plan.ts';
import type { ReadyUnit } from '../preflight.ts';

/**
 * OpenRLHF: `prompt` a message list, `chosen`/`rejected` one-message assistant lists, read with
 * `--apply_chat_template --prompt_key prompt --chosen_key chosen --rejected_key rejected` (datasets/reward_dataset.py
 * applies the template to prompt + answer and strips the prompt); KTO rows `prompt`/`completion`/`label` for
 * train_kto's `--input_key/--output_key/--label_key`. Text only: pre-flight drops rows with media.
 */

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

export function openrlhfFlags(ctx: WriterContext<'openrlhf'>): [string, string | number | boolean | undefined][] {
  const r = ctx.recipe;
  const common: [string, string | number | boolean | undefined][] = [
    ['pretrain', ctx.model],
    ['dataset', 'data/train.jsonl'],
    ['apply_chat_template', true],
  ];
  const keys: [string, string | number | boolean | undefined][] =
    r.module === 'train_kto'
      ? [
          ['input_key', 'prompt'],
          ['output_key', 'completion'],
          ['label_key', 'label'],
        ]
      : [
          ['prompt_key', 'prompt'],
          ['chosen_key', 'chosen'],
          ['rejected_key', 'rejected'],
        ];
  const loss: [string, string | number | boolean | undefined][] =
    r.module === 'train_rm'
      ? []
      : [
          ['beta', ctx.beta ?? 0.1],
          ['ipo', r.flags.ipo],
          ['nll_loss_coef', r.flags.nll_loss_coef],
        ];
  return [
    ...common,
    ...keys,
    ...loss,
    ['max_len', ctx.maxLength],
    ['zero_stage', 3],
    ['bf16', true],
    ['flash_attn', true],
    ['gradient_checkpointing', true],
    [
      'train_batch_size',
      TRAIN_DEFAULTS.perDeviceBatchSize * TRAIN_DEFAULTS.gradientAccumulation * TRAIN_DEFAULTS.gpusPerNode,
    ],
    ['micro_train_batch_size', TRAIN_DEFAULTS.perDeviceBatchSize],
    ['learning_rate', TRAIN_DEFAULTS.learningRate],
    ['max_epochs', TRAIN_DEFAULTS.epochs],
    ['logging_steps', 1],
    ['save_steps', -1],
    ['eval_steps', -1],
    ['save_path', 'output'],
  ];
}

export async function planOpenRlhf(ctx: WriterContext<'openrlhf'>): Promise<ExportPlan> {
  const module = ctx.recipe.module;
  const rows = ctx.units.map((u) => openrlhfRow(u, module === 'train_rm'));
  const flags = shellFlags(openrlhfFlags(ctx));
  const launch = [
    ...launchPreamble(`mmalign export: OpenRLHF ${module}, objective ${ctx.objective}`, [
      envDefault('HOSTFILE', 'hostfile', 'multi-node: one "host slots=N" line per node'),
    ]),
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
  for (const [k, v] of Object.entries(ctx.recipe.flags)) objectiveOptions.push(v === true ? `--${k}` : `--${k} ${v}`);
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
