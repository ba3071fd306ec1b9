import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { FORMATS } from '../io/formats/index.ts';
import { sha256Hex } from '../io/media.ts';
import type { Preference, Sample } from '../schema/index.ts';
import { parseConstructConfig } from './config.ts';
import { runPipeline } from './pipeline.ts';
import { STAGES } from './stages/index.ts';
import { globRegExp } from './stages/source.ts';
import { TINY_PNG, writeSampleSet } from './testing.ts';

/** The source stage's file kinds beyond ShapeWorld/JSONL: Parquet Samples, imported formats, a folder of images. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dir(): string {
  const t = tempDir('mmalign-source-');
  cleanups.push(t.cleanup);
  return t.dir;
}

async function runSource(root: string, source: Record<string, unknown>, run = 'run'): Promise<Sample[]> {
  const cfg = parseConstructConfig({ stages: [{ stage: 'source', ...source }] }, STAGES, { dir: root });
  const s = await runPipeline(cfg, { runDir: path.join(root, run) });
  return readFileSync(s.stages[0].output, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Sample);
}

/** every media ref points into the run's store, and the file there has the ref's sha256 */
function expectInRun(root: string, samples: Sample[]): void {
  for (const s of samples)
    for (const m of s.media) {
      expect(m.path).toMatch(/^media\/[0-9a-f]{2}\/[0-9a-f]{64}\.png$/);
      expect(sha256Hex(readFileSync(path.join(root, 'run', m.path ?? '')))).toBe(m.sha256);
    }
}

const PNG_SHA = sha256Hex(TINY_PNG);

describe('source: parquet files of mmalign Samples', () => {
  it('reads the samples and copies their media into the run', async () => {
    const root = dir();
    const jsonl = writeSampleSet(path.join(root, 'data'), 3);
    const { records } = await FORMATS.mmalign.readAll(jsonl);
    const pq = path.join(root, 'pq/samples.parquet');
    mkdirSync(path.dirname(pq), { recursive: true });
    await FORMATS.mmalign.write(records, pq, { mediaRoot: path.join(root, 'data') });
    const out = await runSource(root, { files: ['pq/samples.parquet'], limit: 2 });
    expect(out.map((s) => s.id)).toEqual(['q00000', 'q00001']);
    expect(out[1].messages[0].content).toEqual([
      { type: 'image', media: 0 },
      { type: 'text', text: 'question 1' },
    ]);
    expect(out[0].media[0].sha256).toBe(PNG_SHA);
    expectInRun(root, out);
  });

  it('a file that is not parquet fails naming the file; other extensions need `format`', async () => {
    const root = dir();
    writeFileSync(path.join(root, 'bad.parquet'), 'not parquet at all');
    await expect(runSource(root, { files: ['bad.parquet'] })).rejects.toThrow(
      /bad\.parquet: \(file\): not a readable parquet/,
    );
    writeFileSync(path.join(root, 'x.csv'), 'a,b\n');
    expect(() =>
      parseConstructConfig({ stages: [{ stage: 'source', files: ['x.csv'] }] }, STAGES, { dir: root }),
    ).toThrow(/x\.csv: expected \.jsonl or \.parquet/);
  });
});

function pair(id: string, sampleId: string, q: string): Preference {
  return {
    kind: 'pair',
    id,
    sampleId,
    prompt: [
      {
        role: 'user',
        content: [
          { type: 'image', media: 0 },
          { type: 'text', text: q },
        ],
      },
    ],
    media: [{ kind: 'image', path: 'img/p.png' }],
    chosen: { text: 'good' },
    rejected: { text: 'bad' },
    provenance: { source: 't', createdAt: '2026-01-01T00:00:00.000Z', annotator: { kind: 'human', id: 'a' } },
  };
}

describe('source: files of an imported format', () => {
  it('mmalign Preferences become one Sample per sampleId with prompt + media', async () => {
    const root = dir();
    mkdirSync(path.join(root, 'data/img'), { recursive: true });
    writeFileSync(path.join(root, 'data/img/p.png'), TINY_PNG);
    const prefs = [pair('p1', 's1', 'what?'), pair('p2', 's1', 'what?'), pair('p3', 's2', 'where?')];
    writeFileSync(path.join(root, 'data/prefs.jsonl'), `${prefs.map((p) => JSON.stringify(p)).join('\n')}\n`);
    const out = await runSource(root, { files: ['data/prefs.jsonl'], format: 'mmalign' });
    expect(out.map((s) => s.id)).toEqual(['s1', 's2']);
    expect(out[1].messages).toEqual(prefs[2].prompt);
    expect(out[0].provenance.annotator).toBeUndefined();
    expect(out[0].provenance.extra?.fromPreference).toBe('p1');
    expectInRun(root, out);
    expect(out[0].media[0].sha256).toBe(PNG_SHA);
  });

  it('a TRL file imports through its adapter; a malformed row fails naming file and line', async () => {
    const root = dir();
    mkdirSync(path.join(root, 'src/img'), { recursive: true });
    writeFileSync(path.join(root, 'src/img/p.png'), TINY_PNG);
    const trl = path.join(root, 'trl/train.jsonl');
    mkdirSync(path.dirname(trl), { recursive: true });
    const w = await FORMATS.trl.write([pair('p1', 's1', 'what?'), pair('p2', 's2', 'where?')], trl, {
      mediaRoot: path.join(root, 'src'),
    });
    expect(w.written).toBe(2);
    const out = await runSource(root, { files: ['trl/train.jsonl'], format: 'trl' });
    expect(out).toHaveLength(2);
    expect(out.map((s) => JSON.stringify(s.messages))).toEqual([
      JSON.stringify(pair('', '', 'what?').prompt),
      JSON.stringify(pair('', '', 'where?').prompt),
    ]);
    expectInRun(root, out);

    writeFileSync(path.join(root, 'trl/bad.jsonl'), `${readFileSync(trl, 'utf8')}{"prompt":"x"}\n`);
    await expect(runSource(root, { files: ['trl/bad.jsonl'], format: 'trl' }, 'run2')).rejects.toThrow(
      /bad\.jsonl:3: /,
    );
    expect(() =>
      parseConstructConfig({ stages: [{ stage: 'source', files: ['trl/train.jsonl'], format: 'nope' }] }, STAGES, {
        dir: root,
      }),
    ).toThrow(/format/);
  });
});

