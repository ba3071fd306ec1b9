import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { atomicOutputDir } from '../io/atomic.ts';
import { FORMATS } from '../io/formats/index.ts';
import type { Preference } from '../schema/index.ts';
import { MmalignError, RecordValidationError, type ValidationIssue } from '../util/errors.ts';
import { datasetCard } from './card.ts';
import { lfTemplate, planLlamaFactory } from './engines/llamafactory.ts';
import { planOpenRlhf } from './engines/openrlhf.ts';
import { planSwift } from './engines/swift.ts';
import { planTrl } from './engines/trl.ts';
import { ENGINES, type EngineName, type EngineVersion, resolveEngineVersion } from './engines.ts';
import { checkOptions, formatProblems, loadFacts, planOptions } from './facts.ts';
import { type ImageTokenRule, imageTokenRule } from './image-tokens.ts';
import { type ExportObjectiveName, resolveRecipe, type Supported } from './objective-map.ts';
import type { ExportPlan, WriterContext } from './plan.ts';
import { type LengthCheck, preflight } from './preflight.ts';
import { exportReadme } from './readme.ts';
import { type Drop, type RankingMode, toUnits } from './units.ts';

/** Written into configs when no --max-length is given; rows are then not length-checked (the report says so). */
export const DEFAULT_MAX_LENGTH = 4096;

export interface ExportOptions {
  engine: EngineName;
  /** The engine release line to write for (an id such as `0.11`, or a release inside one); default: the newest. */
  engineVersion?: string;
  objective: string;
  model: string;
  /** mmalign preference records: .jsonl (or a .json array). */
  data: string;
  out: string;
  maxLength?: number;
  /** A Hugging Face tokenizer.json; with maxLength, rows are measured before export. */
  tokenizer?: string;
  /** Tokens per image, overriding the per-model table. */
  imageTokens?: number;
  /** Folder media paths are relative to (default: the data file's folder). */
  mediaRoot?: string;
  rankings?: RankingMode;
  /** Dataset name (LLaMA-Factory registry key). */
  name?: string;
  /** LLaMA-Factory chat template (default: from the model id). */
  template?: string;
  beta?: number;
  /** Check and report only; write nothing. */
  dryRun?: boolean;
  /** Pre-flight progress (rows checked so far, of total). */
  onProgress?: (done: number, total: number) => void;
  /** Write progress (files written and media copied so far, of total). */
  onWrite?: (done: number, total: number) => void;
}

export interface PreflightReport {
  engine: EngineName;
  /** The release line the files target (`--engine-version` id) and the release they were written from. */
  engineVersion: string;
  engineRelease: string;
  objective: ExportObjectiveName;
  engineOption: string;
  records: number;
  /** Rows after rankings were expanded / pairs unpaired, before checks. */
  candidates: number;
  kept: number;
  fixed: { id: string; line: number; fixes: string[] }[];
  dropped: Drop[];
  droppedByReason: Record<string, number>;
  rankings: { records: number; pairs: number };
  lengthChecked: boolean;
  maxLength: number;
  warnings: string[];
}

export interface ExportResult {
  report: PreflightReport;
  /** Files written (relative to out); empty on a dry run. */
  written: string[];
  out: string;
}

/**
 * Preference records through the io mmalign reader (.jsonl, .json array or .parquet). Media are not opened here:
 * a missing or broken file is pre-flight's business (a dropped row), not a reason to stop the whole export.
 */
async function readRecords(file: string, mediaRoot: string): Promise<{ line: number; value: Preference }[]> {
  const issues: ValidationIssue[] = [];
  const out: { line: number; value: Preference }[] = [];
  for await (const it of FORMATS.mmalign.read(file, { hashMedia: false, mediaRoot })) {
    if (!it.ok) issues.push(it.issue);
    else if (!('kind' in it.record))
      issues.push({
        code: 'not_a_preference',
        message: 'a sample record; export reads preference records (pair, image_pair, ranking, ...)',
        file,
        line: it.line,
        path: '(record)',
      });
    else out.push({ line: it.line, value: it.record });
  }
  if (issues.length)
    throw new RecordValidationError(
      issues,
      'export reads mmalign preference records (mmalign validate --type preference)',
    );
  return out;
}

