import type { z } from 'zod';
import type { GenerateParams, ModelError, VisionLanguageModel } from '../models/types.ts';
import type { RecordType } from '../schema/index.ts';
import type { ModelConfig } from './config.ts';

/**
 * A construction stage: it plans work items with deterministic keys from its input, and turns each item into
 * output records. The runner owns everything else (ledger, exactly-once output, concurrency, progress, failures),
 * so a new stage (negatives, judges, pairing) is one `defineStage` call in `stages/` plus one line in STAGES.
 *
 * Rules a stage must keep for resume to be exact:
 * - `plan` yields the same keys, in the same order, for the same input and params;
 * - `run` derives record ids from the key (never from time or randomness), and any seed from the key;
 * - `run` returns failures as data (`ok: false`); a throw aborts the stage.
 */

export interface StageUsage {
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

export type WorkOutcome = { ok: true; records: unknown[]; usage?: StageUsage } | { ok: false; error: ModelError };

export interface WorkItem<T = unknown> {
  key: string;
  data: T;
}

export interface InputRecord {
  value: unknown;
  file: string;
  line: number;
}

/** A named model of the config, resolved on first use. */
export interface ResolvedModel {
  name: string;
  config: ModelConfig;
  model: VisionLanguageModel;
  /** requests it takes in flight (sum of endpoint limits; 1 for an in-process model) */
  capacity: number;
  /** sampling defaults of this model from the config */
  defaults: GenerateParams;
}

export interface StageEnv {
  runDir: string;
  stageDir: string;
  /** where media paths in this run's records resolve */
  mediaRoot: string;
  runId: string;
  seed: number;
  /** createdAt stamped on new records */
  now(): string;
  model(name: string): Promise<ResolvedModel>;
  /** records written by an earlier stage of this run, in order */
  readInput(stage: string): AsyncIterable<InputRecord>;
  countInput(stage: string): Promise<number>;
  signal: AbortSignal;
}

export interface Stage<T = unknown> {
  readonly name: string;
  readonly type: string;
  readonly output: RecordType;
  /** the stage it reads, if any */
  readonly input?: string;
  /** what the output depends on; a rerun with a different fingerprint is refused */
  readonly fingerprint: unknown;
  /** models whose request counters belong to this stage */
  readonly models: readonly string[];
  /** set by data-source stages: where media of the records they emit live */
  mediaRoot?(runDir: string): string;
  count(env: StageEnv): Promise<number | undefined>;
  plan(env: StageEnv): AsyncIterable<WorkItem<T>>;
  run(item: WorkItem<T>, env: StageEnv): Promise<WorkOutcome>;
  /** items this stage may usefully keep in flight */
  concurrency(env: StageEnv): Promise<number>;
  /**
   * Called once the plan is done (not when the stage stopped early): statistics computed from the stage's whole
   * output (so they are the same after a resume), and any file derived from it (an export). Goes in the summary.
   */
  summarize?(env: StageEnv, output: string): Promise<Record<string, unknown>>;
}

export interface StageBuildContext {
  name: string;
  input?: string;
  /** folder of the config file: relative paths in params resolve from it */
  configDir: string;
  models: Readonly<Record<string, ModelConfig>>;
}

/** A stage type: its doc line, its params schema (strict: unknown keys are errors) and its factory. */
export interface StageDefinition {
  readonly description: string;
  readonly output: RecordType;
  /** whether it reads an earlier stage (data sources do not) */
  readonly needsInput: boolean;
  readonly params: z.ZodType;
  build(params: unknown, ctx: StageBuildContext): Stage;
}

export function defineStage<S extends z.ZodType, T>(def: {
  description: string;
  output: RecordType;
  needsInput: boolean;
  params: S;
  create(params: z.output<S>, ctx: StageBuildContext): Stage<T>;
}): StageDefinition {
  return {
    description: def.description,
    output: def.output,
    needsInput: def.needsInput,
    params: def.params,
    // params were validated against def.params by the config loader
    build: (params, ctx) => def.create(params as z.output<S>, ctx) as Stage,
  };
}
