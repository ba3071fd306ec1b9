import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { zodIssues } from '../schema/index.ts';
import { MmalignError, RecordValidationError, type ValidationIssue } from '../util/errors.ts';
import { didYouMean } from '../util/names.ts';
import type { Stage, StageDefinition } from './stage.ts';

/**
 * The construction config (YAML or JSON): named models, then an ordered list of stages, each
 * `{stage: TYPE, name?, input?, ...params}`. Every object is strict, so a misspelt key is an error naming it.
 *
 * ```yaml
 * run: runs/demo            # run folder, relative to this file (or --run)
 * seed: 1
 * models:
 *   policy: { spec: "http://127.0.0.1:8000/v1", concurrency: 16, temperature: 1.0, policy: true }
 * stages:
 *   - stage: source
 *     shapeworld: { task: caption, count: 200 }
 *   - stage: responses
 *     models: [policy]
 *     n: 4
 * ```
 */
export const ModelConfig = z.strictObject({
  /** a model spec (see MODEL_SPEC_FORMS): checkpoint folder, openai:MODEL@URL[,URL], vllm:..., http(s)://.../v1 */
  spec: z.string().min(1),
  /** requests in flight per endpoint */
  concurrency: z.number().int().positive().default(8),
  temperature: z.number().min(0).optional(),
  topP: z.number().gt(0).lte(1).optional(),
  maxTokens: z.number().int().positive().optional(),
  /** true when this model is the policy being aligned: its responses are on-policy */
  policy: z.boolean().default(false),
  timeoutMs: z.number().int().positive().optional(),
  maxRetries: z.number().int().min(0).optional(),
  /** first retry backoff; doubles per retry, with full jitter */
  retryDelayMs: z.number().int().positive().optional(),
  /** environment variable holding the API key */
  apiKeyEnv: z.string().optional(),
});
export type ModelConfig = z.output<typeof ModelConfig>;

const StageEntry = z.looseObject({
  stage: z.string().min(1),
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'stage names use letters, digits, _ and -')
    .optional(),
  input: z.string().optional(),
});

export const ConstructConfigShape = z.strictObject({
  run: z.string().optional(),
  seed: z.number().int().default(0),
  /** items in flight at most per stage; default: the stage's models' total endpoint capacity */
  concurrency: z.number().int().positive().optional(),
  /** a stage stops early after this many failed items in a row (a dead server) */
  maxConsecutiveFailures: z.number().int().positive().default(25),
  /** share of a stage's items allowed to fail before the pipeline stops (they are retried on the next run) */
  maxFailedFraction: z.number().min(0).max(1).default(0),
  /**
   * process: every commit survives a killed process (SIGKILL included), the default; power: also a power cut
   * (an fsync per commit, slower with few requests in flight)
   */
  durability: z.enum(['process', 'power']).default('process'),
  models: z.record(z.string(), ModelConfig).default({}),
  stages: z.array(StageEntry).min(1, 'a pipeline needs at least one stage'),
});

export interface ConstructConfig {
  file?: string;
  dir: string;
  run?: string;
  seed: number;
  concurrency?: number;
  maxConsecutiveFailures: number;
  maxFailedFraction: number;
  durability: 'process' | 'power';
  models: Record<string, ModelConfig>;
  stages: Stage[];
  /** the validated config as written (for run.json) */
  raw: unknown;
}

/**
 * Validate a config object against the stage table; every problem is collected and reported at once, each with
 * the file and the dotted path of the offending key.
 */
export function parseConstructConfig(
  value: unknown,
  stages: Readonly<Record<string, StageDefinition>>,
  where: { file?: string; dir?: string } = {},
): ConstructConfig {
  const file = where.file;
  const top = ConstructConfigShape.safeParse(value);
  if (!top.success)
    throw new RecordValidationError(
      zodIssues(top.error, { file }, ConstructConfigShape),
      'see `mmalign construct --help`',
    );
  const cfg = top.data;
  const issues: ValidationIssue[] = [];
  const issue = (p: string, message: string, code = 'invalid_config') => issues.push({ code, message, file, path: p });
  const built: Stage[] = [];
  const names = new Set<string>();
  cfg.stages.forEach((entry, i) => {
    const { stage: type, name: givenName, input: givenInput, ...params } = entry;
    if (!Object.hasOwn(stages, type)) {
      issue(
        `stages.${i}.stage`,
        `unknown stage "${type}"${didYouMean(type, Object.keys(stages))}; known: ${Object.keys(stages).join(', ')}`,
        'unknown_stage',
      );
      return;
    }
    const def = stages[type];
    const name = givenName ?? type;
    if (names.has(name)) issue(`stages.${i}.name`, `stage name "${name}" is used twice; give each a distinct name`);
    const input = def.needsInput ? (givenInput ?? built[built.length - 1]?.name) : undefined;
    if (def.needsInput && !input) issue(`stages.${i}`, `stage "${type}" reads an earlier stage, but it comes first`);
    else if (def.needsInput && input && !names.has(input))
      issue(`stages.${i}.input`, `"${input}" is not an earlier stage (earlier: ${[...names].join(', ') || 'none'})`);
    if (!def.needsInput && givenInput !== undefined) issue(`stages.${i}.input`, `stage "${type}" takes no input`);
    names.add(name);
    const p = def.params.safeParse(params);
    if (!p.success) {
      for (const is of zodIssues(p.error, { file }, def.params))
        issues.push({ ...is, path: `stages.${i}${is.path === '(record)' ? '' : `.${is.path}`}` });
      return;
    }
    try {
      built.push(def.build(p.data, { name, input, configDir: where.dir ?? process.cwd(), models: cfg.models }));
    } catch (e) {
      if (e instanceof MmalignError) issue(`stages.${i}`, e.message);
      else throw e;
    }
  });
  if (issues.length) throw new RecordValidationError(issues, 'fix the config and rerun');
  return {
    file,
    dir: where.dir ?? process.cwd(),
    run: cfg.run,
    seed: cfg.seed,
    concurrency: cfg.concurrency,
    maxConsecutiveFailures: cfg.maxConsecutiveFailures,
    maxFailedFraction: cfg.maxFailedFraction,
    durability: cfg.durability,
    models: cfg.models,
    stages: built,
    raw: value,
  };
}

export function loadConstructConfig(file: string, stages: Readonly<Record<string, StageDefinition>>): ConstructConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new MmalignError('MMALIGN_CONFIG', `cannot read config ${file}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (e) {
    throw new MmalignError('MMALIGN_CONFIG', `${file}: not valid YAML/JSON: ${(e as Error).message}`);
  }
  return parseConstructConfig(value, stages, { file, dir: path.dirname(path.resolve(file)) });
}
