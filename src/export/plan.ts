import YAML from 'yaml';
import type { ContentPart, Message } from '../schema/index.ts';
import type { EngineName, EngineVersion } from './engines.ts';
import type { ExportObjectiveName, Supported } from './objective-map.ts';
import type { ReadyMedia, ReadyUnit } from './preflight.ts';

/**
 * What an engine writer returns: the files to write into OUT (text), the media to copy, and the launch facts the
 * README needs. Writers are pure (no I/O), so goldens compare their output byte for byte.
 */
export interface ExportPlan {
  files: { path: string; text: string }[];
  /** Media copies: absolute source → path relative to OUT. */
  media: { from: string; to: string }[];
  rows: number;
  /** The config/launch files a user edits, with one line on what each holds. */
  entrypoints: { path: string; what: string }[];
  /** Shell lines for the README (run from OUT). */
  launch: { single: string; multi: string };
  /** Option → value pairs that select the objective (quoted in the README). */
  objectiveOptions: string[];
}

export interface WriterContext<E extends EngineName> {
  engine: E;
  objective: ExportObjectiveName;
  recipe: Supported<E>;
  /** The engine release line the files are written for (--engine-version). */
  version: EngineVersion<E>;
  model: string;
  /** Dataset name (LLaMA-Factory registry key, file stems). */
  name: string;
  /** Sequence limit written into the config (checked by pre-flight when a tokenizer was given). */
  maxLength: number;
  /** β from --beta; undefined = the recipe's / engine's default (0.1, SimPO's own scale for simpo). */
  beta?: number;
  /** LLaMA-Factory chat template name. */
  template?: string;
  units: readonly ReadyUnit[];
}

/** Training defaults every engine gets; all are editable in the written config. */
export const TRAIN_DEFAULTS = {
  perDeviceBatchSize: 1,
  gradientAccumulation: 8,
  learningRate: 5e-7,
  epochs: 1,
  warmupRatio: 0.1,
  loggingSteps: 10,
  saveSteps: 500,
  gpusPerNode: 8,
} as const;

/** Where a media file lands, relative to the export's data folder: content-addressed, so duplicates are stored once. */
export function mediaName(m: ReadyMedia): string {
  return `${m.kind}s/${m.sha256}.${m.ext}`;
}

/** The placeholder string LLaMA-Factory and ms-swift count in text. */
export function placeholder(p: ContentPart): string {
  return p.type === 'text' ? p.text : `<${p.type}>`;
}

export function partsOf(m: Message): ContentPart[] {
  return typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
}

/** A message's text with media written as inline placeholders. */
export function inlineText(m: Message): string {
  return partsOf(m).map(placeholder).join('');
}

/** Media of one kind in placeholder order. */
export function mediaOfKind(u: ReadyUnit, kind: ReadyMedia['kind'], prefix = ''): string[] {
  return u.media.filter((m) => m.kind === kind).map((m) => `${prefix}${mediaName(m)}`);
}

/** Every media copy a set of units needs (deduplicated by target). */
export function mediaCopies(units: readonly ReadyUnit[], dataDir: string): ExportPlan['media'] {
  const seen = new Map<string, string>();
  for (const u of units)
    for (const m of [...u.media, ...(u.rejectedMedia ?? [])]) seen.set(`${dataDir}/${mediaName(m)}`, m.abs);
  return [...seen].map(([to, from]) => ({ from, to })).sort((a, b) => a.to.localeCompare(b.to));
}

export function jsonl(rows: readonly unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

/**
 * A number as PyYAML (YAML 1.1) reads it back as a number: floats need a dot and a signed exponent, so 5e-7 must be
 * written 5.0e-07 (PyYAML reads a bare `5e-7` as the string "5e-7" and TrainingArguments then fails).
 */
export function pyYamlNumber(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`not a finite number: ${x}`);
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return String(x);
  const a = Math.abs(x);
  if (a >= 1e-4 && a < 1e16) return String(x);
  const [m, e] = x.toExponential().split('e');
  const mant = m.includes('.') ? m : `${m}.0`;
  const exp = Number(e);
  return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

export type Scalar = string | number | boolean | null | readonly (string | number)[];

/** One YAML value: numbers PyYAML-safe, strings quoted only when YAML needs it, lists in flow style. */
export function yamlScalar(v: Scalar): string {
  if (typeof v === 'number') return pyYamlNumber(v);
  if (Array.isArray(v)) return `[${v.map((x) => yamlScalar(x)).join(', ')}]`;
  return YAML.stringify(v).trim();
}

/** A commented YAML file from titled sections (key order kept); values go through the yaml library for quoting. */
export function yamlSections(header: string[], sections: [string, Record<string, Scalar | undefined>][]): string {
  const out = header.map((h) => `# ${h}`);
  for (const [title, entries] of sections) {
    out.push('', `### ${title}`);
    for (const [k, v] of Object.entries(entries)) if (v !== undefined) out.push(`${k}: ${yamlScalar(v)}`);
  }
  return `${out.join('\n')}\n`;
}

/** `--flag value` lines for a shell command, one per line with continuation backslashes. */
export function shellFlags(
  flags: [string, string | number | boolean | readonly (string | number)[] | undefined][],
): string[] {
  const lines: string[] = [];
  for (const [k, v] of flags) {
    if (v === undefined || v === false) continue;
    if (v === true) lines.push(`--${k}`);
    else if (Array.isArray(v)) lines.push(`--${k} ${v.map((x) => shellQuote(String(x))).join(' ')}`);
    else lines.push(`--${k} ${shellQuote(String(v))}`);
  }
  return lines;
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `NAME="${NAME:-value}"`: a shell variable with an editable default the environment can override. */
export function envDefault(name: string, value: string | number, comment?: string): string {
  return `${name}="\${${name}:-${value}}"${comment ? `  # ${comment}` : ''}`;
}

/** Comment lines naming the engine release a file targets and how to install it. */
export function versionLine(engineTitle: string, version: { id: string; release: string; install: string }): string[] {
  return [`# Targets ${engineTitle} ${version.release}, --engine-version ${version.id}; install: ${version.install}`];
}

/** Shell preamble shared by launch scripts: cluster settings as editable, environment-overridable defaults. */
export function launchPreamble(title: string, extra: string[] = [], target: string[] = []): string[] {
  return [
    '#!/usr/bin/env bash',
    `# ${title}`,
    ...target,
    '# Cluster settings: edit the defaults here or set them in the environment (multi-node: run this script on',
    '# every node with the same MASTER_ADDR/MASTER_PORT and NODE_RANK = 0..NNODES-1).',
    'set -euo pipefail',
    'cd "$(dirname "$0")"',
    envDefault('NNODES', 1),
    envDefault('NODE_RANK', 0),
    envDefault('GPUS_PER_NODE', TRAIN_DEFAULTS.gpusPerNode),
    envDefault('MASTER_ADDR', '127.0.0.1'),
    envDefault('MASTER_PORT', 29500),
    ...extra,
    '',
  ];
}
