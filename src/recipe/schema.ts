import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PAIRING_MODES, type PairingMode } from '../judges/pairing.ts';
import { CORRUPTION_NAMES } from '../negatives/corrupt.ts';
import { INJECTION_NAMES } from '../negatives/inject.ts';
import { zodIssues } from '../schema/index.ts';
import { MmalignError, RecordValidationError } from '../util/errors.ts';
import { SCENARIO_NAMES } from './scenarios.ts';

/**
 * A recipe chains the survey's loop: world → SFT → construct preference sets → align with objectives → evaluate →
 * compare. Unknown keys are errors (a typo must not silently fall back to a default). Sub-configs owned by other
 * modules (world knobs, SFT config, objective params) are validated by those modules' own schemas when the stage runs.
 */

const pairingModes = Object.keys(PAIRING_MODES) as [PairingMode, ...PairingMode[]];

/** ShapeWorld tasks a recipe builds prompts of (captions always; the others only when a set or method asks) */
export const PROMPT_TASKS = ['caption', 'count', 'arith', 'safety'] as const;
export type PromptTask = (typeof PROMPT_TASKS)[number];

export const ConstructSet = z.discriminatedUnion('strategy', [
  /** on-policy: sample n responses from the SFT model, score them with a judge, pair them */
  z.strictObject({
    strategy: z.literal('self'),
    n: z.number().int().min(2).default(4),
    temperature: z.number().positive().default(1),
    topP: z.number().gt(0).lte(1).default(1),
    /** the ShapeWorld ground-truth rule judge; model judges (AI rubric, RLAIF-V claims) are `mmalign construct`'s */
    judge: z.enum(['rule']).default('rule'),
    pairing: z.enum(pairingModes).default('best_worst'),
    /** `pairing: margin`: the least score difference of a pair */
    margin: z.number().positive().optional(),
    lengthMatch: z.number().min(1).optional(),
    /** the prompts' tasks: captions (hallucination) or verifiable ones (count, arith: best-of-n by the verifier) */
    tasks: z.array(z.enum(PROMPT_TASKS)).min(1).default(['caption']),
  }),
  /** on-policy correction (RLHF-V): a sampled response that hallucinates vs the same response without those objects */
  z.strictObject({
    strategy: z.literal('correct'),
    n: z.number().int().min(1).default(4),
    temperature: z.number().positive().default(1),
    topP: z.number().gt(0).lte(1).default(1),
  }),
  /** off-policy: the reference caption vs the same caption with one injected hallucination */
  z.strictObject({
    strategy: z.literal('inject'),
    injections: z
      .array(z.enum(INJECTION_NAMES as [string, ...string[]]))
      .min(1)
      .default(['cooccur', 'random', 'attribute']),
    mode: z.enum(['substitute', 'insert']).default('substitute'),
  }),
  /** every pair of set `from`, with a corrupted I_neg attached (mDPO's image-conditional term) */
  z.strictObject({
    strategy: z.literal('corrupt'),
    from: z.string().min(1),
    corruption: z.enum(CORRUPTION_NAMES as [string, ...string[]]).default('crop'),
    params: z.record(z.string(), z.number()).default({}),
  }),
  /**
   * safety alignment (the survey's safety scenario): on-policy answers to the world's harmful requests and their safe
   * look-alikes, judged by the rule judge; chosen = the right behaviour (a sampled one, else the reference: the
   * refusal for a harmful request, the grounded helpful answer for a look-alike), rejected = the wrong one (a sampled
   * one, else, for a look-alike, the refusal: over-refusal is the failure there). A harmful request the policy always
   * refuses gives no pair: no harmful answer is ever written by the recipe.
   */
  z.strictObject({
    strategy: z.literal('safety'),
    n: z.number().int().min(1).default(4),
    temperature: z.number().positive().default(1),
    topP: z.number().gt(0).lte(1).default(1),
  }),
  /** the union of other sets' pairs (e.g. hallucination + safety), each pair once */
  z.strictObject({
    strategy: z.literal('mix'),
    from: z.array(z.string().min(1)).min(2),
  }),
  /** MPO's DropoutNTP: the reference caption vs its image-free continuation by the SFT model */
  z.strictObject({
    strategy: z.literal('dropout'),
    keepFraction: z.number().gt(0).lt(1).default(0.5),
  }),
]);
export type ConstructSet = z.output<typeof ConstructSet>;

/** Rollout settings of an online method (GRPO / RLOO). */
export const OnlineSettings = z.strictObject({
  /** reward plug-ins as name[=weight] (src/train/rewards.ts) */
  rewards: z.array(z.string()).min(1).default(['rule']),
  groupSize: z.number().int().min(2).default(8),
  promptsPerStep: z.number().int().positive().default(8),
  temperature: z.number().positive().default(1),
  maxTokens: z.number().int().positive().default(40),
  /** the prompts' tasks: captions, or verifiable ones (count, arith) for reasoning with an exact verifier */
  tasks: z.array(z.enum(PROMPT_TASKS)).min(1).default(['caption']),
});