async function lengthCheck(opts: ExportOptions): Promise<LengthCheck | undefined> {
  if (opts.maxLength === undefined && opts.tokenizer === undefined) return undefined;
  if (opts.maxLength === undefined || opts.tokenizer === undefined)
    throw new MmalignError('MMALIGN_EXPORT_OPTION', '--max-length and --tokenizer go together', {
      hint: 'the length check counts tokens with the model tokenizer.json; pass both (or neither)',
    });
  if (!Number.isInteger(opts.maxLength) || opts.maxLength <= 0)
    throw new MmalignError('MMALIGN_EXPORT_OPTION', `--max-length must be a positive integer, got ${opts.maxLength}`);
  // Resolved on the first image, so text-only sets need no per-model image-token count.
  let rule: ImageTokenRule | undefined;
  const imageRule = () => {
    rule ??= imageTokenRule(opts.model, opts.imageTokens);
    return rule;
  };
  let json: unknown;
  try {
    json = JSON.parse(await readFile(opts.tokenizer, 'utf8'));
  } catch (e) {
    throw new MmalignError(
      'MMALIGN_EXPORT_TOKENIZER',
      `cannot read tokenizer ${opts.tokenizer}: ${(e as Error).message}`,
    );
  }
  const { Tokenizer } = await import('@huggingface/tokenizers');
  let tok: InstanceType<typeof Tokenizer>;
  try {
    tok = new Tokenizer(json as object, {});
  } catch (e) {
    throw new MmalignError(
      'MMALIGN_EXPORT_TOKENIZER',
      `${opts.tokenizer} is not a usable tokenizer.json: ${(e as Error).message}`,
    );
  }
  return {
    maxLength: opts.maxLength,
    imageRule,
    countTokens: (text) => (text ? tok.encode(text, { add_special_tokens: false }).ids.length : 0),
  };
}

export function planFor(
  engine: EngineName,
  base: Omit<WriterContext<EngineName>, 'engine' | 'recipe' | 'version'>,
  recipe: Supported<EngineName>,
  version: EngineVersion<EngineName>,
): Promise<ExportPlan> {
  switch (engine) {
    case 'trl':
      return planTrl({ ...base, engine, recipe: recipe as Supported<'trl'>, version: version as EngineVersion<'trl'> });
    case 'llamafactory':
      return planLlamaFactory({
        ...base,
        engine,
        recipe: recipe as Supported<'llamafactory'>,
        version: version as EngineVersion<'llamafactory'>,
      });
    case 'swift':
      return planSwift({
        ...base,
        engine,
        recipe: recipe as Supported<'swift'>,
        version: version as EngineVersion<'swift'>,
      });
    case 'openrlhf':
      return planOpenRlhf({
        ...base,
        engine,
        recipe: recipe as Supported<'openrlhf'>,
        version: version as EngineVersion<'openrlhf'>,
      });
  }
}

/** An export computed but not written: the report, and (unless a dry run) the plan and every file's text. */
export interface PreparedExport {
  report: PreflightReport;
  out: string;
  written?: { plan: ExportPlan; files: { path: string; text: string }[] };
}

/**
 * Everything up to the disk: refuse an unsupported objective (or engine line) before reading anything, read and
 * validate the records, turn them into engine units, run pre-flight, and plan the dataset, registration, config,
 * launch script, README, dataset card and pre-flight report. Pure apart from reading the input.
 */
