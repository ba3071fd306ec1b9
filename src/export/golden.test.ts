import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../io/media.ts';
import { ENGINE_NAMES, type EngineName, resolveEngineVersion, versionIds } from './engines.ts';
import { type ExportResult, runExport } from './export.ts';
import { UnsupportedObjectiveError } from './objective-map.ts';

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

/**
 * The previous release lines keep a golden of the file that differs between lines (the launch script): same input,
 * same objective as the default line's golden, only the flags change.
 */
describe.each([
  ['swift', '3'],
  ['openrlhf', '0.9'],
] as const)('golden export: %s --engine-version %s', (engine, version) => {
  it('writes exactly the hand-written launch script', async () => {
    const r = await runExport({
      engine,
      engineVersion: version,
      objective: EXPECTED[engine].objective,
      model: MODEL,
      data: INPUT,
      out: path.join(tmp, `${engine}-${version}`),
    });
    const dir = path.join(GOLDEN, `${engine}-${version}`);
    for (const rel of filesUnder(dir))
      expect(readFileSync(path.join(r.out, rel), 'utf8'), rel).toBe(readFileSync(path.join(dir, rel), 'utf8'));
    expect(r.report.engineVersion).toBe(version);
    const readme = readFileSync(path.join(r.out, 'README.md'), 'utf8');
    expect(readme).toContain(`--engine-version ${version}`);
    expect(readme).toContain(resolveEngineVersion(engine, version).install);
  });
});

/**
 * KTO, ranking and image-pair rows on every engine line (written by hand from the input: 3-way ranking p-rank, image
 * pair p-imgpair, KTO row p-binary): kept (as which rows) or dropped with the reason, or the objective refused.
 */
const ROWS: Record<
  string,
  { kto: string[] | { refused: string }; rankingPairs: 'kept' | string; imagePair: 'kept' | string }
> = {
  'trl 1.9': {
    kto: ['p-rank#0', 'p-rank#1', 'p-rank#2', 'p-binary'],
    rankingPairs: 'kept',
    imagePair: 'image_pair_unsupported',
  },
  'llamafactory 0.9.5': {
    kto: ['p-rank#0', 'p-rank#1', 'p-rank#2', 'p-binary'],
    rankingPairs: 'kept',
    imagePair: 'image_pair_unsupported',
  },
  'swift 4': { kto: ['p-rank#0', 'p-rank#1', 'p-rank#2', 'p-binary'], rankingPairs: 'kept', imagePair: 'kept' },
  'swift 3': { kto: ['p-rank#0', 'p-rank#1', 'p-rank#2', 'p-binary'], rankingPairs: 'kept', imagePair: 'kept' },
  'openrlhf 0.11': {
    kto: { refused: 'dpo' },
    rankingPairs: 'media_kind_unsupported',
    imagePair: 'media_kind_unsupported',
  },
  'openrlhf 0.9': { kto: [], rankingPairs: 'media_kind_unsupported', imagePair: 'media_kind_unsupported' },
};

describe('KTO, ranking and image-pair rows per engine line', () => {
  const lines = ENGINE_NAMES.flatMap((e) => versionIds(e).map((v) => [e, v] as const));
  it('the table covers every engine line', () => {
    expect(Object.keys(ROWS).sort()).toEqual(lines.map(([e, v]) => `${e} ${v}`).sort());
  });
  it.each(lines)('%s %s', async (engine, version) => {
    const want = ROWS[`${engine} ${version}`];
    const dry = (objective: string) =>
      runExport({ engine, engineVersion: version, objective, model: MODEL, data: INPUT, out: tmp, dryRun: true });
    if ('refused' in want.kto) {
      await expect(dry('kto')).rejects.toThrow(UnsupportedObjectiveError);
      await expect(dry('kto')).rejects.toThrow(`closest objective ${engine} supports is "${want.kto.refused}"`);
    } else {
      const { report } = await dry('kto');
      const dropped = new Map(report.dropped.map((d) => [d.id, d.reason]));
      // Image pairs never become KTO rows (one answer under two images is not a good/bad label).
      expect(dropped.get('p-imgpair')).toBe('image_pair_needs_image_objective');
      for (const id of ['p-rank#0', 'p-rank#1', 'p-rank#2', 'p-binary'])
        expect(dropped.has(id), id).toBe(!want.kto.includes(id));
      expect(report.rankings).toEqual({ records: 1, pairs: 0 });
    }
    const { report } = await dry('dpo');
    const dropped = new Map(report.dropped.map((d) => [d.id, d.reason]));
    expect(report.rankings).toEqual({ records: 1, pairs: 2 });
    for (const id of ['p-rank#1>0', 'p-rank#1>2']) expect(dropped.get(id) ?? 'kept', id).toBe(want.rankingPairs);
    expect(dropped.get('p-imgpair') ?? 'kept').toBe(want.imagePair);
  });
});
