import type { ObjectiveName } from '../objectives/index.ts';
import { MmalignError, UnknownNameError } from '../util/errors.ts';
import {
  ENGINE_NAMES,
  ENGINES,
  type EngineName,
  type EngineVersion,
  resolveEngineVersion,
  type VersionId,
  versionIds,
} from './engines.ts';
import { rangeText } from './versions.ts';

/**
 * Which engine option selects each mmalign objective, or why it cannot: the one objective → engine table of mmalign
 * (per engine, and per release line where lines differ). An unsupported pair is refused with the closest objective
 * the engine does support; the export never swaps one loss for another on its own. docs/engines.md embeds the table
 * and the engine × version support matrix generated from it (a test keeps them identical).
 */

/**
 * The objective names of src/objectives (the survey's Table 1 plus the core objectives they build on), as a runtime
 * list that does not load tfjs; `satisfies` and the table's key check tie it to `ObjectiveName` at compile time.
 */
export const EXPORT_OBJECTIVE_NAMES = [
  'bt',
  'dpo',
  'robust',
  'hinge',
  'ipo',
  'kto',
  'orpo',
  'simpo',
  'bco_pair',
  'sft',
  'mdpo',
  'image_dpo',
  'chip',
  'dense_dpo',
  'fdpo',
  'hadpo',
  'mia_dpo',
  'mpo',
  'mm_dpo',
  'dama',
  'ppo',
  'grpo',
  'rloo',
] as const satisfies readonly ObjectiveName[];
export type ExportObjectiveName = (typeof EXPORT_OBJECTIVE_NAMES)[number];

/** What rows a recipe trains on: preference pairs, unpaired good/bad answers, or same-answer image pairs. */
export type TrainData = 'pairs' | 'unpaired' | 'image_pairs' | 'sft';

export interface TrlRecipe {
  trainer: 'dpo' | 'kto';
  config: { loss_type?: readonly string[]; loss_weights?: readonly number[]; label_smoothing?: number };
}
export interface LlamaFactoryRecipe {
  stage: 'dpo' | 'kto' | 'rm' | 'sft';
  yaml: { pref_loss?: string; pref_ftx?: number; pref_bco_weight?: number; simpo_gamma?: number; pref_beta?: number };
}
export interface SwiftRecipe {
  rlhf_type: 'dpo' | 'kto' | 'rm' | 'orpo' | 'simpo';
  flags: {
    loss_type?: readonly string[];
    loss_weights?: readonly number[];
    rpo_alpha?: number;
    label_smoothing?: number;
  };
}
export interface OpenRlhfRecipe {
  module: 'train_dpo' | 'train_rm' | 'train_kto';
  flags: { ipo?: true; nll_loss_coef?: number };
}
interface RecipeOf {
  trl: TrlRecipe;
  llamafactory: LlamaFactoryRecipe;
  swift: SwiftRecipe;
  openrlhf: OpenRlhfRecipe;
}

export type Supported<E extends EngineName> = {
  supported: true;
  data: TrainData;
  /** The engine's own name for it, as a user would search its docs. */
  engineName: string;
  /** A deviation from mmalign's reference form worth knowing (printed in the README and docs). */
  note?: string;
} & RecipeOf[E];
export interface Unsupported {
  supported: false;
  reason: string;
  closest: ExportObjectiveName;
}
export type EngineEntry<E extends EngineName> = Supported<E> | Unsupported;
/** A cell that differs between an engine's release lines: one entry per `--engine-version` id. */
export interface VersionedEntry<E extends EngineName> {
  byVersion: { [V in VersionId<E>]: EngineEntry<E> };
}
export type EngineCell<E extends EngineName> = EngineEntry<E> | VersionedEntry<E>;
export type ObjectiveRow = { [E in EngineName]: EngineCell<E> };

const no = (reason: string, closest: ExportObjectiveName): Unsupported => ({ supported: false, reason, closest });

