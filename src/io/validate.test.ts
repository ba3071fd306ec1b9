import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { fixturePreferences } from './fixtures.ts';
import { FORMATS } from './formats/index.ts';
import { MediaStore } from './media.ts';
import { validateFile } from './validate.ts';

let dir: string;
let cleanup: () => void;
let good: string;
beforeAll(async () => {
  ({ dir, cleanup } = tempDir('mmalign-validate-'));
  good = path.join(dir, 'p.jsonl');
  await FORMATS.mmalign.write(Object.values(await fixturePreferences(new MediaStore(dir))), good, { mediaRoot: dir });
});
afterAll(() => cleanup());

describe('validateFile', () => {
  it('counts valid records by family', async () => {
    expect(await validateFile(good)).toEqual({
      file: good,
      records: 8,
      valid: 8,
      invalid: 0,
      byType: { preference: 8 },
      issues: [],
      issueCount: 0,
    });
  });

  it('collects every issue but keeps only maxIssues of them', async () => {
    const rec = JSON.parse(readFileSync(good, 'utf8').split('\n')[0]);
    const f = path.join(dir, 'many.jsonl');
    const bad = Array.from({ length: 30 }, (_, i) => JSON.stringify({ ...rec, id: `b${i}`, chosen: { text: i } }));
    writeFileSync(f, `${[JSON.stringify(rec), ...bad, 'not json'].join('\n')}\n`);
    const res = await validateFile(f, { maxIssues: 5 });
    expect(res).toMatchObject({ records: 32, valid: 1, invalid: 31, issueCount: 31 });
    expect(res.issues).toHaveLength(5);
    expect(res.issues[0]).toMatchObject({ file: f, line: 2, path: 'chosen.text' });
  });

  it('reports a missing shared image once per record that uses it, and skips media checks on request', async () => {
    const rec = JSON.parse(readFileSync(good, 'utf8').split('\n')[0]);
    const f = path.join(dir, 'gone.jsonl');
    const gone = { ...rec, media: [{ kind: 'image', path: 'media/00/x.png' }] };
    writeFileSync(f, `${JSON.stringify({ ...gone, id: 'g1' })}\n${JSON.stringify({ ...gone, id: 'g2' })}\n`);
    const res = await validateFile(f);
    expect(res.issues.map((i) => [i.line, i.path, i.message.split(':')[0]])).toEqual([
      [1, 'media.0.path', 'record g1'],
      [2, 'media.0.path', 'record g2'],
    ]);
    expect((await validateFile(f, { media: false })).valid).toBe(2);
  });

  it('validates parquet files of records', async () => {
    const pq = path.join(dir, 'p.parquet');
    const { records } = await FORMATS.mmalign.readAll(good);
    await FORMATS.mmalign.write(records, pq, { mediaRoot: dir });
    expect(await validateFile(pq)).toMatchObject({ records: 8, valid: 8, issueCount: 0 });
  });
});

describe('validateFile with --format', () => {
  it('checks foreign rows as the adapter reads them: placeholder counts and media files', async () => {
    const img = JSON.parse(readFileSync(good, 'utf8').split('\n')[0]).media[0].path;
    const row = (images: string[], q = '<image>Q') =>
      JSON.stringify({
        messages: [
          { role: 'user', content: q },
          { role: 'assistant', content: 'a' },
        ],
        rejected_response: 'b',
        images,
      });
    const f = path.join(dir, 'swift.jsonl');
    writeFileSync(f, `${[row([img]), row([img], 'Q'), row(['nope.png'])].join('\n')}\n`);
    const res = await validateFile(f, { format: 'swift' });
    expect(res).toMatchObject({ records: 3, valid: 1, invalid: 2, byType: { preference: 1 } });
    expect(res.issues).toMatchObject([
      { line: 2, path: 'images', code: 'media_count' },
      { line: 3, path: 'images.0', code: 'media_missing' },
    ]);
  });
});
