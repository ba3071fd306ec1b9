import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { MmalignError } from '../util/errors.ts';
import type { ExportPlan } from './plan.ts';

/**
 * What each engine version accepts, as hand-written data files (src/export/engines/facts/<engine>-<version>.json):
 * every option name of the argument definitions the export touches, its type and legal values, and the engine file,
 * release and commit it was read from. `checkOptions` holds an export against them, so an option the engine would
 * reject (or a value it would refuse) fails a test instead of a GPU job. The files hold facts only, no engine code.
 */

const SCALAR_TYPES = ['flag', 'bool', 'int', 'float', 'string', 'list', 'list:float', 'field'] as const;
/**
 * flag: store_true (written bare); bool: a true/false value; int, float, string: one value; list, list:float: one or
 * more values; field: a key of a data row or registration file (no value to check).
 */
export type OptionType = (typeof SCALAR_TYPES)[number];

const OptionSpecSchema = z
  .object({
    type: z.enum(SCALAR_TYPES),
    values: z.array(z.union([z.string(), z.number()])).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    count: z.number().int().positive().optional(),
    verified: z.boolean().optional(),
    note: z.string().optional(),
  })
  .strict();
export type OptionSpec = z.infer<typeof OptionSpecSchema>;

const SourceSchema = z
  .object({
    repo: z.string(),
    file: z.string(),
    commit: z
      .string()
      .regex(/^[0-9a-f]{40}$/)
      .nullable(),
    verified: z.boolean(),
    note: z.string(),
  })
  .strict();

const SurfaceSchema = z
  .object({
    source: z.string(),
    command: z.string().optional(),
    verified: z.boolean().optional(),
    note: z.string().optional(),
    // A bare type string is shorthand for { type }.
    options: z.record(
      z.string(),
      z.union([z.enum(SCALAR_TYPES).transform((type): OptionSpec => ({ type })), OptionSpecSchema]),
    ),
  })
  .strict();

export const EngineFactsSchema = z
  .object({
    engine: z.string(),
    version: z.string(),
    release: z.string(),
    readOn: z.string(),
    sources: z.array(SourceSchema).min(1),
    surfaces: z.record(z.string(), SurfaceSchema),
  })
  .strict();
export type EngineFacts = z.infer<typeof EngineFactsSchema>;

const cache = new Map<string, EngineFacts>();

/** The facts file of one engine version (validated; cached). */
export function loadFacts(file: string): EngineFacts {
  let facts = cache.get(file);
  if (facts) return facts;
  const url = new URL(`./engines/facts/${file}`, import.meta.url);
  const parsed = EngineFactsSchema.safeParse(JSON.parse(readFileSync(url, 'utf8')));
  if (!parsed.success)
    throw new MmalignError('MMALIGN_EXPORT_INTERNAL', `engine facts ${file} are malformed: ${parsed.error.message}`);
  facts = parsed.data;
  cache.set(file, facts);
  return facts;
}

/** One option as an export wrote it: where (the surface: a CLI, a config class, a row kind), its name and value. */
export interface WrittenOption {
  surface: string;
  name: string;
  /** Shell flags: the tokens after the flag (none for a bare flag). Config files: the parsed value. */
  value: unknown;
}

export type OptionProblemKind = 'unknown_surface' | 'unknown_option' | 'illegal_value';
export interface OptionProblem {
  kind: OptionProblemKind;
  surface: string;
  name: string;
  detail: string;
}

const isInt = (v: unknown) =>
  (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v));
const asNumber = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() ? Number(v) : NaN);

/** Why a value is not legal for the spec, or undefined when it is. Shell values come as token lists. */
function valueProblem(spec: OptionSpec, raw: unknown): string | undefined {
  const tokens = Array.isArray(raw) ? raw : [raw];
  if (spec.type === 'field') return undefined;
  if (spec.type === 'flag') return tokens.length === 0 || raw === true ? undefined : 'a bare flag takes no value';
  const list = spec.type === 'list' || spec.type === 'list:float';
  if (!list && tokens.length !== 1) return `takes one value, got ${tokens.length}`;
  if (list && tokens.length === 0) return 'takes at least one value';
  if (spec.count !== undefined && tokens.length !== spec.count)
    return `takes ${spec.count} values, got ${tokens.length}`;
  for (const t of tokens) {
    if (spec.type === 'bool' && !(t === true || t === false || t === 'true' || t === 'false'))
      return `expects true or false, got ${JSON.stringify(t)}`;
    if (spec.type === 'int' && !isInt(t)) return `expects an integer, got ${JSON.stringify(t)}`;
    if ((spec.type === 'float' || spec.type === 'list:float') && !Number.isFinite(asNumber(t)))
      return `expects a number, got ${JSON.stringify(t)}`;
    if (spec.values && !spec.values.some((v) => String(v) === String(t)))
      return `${JSON.stringify(t)} is not one of ${spec.values.join(', ')}`;
    const n = asNumber(t);
    if (spec.min !== undefined && n < spec.min) return `${t} is below the minimum ${spec.min}`;
    if (spec.max !== undefined && n > spec.max) return `${t} is above the maximum ${spec.max}`;
  }
  return undefined;
}