// Shared reasons, so the docs table reads consistently.
const ONLINE = 'online RL: needs a reward function and rollouts, not a preference file (export writes offline data)';
const NO_REJECTED_IMAGES = 'the engine has no rejected-image input, so y_w under I_neg cannot be expressed';
const TEXT_ONLY = 'OpenRLHF train_dpo reads text only';
const NO_TRAIN_KTO =
  'OpenRLHF 0.10 removed train_kto.py: the 0.10+ CLI has no KTO entry point (--engine-version 0.9 still has it)';
const MPO_WEIGHTS = [0.8, 0.2, 1.0] as const;
const HADPO_NOTE =
  'the SFT term trains y_w (the default SFT target of mmalign hadpo); a separate D_SFT set is not exported';

export const OBJECTIVE_ENGINES = {
  bt: {
    trl: no('TRL RewardTrainer has no vision-language support (trl#4021)', 'dpo'),
    llamafactory: { supported: true, data: 'pairs', engineName: 'stage: rm', stage: 'rm', yaml: {} },
    swift: { supported: true, data: 'pairs', engineName: 'rlhf_type rm', rlhf_type: 'rm', flags: {} },
    openrlhf: { supported: true, data: 'pairs', engineName: 'train_rm', module: 'train_rm', flags: {} },
  },
  dpo: {
    trl: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type ["sigmoid"]',
      trainer: 'dpo',
      config: { loss_type: ['sigmoid'] },
    },
    llamafactory: {
      supported: true,
      data: 'pairs',
      engineName: 'pref_loss: sigmoid',
      stage: 'dpo',
      yaml: { pref_loss: 'sigmoid' },
    },
    swift: {
      supported: true,
      data: 'pairs',
      engineName: 'rlhf_type dpo, loss_type sigmoid',
      rlhf_type: 'dpo',
      flags: { loss_type: ['sigmoid'] },
    },
    openrlhf: { supported: true, data: 'pairs', engineName: 'train_dpo', module: 'train_dpo', flags: {} },
  },
  robust: {
    trl: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type ["robust"]',
      trainer: 'dpo',
      config: { loss_type: ['robust'], label_smoothing: 0.1 },
    },
    llamafactory: no('dpo_label_smoothing is conservative DPO (cDPO), not the unbiased Robust DPO estimator', 'dpo'),
    swift: {
      supported: true,
      data: 'pairs',
      engineName: 'rlhf_type dpo, loss_type robust',
      rlhf_type: 'dpo',
      flags: { loss_type: ['robust'], label_smoothing: 0.1 },
    },
    openrlhf: no('--label_smoothing is conservative DPO (cDPO), not the unbiased Robust DPO estimator', 'dpo'),
  },
  hinge: {
    trl: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type ["hinge"]',
      trainer: 'dpo',
      config: { loss_type: ['hinge'] },
    },
    llamafactory: {
      supported: true,
      data: 'pairs',
      engineName: 'pref_loss: hinge',
      stage: 'dpo',
      yaml: { pref_loss: 'hinge' },
    },
    swift: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type hinge',
      rlhf_type: 'dpo',
      flags: { loss_type: ['hinge'] },
    },
    openrlhf: no('train_dpo has only the sigmoid and IPO losses', 'dpo'),
  },
  ipo: {
    trl: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type ["ipo"]',
      trainer: 'dpo',
      config: { loss_type: ['ipo'] },
    },
    llamafactory: {
      supported: true,
      data: 'pairs',
      engineName: 'pref_loss: ipo',
      stage: 'dpo',
      yaml: { pref_loss: 'ipo' },
    },
    swift: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type ipo',
      rlhf_type: 'dpo',
      flags: { loss_type: ['ipo'] },
    },
    openrlhf: {
      supported: true,
      data: 'pairs',
      engineName: 'train_dpo + ipo flag',
      module: 'train_dpo',
      flags: { ipo: true },
    },
  },
  kto: {
    trl: { supported: true, data: 'unpaired', engineName: 'KTOTrainer', trainer: 'kto', config: {} },
    llamafactory: { supported: true, data: 'unpaired', engineName: 'stage: kto (kto_tag)', stage: 'kto', yaml: {} },
    swift: { supported: true, data: 'unpaired', engineName: 'rlhf_type kto (label)', rlhf_type: 'kto', flags: {} },
    openrlhf: {
      byVersion: {
        '0.11': no(NO_TRAIN_KTO, 'dpo'),
        '0.9': { supported: true, data: 'unpaired', engineName: 'train_kto', module: 'train_kto', flags: {} },
      },
    },
  },
  orpo: {
    trl: no('ORPOTrainer lives in trl.experimental; the TRL export targets DPOTrainer/KTOTrainer only', 'mia_dpo'),
    llamafactory: {
      supported: true,
      data: 'pairs',
      engineName: 'pref_loss: orpo',
      stage: 'dpo',
      yaml: { pref_loss: 'orpo' },
    },
    swift: { supported: true, data: 'pairs', engineName: 'rlhf_type orpo', rlhf_type: 'orpo', flags: {} },
    openrlhf: no('OpenRLHF has no ORPO trainer', 'dpo'),
  },
  simpo: {
    trl: no(
      'SimPO is CPOTrainer(loss_type="simpo") in trl.experimental; the TRL export targets DPOTrainer only',
      'ipo',
    ),
    llamafactory: {
      supported: true,
      data: 'pairs',
      engineName: 'pref_loss: simpo',
      stage: 'dpo',
      yaml: { pref_loss: 'simpo', simpo_gamma: 0.5, pref_beta: 2.0 },
    },
    swift: { supported: true, data: 'pairs', engineName: 'rlhf_type simpo', rlhf_type: 'simpo', flags: {} },
    openrlhf: no('OpenRLHF has no SimPO loss', 'ipo'),
  },
  bco_pair: {
    trl: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type ["bco_pair"]',
      trainer: 'dpo',
      config: { loss_type: ['bco_pair'] },
    },
    llamafactory: no('pref_bco_weight only mixes BCO into the sigmoid loss; there is no BCO-only loss', 'mpo'),
    swift: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type bco_pair',
      rlhf_type: 'dpo',
      flags: { loss_type: ['bco_pair'] },
    },
    openrlhf: no('train_dpo has no BCO loss', 'dpo'),
  },
  sft: {
    trl: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type ["sft"]',
      trainer: 'dpo',
      config: { loss_type: ['sft'] },
      note: 'NLL on y_w only; y_l is read but unused',
    },
    llamafactory: { supported: true, data: 'sft', engineName: 'stage: sft', stage: 'sft', yaml: {} },
    swift: {
      supported: true,
      data: 'pairs',
      engineName: 'rlhf_type dpo, loss_type sft',
      rlhf_type: 'dpo',
      flags: { loss_type: ['sft'] },
      note: 'NLL on y_w only; y_l is read but unused',
    },
    openrlhf: no('train_sft reads a different (prompt/response) file; not exported yet', 'mia_dpo'),
  },
  mdpo: {
    trl: no(NO_REJECTED_IMAGES, 'dpo'),
    llamafactory: no(NO_REJECTED_IMAGES, 'dpo'),
    swift: no('ms-swift has rejected_images but no conditional + anchor terms of mDPO', 'image_dpo'),
    openrlhf: no(TEXT_ONLY, 'dpo'),
  },
  image_dpo: {
    trl: no(NO_REJECTED_IMAGES, 'dpo'),
    llamafactory: no(NO_REJECTED_IMAGES, 'dpo'),
    swift: {
      supported: true,
      data: 'image_pairs',
      engineName: 'rlhf_type dpo + rejected_images',
      rlhf_type: 'dpo',
      flags: { loss_type: ['sigmoid'] },
      note: 'rejected_response = the chosen answer, rejected_images = I_neg: DPO on (y|I) vs (y|I_neg)',
    },
    openrlhf: no(TEXT_ONLY, 'dpo'),
  },
  chip: {
    trl: no('needs visual, sentence and token (SeqKL) terms no engine exposes', 'dpo'),
    llamafactory: no('needs visual, sentence and token (SeqKL) terms no engine exposes', 'dpo'),
    swift: no('needs visual, sentence and token (SeqKL) terms no engine exposes', 'image_dpo'),
    openrlhf: no('needs visual, sentence and token (SeqKL) terms no engine exposes', 'dpo'),
  },
  dense_dpo: {
    trl: no('needs per-token segment weights (RLHF-V); engines weight every token equally', 'dpo'),
    llamafactory: no('needs per-token segment weights (RLHF-V); engines weight every token equally', 'dpo'),
    swift: no('needs per-token segment weights (RLHF-V); engines weight every token equally', 'dpo'),
    openrlhf: no('needs per-token segment weights (RLHF-V); engines weight every token equally', 'dpo'),
  },
  fdpo: {
    trl: no('needs per-segment labels; engines train whole answers', 'dpo'),
    llamafactory: no('needs per-segment labels; engines train whole answers', 'dpo'),
    swift: no('needs per-segment labels; engines train whole answers', 'dpo'),
    openrlhf: no('needs per-segment labels; engines train whole answers', 'dpo'),
  },
  // HA-DPO = DPO + NLL on SFT targets; mmalign's own hadpo defaults those targets to y_w, which is what engines add.
  hadpo: {
    trl: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type ["sigmoid","sft"]',
      trainer: 'dpo',
      config: { loss_type: ['sigmoid', 'sft'], loss_weights: [1.0, 1.0] },
      note: HADPO_NOTE,
    },
    llamafactory: {
      supported: true,
      data: 'pairs',
      engineName: 'pref_loss: sigmoid + pref_ftx',
      stage: 'dpo',
      yaml: { pref_loss: 'sigmoid', pref_ftx: 1.0 },
      note: HADPO_NOTE,
    },
    swift: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type sigmoid + rpo_alpha',
      rlhf_type: 'dpo',
      flags: { loss_type: ['sigmoid'], rpo_alpha: 1.0 },
      note: HADPO_NOTE,
    },
    openrlhf: {
      supported: true,
      data: 'pairs',
      engineName: 'train_dpo + nll_loss_coef',
      module: 'train_dpo',
      flags: { nll_loss_coef: 1.0 },
      note: HADPO_NOTE,
    },
  },
  mia_dpo: {
    trl: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type ["sigmoid","sft"]',
      trainer: 'dpo',
      config: { loss_type: ['sigmoid', 'sft'], loss_weights: [1.0, 1.0] },
      note: 'γ = loss_weights[1]; TRL averages the NLL over tokens',
    },
    llamafactory: {
      supported: true,
      data: 'pairs',
      engineName: 'pref_loss: sigmoid + pref_ftx',
      stage: 'dpo',
      yaml: { pref_loss: 'sigmoid', pref_ftx: 1.0 },
      note: 'γ = pref_ftx; LLaMA-Factory averages the NLL over tokens',
    },
    swift: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type sigmoid + rpo_alpha',
      rlhf_type: 'dpo',
      flags: { loss_type: ['sigmoid'], rpo_alpha: 1.0 },
      note: 'γ = rpo_alpha',
    },
    openrlhf: {
      supported: true,
      data: 'pairs',
      engineName: 'train_dpo + nll_loss_coef',
      module: 'train_dpo',
      flags: { nll_loss_coef: 1.0 },
      note: 'γ = nll_loss_coef; text only',
    },
  },
  mpo: {
    trl: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type ["sigmoid","bco_pair","sft"]',
      trainer: 'dpo',
      config: { loss_type: ['sigmoid', 'bco_pair', 'sft'], loss_weights: MPO_WEIGHTS },
    },
    llamafactory: {
      supported: true,
      data: 'pairs',
      engineName: 'pref_loss: sigmoid + pref_bco_weight + pref_ftx',
      stage: 'dpo',
      // LLaMA-Factory mixes (L_dpo + w·L_bco)/(1 + w): w = 0.25 gives 0.8·L_dpo + 0.2·L_bco.
      yaml: { pref_loss: 'sigmoid', pref_bco_weight: 0.25, pref_ftx: 1.0 },
      note: 'pref_bco_weight 0.25 is renormalised to weights 0.8 / 0.2 by the trainer',
    },
    swift: {
      supported: true,
      data: 'pairs',
      engineName: 'loss_type sigmoid bco_pair sft + loss_weights',
      rlhf_type: 'dpo',
      flags: { loss_type: ['sigmoid', 'bco_pair', 'sft'], loss_weights: MPO_WEIGHTS },
    },
    openrlhf: no('train_dpo has no BCO term', 'mia_dpo'),
  },
  mm_dpo: {
    trl: no('needs a per-pair β from reward-model margins; engines take one β', 'dpo'),
    llamafactory: no('needs a per-pair β from reward-model margins; engines take one β', 'dpo'),
    swift: no('needs a per-pair β from reward-model margins; engines take one β', 'dpo'),
    openrlhf: no('needs a per-pair β from reward-model margins; engines take one β', 'dpo'),
  },
  dama: {
    trl: no('needs data- and model-aware β scaling; engines take one β', 'dpo'),
    llamafactory: no('needs data- and model-aware β scaling; engines take one β', 'dpo'),
    swift: no('needs data- and model-aware β scaling; engines take one β', 'dpo'),
    openrlhf: no('needs data- and model-aware β scaling; engines take one β', 'dpo'),
  },
  ppo: {
    trl: no(ONLINE, 'dpo'),
    llamafactory: no(ONLINE, 'dpo'),
    swift: no(ONLINE, 'dpo'),
    openrlhf: no(ONLINE, 'dpo'),
  },
  grpo: {
    trl: no(ONLINE, 'dpo'),
    llamafactory: no(ONLINE, 'dpo'),
    swift: no(ONLINE, 'dpo'),
    openrlhf: no(ONLINE, 'dpo'),
  },
  rloo: {
    trl: no(ONLINE, 'dpo'),
    llamafactory: no(ONLINE, 'dpo'),
    swift: no(ONLINE, 'dpo'),
    openrlhf: no(ONLINE, 'dpo'),
  },
} as const satisfies Record<ObjectiveName, ObjectiveRow>;

