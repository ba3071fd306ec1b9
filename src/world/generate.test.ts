import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { buildSamples, generateWorld } from './generate.ts';
import { TASK_NAMES } from './tasks.ts';

const tmp = tempDir('mmalign-world-');
afterAll(() => tmp.cleanup());

function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

describe('generateWorld', () => {
  const a = path.join(tmp.dir, 'a');
  const b = path.join(tmp.dir, 'b');
  const m = generateWorld({}, { seed: 4, n: 25, outDir: a, splits: ['train', 'test'] });
  generateWorld({}, { seed: 4, n: 25, outDir: b, splits: ['train', 'test'] });

  it('writes n samples per task and split, and a manifest that hashes the outputs', () => {
    const lines = readFileSync(path.join(a, 'samples.jsonl'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(25 * TASK_NAMES.length * 2);
    const recs = lines.map(
      (l) => JSON.parse(l) as { task: string; split: string; media: { path: string; sha256: string }[] },
    );
    for (const split of ['train', 'test'])
      for (const task of TASK_NAMES) {
        expect(recs.filter((r) => r.split === split && r.task === task)).toHaveLength(25);
        expect(m.counts[split][task]).toBe(25);
      }
    expect(m.files['samples.jsonl'].sha256).toBe(
      createHash('sha256')
        .update(readFileSync(path.join(a, 'samples.jsonl')))
        .digest('hex'),
    );
    const images = new Set(recs.map((r) => r.media[0].path));
    expect(m.files.media.images).toBe(images.size);
    for (const r of recs.slice(0, 50)) {
      const bytes = readFileSync(path.join(a, r.media[0].path));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(r.media[0].sha256);
      expect(r.media[0].path).toBe(`media/${r.media[0].sha256.slice(0, 2)}/${r.media[0].sha256}.png`);
    }
    expect(JSON.parse(readFileSync(path.join(a, 'world.json'), 'utf8')).seed).toBe(4);
  });

  it('is byte-identical for the same seed, and leaves no temp files', () => {
    const ha = hashTree(a);
    expect(ha).toEqual(hashTree(b));
    expect(Object.keys(ha).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('differs for another seed', () => {
    const c = path.join(tmp.dir, 'c');
    generateWorld({}, { seed: 5, n: 5, outDir: c, tasks: ['caption'] });
    const ref = readFileSync(path.join(a, 'samples.jsonl'), 'utf8').split('\n')[0];
    expect(readFileSync(path.join(c, 'samples.jsonl'), 'utf8').split('\n')[0]).not.toBe(ref);
  });

  it('leaves no samples.jsonl or world.json behind when a run fails midway', () => {
    const d = path.join(tmp.dir, 'd');
    expect(() =>
      generateWorld(
        {},
        {
          seed: 1,
          n: 5,
          outDir: d,
          onProgress: (done) => {
            if (done === 7) throw new Error('interrupted');
          },
        },
      ),
    ).toThrow('interrupted');
    expect(existsSync(path.join(d, 'samples.jsonl'))).toBe(false);
    expect(existsSync(path.join(d, 'world.json'))).toBe(false);
    expect(readdirSync(d).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('generateWorld errors', () => {
  it('takes per-task counts over n and leaves the other tasks as they were', () => {
    const d = path.join(tmp.dir, 'counts');
    const plain = path.join(tmp.dir, 'plain');
    generateWorld({}, { seed: 4, n: 25, outDir: plain, tasks: ['caption', 'pope'] });
    const mc = generateWorld({}, { seed: 4, n: 25, counts: { pope: 60 }, outDir: d, tasks: ['caption', 'pope'] });
    expect(mc.counts.train).toEqual({ caption: 25, pope: 60 });
    const read = (dir: string, task: string) =>
      readFileSync(path.join(dir, 'samples.jsonl'), 'utf8')
        .trimEnd()
        .split('\n')
        .filter((l) => JSON.parse(l).task === task && JSON.parse(l).split === 'train');
    expect(read(d, 'caption')).toEqual(read(plain, 'caption'));
    expect(read(d, 'pope')).toHaveLength(60);
    expect(() => generateWorld({}, { seed: 4, n: 5, counts: { popes: 9 }, outDir: d })).toThrow(/unknown task "popes"/);
    expect(() => generateWorld({}, { seed: 4, n: 5, counts: { pope: 0 }, outDir: d })).toThrow(/counts.pope must be/);
  });

  it('names an output path that cannot be a directory', () => {
    const file = path.join(tmp.dir, 'a', 'samples.jsonl');
    expect(() => generateWorld({}, { seed: 1, n: 1, outDir: file, tasks: ['caption'] })).toThrow(
      /cannot create output directory .*samples\.jsonl/,
    );
  });
});

describe('buildSamples', () => {
  it('is a pure function of (config, seed, split, n), and scene i does not depend on n', () => {
    const x = buildSamples({}, { seed: 9, split: 'train', n: 10, tasks: ['caption', 'count'] });
    const y = buildSamples({}, { seed: 9, split: 'train', n: 10, tasks: ['count', 'caption'] });
    const z = buildSamples({}, { seed: 9, split: 'train', n: 20, tasks: ['caption'] });
    expect(JSON.stringify([...x.samples])).toBe(JSON.stringify([...y.samples]));
    expect(z.samples.get('caption')!.slice(0, 10)).toEqual(x.samples.get('caption'));
  });

  it('rejects an unknown task listing the known ones', () => {
    expect(() => buildSamples({}, { seed: 1, split: 'train', n: 1, tasks: ['capton'] })).toThrow(
      /unknown task "capton" \(did you mean "caption"\?\); known: caption, pope, exist, attribute/,
    );
  });
});