export async function prepareExport(opts: ExportOptions): Promise<PreparedExport> {
  const version = resolveEngineVersion(opts.engine, opts.engineVersion);
  const recipe = resolveRecipe(opts.engine, opts.objective, version.id);
  const objective = opts.objective as ExportObjectiveName;
  const template = opts.engine === 'llamafactory' ? lfTemplate(opts.model, opts.template) : undefined;
  const name = opts.name ?? 'mmalign';
  if (!/^[A-Za-z0-9_.-]+$/.test(name))
    throw new MmalignError('MMALIGN_EXPORT_OPTION', `--name "${name}" must be letters, digits, _ . or -`);
  const out = path.resolve(opts.out);
  if (!opts.dryRun && existsSync(out) && readdirSync(out).length > 0)
    throw new MmalignError('MMALIGN_EXPORT_OUT_EXISTS', `${out} exists and is not empty`, {
      hint: 'choose a new folder: an export never overwrites files',
    });
  const length = await lengthCheck(opts);
  if (!existsSync(opts.data)) throw new MmalignError('MMALIGN_EXPORT_DATA', `data file not found: ${opts.data}`);
  const mediaRoot = path.resolve(opts.mediaRoot ?? path.dirname(opts.data));
  const records = await readRecords(opts.data, mediaRoot);

  const units = toUnits(records, recipe.data, opts.rankings ?? 'best-vs-rest');
  const pf = await preflight(units.units, {
    engine: opts.engine,
    data: recipe.data,
    mediaRoot,
    length,
    onProgress: opts.onProgress,
  });
  const dropped = [...units.drops, ...pf.drops].sort((a, b) => a.line - b.line || a.id.localeCompare(b.id));
  const droppedByReason: Record<string, number> = {};
  for (const d of dropped) droppedByReason[d.reason] = (droppedByReason[d.reason] ?? 0) + 1;
  const maxLength = opts.maxLength ?? DEFAULT_MAX_LENGTH;
  const warnings = [...pf.warnings];
  if (!length)
    warnings.push(
      `rows were not length-checked (no --max-length/--tokenizer); configs use ${maxLength} and rows longer than that will be truncated or skipped by the engine`,
    );
  const report: PreflightReport = {
    engine: opts.engine,
    engineVersion: version.id,
    engineRelease: version.release,
    objective,
    engineOption: recipe.engineName,
    records: records.length,
    candidates: units.units.length,
    kept: pf.ready.length,
    fixed: pf.ready.filter((u) => u.fixes.length).map((u) => ({ id: u.id, line: u.line, fixes: u.fixes })),
    dropped,
    droppedByReason,
    rankings: units.rankings,
    lengthChecked: length !== undefined,
    maxLength,
    warnings,
  };
  if (opts.dryRun) return { report, out };
  if (pf.ready.length === 0)
    throw new MmalignError(
      'MMALIGN_EXPORT_EMPTY',
      `no row of ${opts.data} can be exported to ${opts.engine} for ${objective}: ${Object.entries(droppedByReason)
        .map(([r, n]) => `${n} ${r}`)
        .join(', ')}`,
      { hint: 'run with --dry-run to see every dropped row and its reason' },
    );

  const plan = await planFor(
    opts.engine,
    { objective, model: opts.model, name, maxLength, beta: opts.beta, template, units: pf.ready },
    recipe,
    version,
  );
  // The writers and the facts files are both mmalign's: a mismatch is a bug here, never the user's data.
  const problems = checkOptions(loadFacts(version.facts), planOptions(opts.engine, plan));
  if (problems.length)
    throw new MmalignError(
      'MMALIGN_EXPORT_INTERNAL',
      `the ${opts.engine} ${version.id} export would write options that ${opts.engine} ${version.release} does not accept: ${formatProblems(problems)}`,
    );
  const card = datasetCard({
    title: `${name}: ${objective} preference data for ${ENGINES[opts.engine].title}`,
    engine: ENGINES[opts.engine].title,
    objective,
    model: opts.model,
    records: records.map((r) => r.value),
    rows: plan.rows,
    dropped: droppedByReason,
    fixed: report.fixed.length,
    rankings: units.rankings,
  });
  const files = [
    ...plan.files,
    { path: 'README.md', text: exportReadme(opts.engine, version, objective, recipe, plan, report) },
    { path: 'dataset_card.md', text: card },
    { path: 'preflight_report.json', text: `${JSON.stringify(report, null, 2)}\n` },
  ];
  return { report, out, written: { plan, files } };
}

/**
 * The whole hand-off: `prepareExport`, then write the files and copy the media into a hidden sibling of `out` that
 * replaces it when complete, so an error or Ctrl-C mid-copy leaves `out` as it was (absent or empty).
 */
export async function runExport(opts: ExportOptions): Promise<ExportResult> {
  const { report, out, written } = await prepareExport(opts);
  if (!written) return { report, written: [], out };
  const { plan, files } = written;
  const total = files.length + plan.media.length;
  let done = 0;
  await atomicOutputDir(out, async (tmp) => {
    for (const f of files) {
      const abs = path.join(tmp, f.path);
      await mkdir(path.dirname(abs), { recursive: true });
      await writeFile(abs, f.text, f.path.endsWith('.sh') ? { mode: 0o755 } : undefined);
      opts.onWrite?.(++done, total);
    }
    for (const m of plan.media) {
      const abs = path.join(tmp, m.to);
      await mkdir(path.dirname(abs), { recursive: true });
      await copyFile(m.from, abs);
      opts.onWrite?.(++done, total);
    }
  });
  return { report, written: [...files.map((f) => f.path), ...plan.media.map((m) => m.to)].sort(), out };
}