function isVersioned<E extends EngineName>(cell: EngineCell<E>): cell is VersionedEntry<E> {
  return 'byVersion' in cell;
}

/** The entry of one objective for one engine release line. */
export function entryFor<E extends EngineName>(
  objective: ExportObjectiveName,
  engine: E,
  version: VersionId<E>,
): EngineEntry<E> {
  const cell = OBJECTIVE_ENGINES[objective][engine] as EngineCell<E>;
  return isVersioned(cell) ? cell.byVersion[version] : cell;
}

const newest = <E extends EngineName>(engine: E): VersionId<E> => versionIds(engine)[0];

/**
 * An objective the named engine line cannot train: says why, names the closest one it can, the engines (newest
 * lines) that can, and the older lines of the same engine that can.
 */
export class UnsupportedObjectiveError extends MmalignError {
  readonly objective: string;
  readonly engine: EngineName;
  readonly version: string;
  readonly closest: ExportObjectiveName;
  constructor(objective: ExportObjectiveName, engine: EngineName, version: string, entry: Unsupported) {
    const others = ENGINE_NAMES.filter((e) => e !== engine && entryFor(objective, e, newest(e)).supported);
    const lines = versionIds(engine).filter((v) => v !== version && entryFor(objective, engine, v).supported);
    const elsewhere = [
      ...(lines.length ? [`${engine} --engine-version ${lines.join(' or ')} supports ${objective}`] : []),
      ...(others.length ? [`engines that support ${objective}: ${others.join(', ')}`] : []),
    ];
    super(
      'MMALIGN_EXPORT_UNSUPPORTED',
      `objective "${objective}" is not supported by ${engine} ${version}: ${entry.reason}`,
      {
        hint: `the closest objective ${engine} supports is "${entry.closest}" (pass --objective ${entry.closest} to use it)${elsewhere.map((x) => `; ${x}`).join('')}`,
      },
    );
    this.name = 'UnsupportedObjectiveError';
    this.objective = objective;
    this.engine = engine;
    this.version = version;
    this.closest = entry.closest;
  }
}