export const AlignMethod = z.strictObject({
  /** an objective name from the objectives table, or `none` for the SFT baseline row */
  objective: z.string().min(1),
  /** the preference set it trains on */
  data: z.string().min(1).optional(),
  /** an image-pair set, for objectives with a visual term (mdpo, chip, image_dpo) */
  imagePairs: z.string().optional(),
  /** >1: iterative on-policy rounds (sample → judge → train) from the previous round's policy (RLAIF-V) */
  rounds: z.number().int().min(1).default(1),
  steps: z.number().int().positive().optional(),
  lr: z.number().positive().optional(),
  beta: z.number().positive().optional(),
  batchSize: z.number().int().positive().optional(),
  params: z.record(z.string(), z.unknown()).default({}),
  /** online objectives (grpo, rloo): rollouts on the recipe's caption prompts, scored by reward plug-ins */
  online: OnlineSettings.optional(),
  /** the SFT-on-chosen method this one is tested against (default: the one trained on its `data`, else compare.control) */
  control: z.string().optional(),
  label: z.string().optional(),
  /** which of the survey's scenarios the method aligns for: its bar and its report section (summary.ts SCENARIOS) */
  scenario: z.enum(SCENARIO_NAMES).default('hallucination'),
  /**
   * a replay term against forgetting: λ · NLL of a batch of the SFT mixture added to the objective at every step
   * (0 = off). Alignment on one task's data moves the weights the other tasks were learned in (counting falls after
   * caption-only alignment, SFT-on-chosen included); replaying the mixture keeps them.
   */
  replay: z.number().min(0).optional(),
  /** replay the SFT world's captions too, with their exact ground-truth text (replay.ts `replayExamples`) */
  replayExactCaptions: z.boolean().optional(),
});
export type AlignMethod = z.output<typeof AlignMethod>;

export const Recipe = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  seed: z.number().int().default(1),
  /** run the whole chain once per seed and aggregate (`mmalign run --seeds 1,2,3`); `seed` is the single-run default */
  seeds: z.array(z.number().int()).min(1).optional(),
  out: z.string().optional(),
  world: z
    .strictObject({
      /** scenes per task for SFT */
      train: z.number().int().positive().default(2000),
      /** held-out scenes per task for evaluation */
      test: z.number().int().positive().default(300),
      /** SFT tasks: `exist` yes/no questions, not POPE's (POPE is the benchmark; see existTask in src/world/pope.ts) */
      tasks: z
        .array(z.string())
        .default(['caption', 'exist', 'attribute', 'count', 'spatial', 'mc', 'arith', 'safety']),
      /** items of particular tasks, overriding `train` for them */
      counts: z.record(z.string(), z.number().int().positive()).default({}),
      config: z.record(z.string(), z.unknown()).default({}),
    })
    .prefault({}),
  sft: z.record(z.string(), z.unknown()).default({}),
  construct: z
    .strictObject({
      /** caption prompts (fresh scenes, never the eval suite's) the preference sets are built from */
      prompts: z.number().int().positive().default(400),
      /**
       * ShapeWorld split whose statistics the prompt scenes follow: `train` (the SFT distribution) or `test` (triggers
       * often drawn without their partner: the scenes where the co-occurrence prior misleads, as counterfactual
       * preference data targets them)
       */
      split: z.enum(['train', 'test']).default('train'),
      sets: z.record(z.string(), ConstructSet).default({}),
    })
    .prefault({}),
  align: z
    .strictObject({
      steps: z.number().int().positive().default(150),
      lr: z.number().positive().default(5e-4),
      beta: z.number().positive().default(0.1),
      batchSize: z.number().int().positive().default(16),
      /** early stopping on held-out preference accuracy; 0 (default) = every method trains the same steps */
      patience: z.number().int().nonnegative().default(0),
      /** default replay weight of every method (see AlignMethod.replay) */
      replay: z.number().min(0).default(0),
      methods: z.record(z.string(), AlignMethod).default({}),
    })
    .prefault({}),
  eval: z
    .strictObject({
      suite: z.string().default('shapes'),
      /** bootstrap resamples for confidence intervals */
      bootstrap: z.number().int().positive().default(1000),
      /** items per task of the suite (default: the suite's own sizes) */
      limit: z.number().int().positive().optional(),
      /** items of particular tasks, overriding `limit` for them (a larger POPE: its F1 moves in steps of ~1/n) */
      limits: z.record(z.string(), z.number().int().positive()).default({}),
    })
    .prefault({}),
  /** the methods every other method is tested against (paired tests on the same items) */
  compare: z
    .strictObject({
      baseline: z.string().default('sft'),
      /**
       * the control of methods whose preference set has no SFT-on-chosen run of its own; a method whose set has one
       * (`objective: sft` on the same `data`) is tested against that run
       */
      control: z.string().optional(),
    })
    .prefault({}),
  /** overrides deep-merged over the recipe by `mmalign run --quick` */
  quick: z.record(z.string(), z.unknown()).optional(),
});
export type Recipe = z.output<typeof Recipe>;

