import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { sha256Hex } from '../io/media.ts';
import { ENGINE_NAMES, ENGINE_VALUES, ENGINES, type EngineName, LF_DATASET_INFO, unknownKeys } from './engines.ts';
import { type ExportResult, planFor, runExport } from './export.ts';
import { EXPORT_OBJECTIVE_NAMES, OBJECTIVE_ENGINES, type Supported } from './objective-map.ts';
import type { ExportPlan } from './plan.ts';

/**
 * Goldens: the mixed set in golden/input (a text pair, an image pair with margin, a multi-image multi-turn pair whose
 * media are out of order, a same-answer image pair, a 3-way ranking, a pair with a literal <image>, a KTO row, a
 * rubric, an RLHF-V segment correction and an identical pair) exported per engine and compared with the hand-written
 * files in golden/<engine>/ (JSON compared as values, everything else byte for byte).
 */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const GOLDEN = path.join(HERE, 'golden');
const INPUT = path.join(GOLDEN, 'input', 'prefs.jsonl');
const MODEL = 'Qwen/Qwen2-VL-2B-Instruct';
const EXPECTED = JSON.parse(readFileSync(path.join(GOLDEN, 'expected_reports.json'), 'utf8')) as Record<
  EngineName,
  { objective: string; kept: string[]; dropped: Record<string, string>; fixed: Record<string, string[]> }
>;
const tmp = mkdtempSync(path.join(tmpdir(), 'mmalign-golden-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function filesUnder(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p, base) : [path.relative(base, p)];
  });
}

const results = new Map<EngineName, ExportResult>();
async function exported(engine: EngineName): Promise<ExportResult> {
  let r = results.get(engine);
  if (!r) {
    r = await runExport({
      engine,
      objective: EXPECTED[engine].objective,
      model: MODEL,
      data: INPUT,
      out: path.join(tmp, engine),
    });
    results.set(engine, r);
  }
  return r;
}

describe.each(ENGINE_NAMES)('golden export: %s', (engine) => {
  it('writes exactly the hand-written expected files', async () => {
    const r = await exported(engine);
    for (const rel of filesUnder(path.join(GOLDEN, engine))) {
      const want = readFileSync(path.join(GOLDEN, engine, rel), 'utf8');
      const got = readFileSync(path.join(r.out, rel), 'utf8');
      if (rel.endsWith('.jsonl'))
        expect(
          got
            .trimEnd()
            .split('\n')
            .map((l) => JSON.parse(l)),
          rel,
        ).toEqual(
          want
            .trimEnd()
            .split('\n')
            .map((l) => JSON.parse(l)),
        );
      else if (rel.endsWith('.json')) expect(JSON.parse(got), rel).toEqual(JSON.parse(want));
      else expect(got, rel).toBe(want);
    }
  });

  it('keeps, fixes and drops the expected rows (ranking and image-pair rows represented or reported)', async () => {
    const { report } = await exported(engine);
    const exp = EXPECTED[engine];
    const ids = report.dropped.map((d) => d.id);
    expect(report.kept).toBe(exp.kept.length);
    expect(Object.fromEntries(report.dropped.map((d) => [d.id, d.reason]))).toEqual(exp.dropped);
    expect(Object.fromEntries(report.fixed.map((f) => [f.id, f.fixes]))).toEqual(exp.fixed);
    // Every input record is accounted for: kept (possibly as several rows) or dropped with a reason.
    const sources = new Set([...exp.kept.map((k) => k.split('#')[0]), ...ids.map((k) => k.split('#')[0])]);
    expect(sources.size).toBe(report.records);
    const rows = readFileSync(path.join((await exported(engine)).out, 'preflight_report.json'), 'utf8');
    expect(JSON.parse(rows).kept).toBe(exp.kept.length);
  });

  it('copies each image once, content-addressed, and every row path resolves to it', async () => {
    const r = await exported(engine);
    const media = r.written.filter((f) => f.startsWith('data/images/'));
    for (const m of media) {
      const bytes = readFileSync(path.join(r.out, m));
      expect(path.basename(m)).toBe(`${sha256Hex(bytes)}.png`);
    }
    const text = readFileSync(
      path.join(r.out, r.written.find((f) => /^data\/[^/]+\.jsonl?$/.test(f) && !f.includes('dataset_info')) as string),
      'utf8',
    );
    const referenced = new Set([...text.matchAll(/images\/[0-9a-f]{64}\.png/g)].map((x) => `data/${x[0]}`));
    expect([...referenced].sort()).toEqual(media);
  });

  it('every row has as many image placeholders as images (the rule each engine documents)', async () => {
    const r = await exported(engine);
    const dataFile = r.written.find((f) => /^data\/[^/]+\.jsonl?$/.test(f) && !f.includes('dataset_info')) as string;
    const text = readFileSync(path.join(r.out, dataFile), 'utf8');
    const data: Record<string, unknown>[] = dataFile.endsWith('.json')
      ? JSON.parse(text)
      : text
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l));
    for (const row of data) {
      const images = (row.images as string[] | undefined) ?? [];
      let placeholders: number;
      if (engine === 'trl') placeholders = (JSON.stringify(row.prompt).match(/\{"type":"image"\}/g) ?? []).length;
      else {
        const turns = (row.conversations ?? row.messages ?? row.prompt) as { value?: string; content?: string }[];
        placeholders =
          turns
            .map((t) => t.value ?? t.content ?? '')
            .join('')
            .split('<image>').length - 1;
      }
      expect(placeholders, String(row.id)).toBe(images.length);
      if (row.rejected_images) expect((row.rejected_images as string[]).length).toBe(images.length);
    }
  });

  it('writes a README and a dataset card', async () => {
    const r = await exported(engine);
    const readme = readFileSync(path.join(r.out, 'README.md'), 'utf8');
    expect(readme).toContain('bash launch.sh');
    expect(readme).toContain(`kept ${EXPECTED[engine].kept.length} of`);
    const card = readFileSync(path.join(r.out, 'dataset_card.md'), 'utf8');
    expect(card).toContain('| input preference records | 10 |');
    expect(card).toContain('| agreement | 3 | 0.7500 | 0.5000 | 1.0000 |');
  });

  it('writes a launch script bash can parse', async () => {
    const r = await exported(engine);
    const res = spawnSync('bash', ['-n', path.join(r.out, 'launch.sh')], { encoding: 'utf8' });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    expect(statSync(path.join(r.out, 'launch.sh')).mode & 0o100).toBeTruthy();
  });
});