export function isExportObjective(name: string): name is ExportObjectiveName {
  return (EXPORT_OBJECTIVE_NAMES as readonly string[]).includes(name);
}

/** The engine recipe for an objective on a release line (default: the newest), or a typed refusal. Never substitutes. */
export function resolveRecipe<E extends EngineName>(engine: E, objective: string, version?: string): Supported<E> {
  if (!isExportObjective(objective)) throw new UnknownNameError('objective', objective, EXPORT_OBJECTIVE_NAMES);
  if (!(ENGINE_NAMES as readonly string[]).includes(engine)) throw new UnknownNameError('engine', engine, ENGINE_NAMES);
  const line = resolveEngineVersion(engine, version);
  const entry = entryFor(objective, engine, line.id as VersionId<E>);
  if (!entry.supported) throw new UnsupportedObjectiveError(objective, engine, line.id, entry);
  return entry;
}

/**
 * The mapping as Markdown: a table (engine option, or "no" with the closest supported objective; per line where the
 * lines differ) and the reason for every refusal. docs/engines.md embeds it; a test keeps the two identical.
 */
export function engineTableMarkdown(): string {
  const one = (x: EngineEntry<EngineName>): string => (x.supported ? `\`${x.engineName}\`` : `no → \`${x.closest}\``);
  const cell = (o: ExportObjectiveName, e: EngineName): string => {
    const c = OBJECTIVE_ENGINES[o][e] as EngineCell<EngineName>;
    if (!isVersioned(c)) return one(c);
    return versionIds(e)
      .map((v) => `${v}: ${one(entryFor(o, e, v))}`)
      .join(' · ');
  };
  const reasons: string[] = [];
  for (const o of EXPORT_OBJECTIVE_NAMES) {
    const by = new Map<string, string[]>();
    for (const e of ENGINE_NAMES) {
      const versioned = isVersioned(OBJECTIVE_ENGINES[o][e] as EngineCell<EngineName>);
      for (const v of versioned ? versionIds(e) : [newest(e)]) {
        const x = entryFor(o, e, v);
        if (!x.supported) by.set(x.reason, [...(by.get(x.reason) ?? []), versioned ? `${e} ${v}` : e]);
      }
    }
    for (const [reason, engines] of by) reasons.push(`- \`${o}\` (${engines.join(', ')}): ${reason}`);
  }
  return [
    `| objective | ${ENGINE_NAMES.join(' | ')} |`,
    `|---|${ENGINE_NAMES.map(() => '---').join('|')}|`,
    ...EXPORT_OBJECTIVE_NAMES.map((o) => `| \`${o}\` | ${ENGINE_NAMES.map((e) => cell(o, e)).join(' | ')} |`),
    '',
    'Why each "no":',
    '',
    ...reasons,
  ].join('\n');
}

/** The objectives one engine line supports, in table order. */
export function supportedObjectives<E extends EngineName>(engine: E, version: VersionId<E>): ExportObjectiveName[] {
  return EXPORT_OBJECTIVE_NAMES.filter((o) => entryFor(o, engine, version).supported);
}

/**
 * Engine × release line × objectives supported, with the release each line was written from, its install line and
 * its facts file: the table docs/engines.md embeds (test-checked like the objective table).
 */
export function supportMatrixMarkdown(): string {
  const rows: string[] = [];
  for (const e of ENGINE_NAMES)
    for (const v of ENGINES[e].versions as readonly EngineVersion<EngineName>[]) {
      const objectives = supportedObjectives(e, v.id as VersionId<EngineName>);
      rows.push(
        `| ${e} | \`${v.id}\`${v.id === newest(e) ? ' (default)' : ''} | ${rangeText(v.range)} | ${v.release} | \`${v.install}\` | \`${v.facts}\` | ${objectives.length}: ${objectives.join(', ')} |`,
      );
    }
  return [
    '| engine | --engine-version | releases | written from | install | facts file | objectives supported |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