/** Every written option that the facts do not list, or whose value they do not allow. Empty = the engine accepts it. */
export function checkOptions(facts: EngineFacts, written: readonly WrittenOption[]): OptionProblem[] {
  const problems: OptionProblem[] = [];
  for (const w of written) {
    const surface = facts.surfaces[w.surface];
    if (!surface) {
      problems.push({
        kind: 'unknown_surface',
        surface: w.surface,
        name: w.name,
        detail: `${facts.engine} ${facts.version} facts have no "${w.surface}" (known: ${Object.keys(facts.surfaces).join(', ')})`,
      });
      continue;
    }
    const spec = surface.options[w.name];
    if (!spec) {
      problems.push({
        kind: 'unknown_option',
        surface: w.surface,
        name: w.name,
        detail: `"${w.name}" is not an option of ${surface.source} in ${facts.engine} ${facts.release}`,
      });
      continue;
    }
    const why = valueProblem(spec, w.value);
    if (why) problems.push({ kind: 'illegal_value', surface: w.surface, name: w.name, detail: why });
  }
  return problems;
}

/**
 * The `--flag value…` options of one command in a launch script: the lines after the (non-comment) line that runs
 * `command` (continuation lines, `\`-terminated), with single-quoted values unquoted.
 */
export function shellCommandOptions(script: string, command: string, surface: string): WrittenOption[] {
  const lines = script.split('\n');
  const start = lines.findIndex((l) => !l.trimStart().startsWith('#') && l.includes(command));
  if (start < 0) throw new MmalignError('MMALIGN_EXPORT_INTERNAL', `launch script does not run "${command}"`);
  const out: WrittenOption[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line.startsWith('--')) break;
    const tokens = [...line.replace(/\\$/, '').matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) =>
      m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2],
    );
    const [flag, ...value] = tokens;
    out.push({ surface, name: flag.slice(2), value });
    if (!lines[i].trimEnd().endsWith('\\')) break;
  }
  return out;
}

/** The keys of a parsed config mapping as written options of one surface. */
export function mappingOptions(surface: string, mapping: Record<string, unknown>): WrittenOption[] {
  return Object.entries(mapping).map(([name, value]) => ({ surface, name, value }));
}

/** A readable one-line list of problems (test failure messages). */
export function formatProblems(problems: readonly OptionProblem[]): string {
  return problems.map((p) => `${p.surface}: ${p.detail}`).join('; ');
}

/**
 * Every option an export plan writes, read back from its files (not from the writer's own lists): the `args` of
 * trl_config.yaml (DPOConfig / KTOConfig), the keys of llamafactory_train.yaml and dataset_info.json, the flags of the
 * `swift rlhf` / `deepspeed --module openrlhf.cli.*` command in launch.sh, and the keys of ms-swift rows (per
 * rlhf_type: which row fields an objective may carry). Row keys `id` (mmalign's trace id) are not engine fields.
 */
export function planOptions(engine: string, plan: ExportPlan): WrittenOption[] {
  const file = (p: string): string => {
    const f = plan.files.find((x) => x.path === p);
    if (!f) throw new MmalignError('MMALIGN_EXPORT_INTERNAL', `the ${engine} export has no ${p}`);
    return f.text;
  };
  const jsonlRows = (p: string) =>
    file(p)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const rowFields = (surface: string, rows: Record<string, unknown>[]): WrittenOption[] =>
    [...new Set(rows.flatMap((r) => Object.keys(r)))]
      .filter((k) => k !== 'id')
      .map((name) => ({ surface, name, value: undefined }));
  switch (engine) {
    case 'trl': {
      const cfg = YAML.parse(file('trl_config.yaml')) as { trainer: string; args: Record<string, unknown> };
      return mappingOptions(cfg.trainer === 'kto' ? 'KTOConfig' : 'DPOConfig', cfg.args);
    }
    case 'llamafactory': {
      const out = mappingOptions('train_yaml', YAML.parse(file('llamafactory_train.yaml')));
      const info = JSON.parse(file('data/dataset_info.json')) as Record<string, Record<string, unknown>>;
      for (const entry of Object.values(info)) {
        out.push(...mappingOptions('dataset_info', entry));
        for (const sub of ['columns', 'tags'] as const)
          out.push(...mappingOptions(`dataset_info.${sub}`, (entry[sub] ?? {}) as Record<string, unknown>));
      }
      return out;
    }
    case 'swift': {
      const flags = shellCommandOptions(file('launch.sh'), 'swift rlhf', 'rlhf');
      const rlhfType = flags.find((f) => f.name === 'rlhf_type')?.value as string[] | undefined;
      return [...flags, ...rowFields(`rows.${rlhfType?.[0]}`, jsonlRows('data/train.jsonl'))];
    }
    case 'openrlhf': {
      const launch = file('launch.sh');
      const module = /--module openrlhf\.cli\.(\w+)/.exec(launch)?.[1];
      if (!module) throw new MmalignError('MMALIGN_EXPORT_INTERNAL', 'launch.sh runs no openrlhf.cli module');
      return shellCommandOptions(launch, `--module openrlhf.cli.${module}`, module);
    }
    default:
      throw new MmalignError('MMALIGN_EXPORT_INTERNAL', `no option reader for engine ${engine}`);
  }
}