describe('source: a folder of images', () => {
  it('one Sample per png/jpeg/webp, prompt template with {file}, ids from the sha256', async () => {
    const root = dir();
    const imgs = path.join(root, 'imgs');
    mkdirSync(path.join(imgs, 'sub'), { recursive: true });
    const solid = (r: number) => sharp({ create: { width: 3, height: 2, channels: 3, background: { r, g: 0, b: 0 } } });
    const jpg = await solid(200).jpeg().toBuffer();
    const webp = await solid(100).webp().toBuffer();
    writeFileSync(path.join(imgs, 'a.png'), TINY_PNG);
    writeFileSync(path.join(imgs, 'b.jpg'), jpg);
    writeFileSync(path.join(imgs, 'c.webp'), webp);
    writeFileSync(path.join(imgs, 'notes.txt'), 'ignored by the default glob');
    writeFileSync(path.join(imgs, 'sub/d.png'), TINY_PNG);
    const out = await runSource(root, { images: { dir: 'imgs', prompt: 'Describe {file} in detail.' } });
    expect(out.map((s) => s.id)).toEqual([TINY_PNG, jpg, webp].map((b) => `img-${sha256Hex(b).slice(0, 16)}`));
    expect(out[1].messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image', media: 0 },
          { type: 'text', text: 'Describe b.jpg in detail.' },
        ],
      },
    ]);
    expect(out[1].media[0]).toMatchObject({ kind: 'image', width: 3, height: 2, sha256: sha256Hex(jpg) });
    expect(out[1].media[0].path).toMatch(/\.jpg$/);
    expect(out[2].media[0].path).toMatch(/\.webp$/);
    for (const s of out)
      expect(sha256Hex(readFileSync(path.join(root, 'run', s.media[0].path ?? '')))).toBe(s.media[0].sha256);

    // a glob reaching into sub-folders: the same picture twice is one sample
    const again = await runSource(dir(), { images: { dir: imgs, prompt: 'q', glob: '**/*.png' } });
    expect(again.map((s) => s.id)).toEqual([out[0].id]);
  });

  it('a corrupt image or an empty match fails naming the file / folder', async () => {
    const root = dir();
    mkdirSync(path.join(root, 'imgs'));
    writeFileSync(path.join(root, 'imgs/a.png'), TINY_PNG);
    writeFileSync(path.join(root, 'imgs/broken.png'), TINY_PNG.subarray(0, 12));
    await expect(runSource(root, { images: { dir: 'imgs', prompt: 'q' } })).rejects.toThrow(
      /imgs\/broken\.png is not a png, jpeg or webp/,
    );
    await expect(runSource(root, { images: { dir: 'imgs', prompt: 'q', glob: '*.gif' } }, 'run2')).rejects.toThrow(
      /no file in .*imgs matches/,
    );
    expect(() =>
      parseConstructConfig({ stages: [{ stage: 'source', images: { dir: 'nope', prompt: 'q' } }] }, STAGES, {
        dir: root,
      }),
    ).toThrow(/nope is not a folder/);
    expect(() =>
      parseConstructConfig({ stages: [{ stage: 'source', images: { dir: 'imgs', prompt: 'q', extra: 1 } }] }, STAGES, {
        dir: root,
      }),
    ).toThrow(/extra/);
  });

  it('globRegExp', () => {
    expect(globRegExp('*.{png,jpg}').test('a.png')).toBe(true);
    expect(globRegExp('*.{png,jpg}').test('s/a.png')).toBe(false);
    expect(globRegExp('**/*.png').test('a.png')).toBe(true);
    expect(globRegExp('**/*.png').test('x/y/a.png')).toBe(true);
    expect(globRegExp('a?.png').test('ab.png')).toBe(true);
    expect(globRegExp('a?.png').test('a.png')).toBe(false);
  });
});