const hasPython = spawnSync('python3', ['--version']).status === 0;
it.skipIf(!hasPython)('the TRL training script is valid Python', async () => {
  const r = await exported('trl');
  execFileSync('python3', [
    '-c',
    'import ast,sys; ast.parse(open(sys.argv[1]).read())',
    path.join(r.out, 'train_trl.py'),
  ]);
});

/** Flags of a `--flag value` shell command in a launch script. */
function shellFlagNames(script: string): string[] {
  return [...script.matchAll(/^\s+--([a-z_0-9]+)/gm)]
    .map((m) => m[1])
    .filter((f) => f !== 'module' && f !== 'config_file');
}

function checkPlan(engine: EngineName, recipe: Supported<EngineName>, plan: ExportPlan): void {
  const file = (p: string) => plan.files.find((f) => f.path === p)?.text as string;
  if (engine === 'trl') {
    const r = recipe as Supported<'trl'>;
    const cfg = YAML.parse(file('trl_config.yaml'));
    expect(Object.keys(cfg).sort()).toEqual(['args', 'model_name_or_path', 'trainer']);
    expect(unknownKeys(Object.keys(cfg.args), ENGINES.trl.keys[r.trainer])).toEqual([]);
    if (r.trainer === 'dpo') expect(unknownKeys(cfg.args.loss_type, ENGINE_VALUES.trlLossTypes)).toEqual([]);
    expect(typeof cfg.args.learning_rate).toBe('number');
  } else if (engine === 'llamafactory') {
    const cfg = YAML.parse(file('llamafactory_train.yaml'));
    expect(unknownKeys(Object.keys(cfg), ENGINES.llamafactory.keys.yaml)).toEqual([]);
    expect(ENGINE_VALUES.lfStages).toContain(cfg.stage);
    if (cfg.pref_loss !== undefined) expect(ENGINE_VALUES.lfPrefLoss).toContain(cfg.pref_loss);
    const info = JSON.parse(file('data/dataset_info.json'));
    for (const entry of Object.values(info) as Record<string, Record<string, string>>[]) {
      expect(unknownKeys(Object.keys(entry), LF_DATASET_INFO.entry)).toEqual([]);
      expect(unknownKeys(Object.keys(entry.columns), LF_DATASET_INFO.columns)).toEqual([]);
      expect(unknownKeys(Object.keys(entry.tags), LF_DATASET_INFO.tags)).toEqual([]);
    }
  } else if (engine === 'swift') {
    const r = recipe as Supported<'swift'>;
    expect(unknownKeys(shellFlagNames(file('launch.sh')), ENGINES.swift.keys.rlhf)).toEqual([]);
    expect(ENGINE_VALUES.swiftRlhfTypes).toContain(r.rlhf_type);
    expect(unknownKeys(r.flags.loss_type ?? [], ENGINE_VALUES.trlLossTypes)).toEqual([]);
  } else {
    const r = recipe as Supported<'openrlhf'>;
    expect(unknownKeys(shellFlagNames(file('launch.sh')), ENGINES.openrlhf.keys[r.module])).toEqual([]);
    expect(file('launch.sh')).toContain(`--module openrlhf.cli.${r.module} \\`);
  }
}

describe('every supported objective × engine config', () => {
  it('parses and names only documented options', async () => {
    const r = await exported('swift');
    let checked = 0;
    for (const objective of EXPORT_OBJECTIVE_NAMES)
      for (const engine of ENGINE_NAMES) {
        const recipe = OBJECTIVE_ENGINES[objective][engine];
        if (!recipe.supported) continue;
        const plan = await planFor(
          engine,
          { objective, model: MODEL, name: 'mmalign', maxLength: 2048, beta: 0.1, template: 'qwen2_vl', units: [] },
          recipe as Supported<EngineName>,
        );
        checkPlan(engine, recipe as Supported<EngineName>, plan);
        checked++;
      }
    expect(checked).toBe(41); // the supported cells of docs/engines.md
    expect(r.report.kept).toBeGreaterThan(0);
  });
});