/** The prompt tasks a set is built from (sets built from other sets have none of their own). */
export function setTasks(set: ConstructSet): readonly PromptTask[] {
  if (set.strategy === 'self') return set.tasks;
  if (set.strategy === 'safety') return ['safety'];
  return ['caption'];
}

/** Every prompt task the recipe's sets and online methods use. */
export function promptTasksOf(r: Recipe): PromptTask[] {
  const used = new Set<PromptTask>(['caption']);
  for (const set of Object.values(r.construct.sets)) for (const t of setTasks(set)) used.add(t);
  for (const m of Object.values(r.align.methods)) for (const t of m.online?.tasks ?? []) used.add(t);
  return PROMPT_TASKS.filter((t) => used.has(t));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}

/** Parse a recipe value; with `quick`, its `quick:` block is merged over it first. Errors name file and field. */
export function parseRecipe(value: unknown, opts: { file?: string; quick?: boolean } = {}): Recipe {
  let v = value;
  if (opts.quick) {
    if (!isPlainObject(value) || !isPlainObject(value.quick))
      throw new MmalignError('MMALIGN_RECIPE_NO_QUICK', `${opts.file ?? 'recipe'} has no quick: block`, {
        hint: 'add a `quick:` mapping of overrides (e.g. smaller world and fewer steps)',
      });
    v = deepMerge(value, value.quick);
  }
  const r = Recipe.safeParse(v);
  if (!r.success)
    throw new RecordValidationError(
      zodIssues(r.error, { file: opts.file }),
      'see recipes/shapes-hallucination.yaml for a complete recipe',
    );
  const sets = r.data.construct.sets;
  const issues = Object.entries(r.data.align.methods).flatMap(([name, m]) =>
    [
      m.data && !(m.data in sets) ? { path: `align.methods.${name}.data`, missing: m.data } : null,
      m.imagePairs && !(m.imagePairs in sets)
        ? { path: `align.methods.${name}.imagePairs`, missing: m.imagePairs }
        : null,
    ].filter((x) => x !== null),
  );
  const taskIssues = [
    ...Object.entries(sets).map(([name, set]) => [`construct.sets.${name}.tasks`, setTasks(set)] as const),
    ...Object.entries(r.data.align.methods).map(
      ([name, m]) => [`align.methods.${name}.online.tasks`, m.online?.tasks ?? []] as const,
    ),
  ]
    .filter(([, tasks]) => tasks.includes('caption') && tasks.length > 1)
    .map(([where]) => ({
      code: 'mixed_tasks',
      file: opts.file,
      path: where,
      message: 'captions and other tasks come from different prompt worlds: use [caption] or only the others',
    }));
  const fromIssues = Object.entries(sets).flatMap(([name, set]) =>
    set.strategy === 'mix' || set.strategy === 'corrupt'
      ? (set.strategy === 'mix' ? set.from : [set.from])
          .filter((f) => !(f in sets) || f === name)
          .map((f) => ({
            code: 'unknown_set',
            file: opts.file,
            path: `construct.sets.${name}.from`,
            message: `names set "${f}", not another set of construct.sets (${Object.keys(sets).join(', ')})`,
          }))
      : [],
  );
  const methods = r.data.align.methods;
  const unknownMethods = [
    ...Object.entries(methods).map(([name, m]) => [`align.methods.${name}.control`, m.control] as const),
    ['compare.baseline', r.data.compare.baseline] as const,
    ['compare.control', r.data.compare.control] as const,
  ].filter(([, ref]) => ref !== undefined && !(ref in methods) && Object.keys(methods).length > 0);
  if (issues.length || unknownMethods.length || taskIssues.length || fromIssues.length)
    throw new RecordValidationError([
      ...taskIssues,
      ...fromIssues,
      ...issues.map((i) => ({
        code: 'unknown_set',
        file: opts.file,
        path: i.path,
        message: `names set "${i.missing}", not in construct.sets (${Object.keys(sets).join(', ') || 'none'})`,
      })),
      ...unknownMethods.map(([where, ref]) => ({
        code: 'unknown_method',
        file: opts.file,
        path: where,
        message: `names method "${ref}", not in align.methods (${Object.keys(methods).join(', ')})`,
      })),
    ]);
  return r.data;
}

export function loadRecipe(file: string, opts: { quick?: boolean } = {}): Recipe {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new MmalignError('MMALIGN_RECIPE_NOT_FOUND', `cannot read recipe ${file}`, { cause: e });
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (e) {
    throw new MmalignError('MMALIGN_RECIPE_YAML', `${file}: ${(e as Error).message}`);
  }
  return parseRecipe(value, { file, quick: opts.quick });
}
