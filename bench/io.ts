/**
 * I/O benchmark: 100k preference records with images (small PNGs in one shared content-addressed store) written and
 * read through JSONL and Parquet, against a naive baseline in the same run (`JSON.stringify` of every row joined into
 * one string + `fs.writeFileSync`; `readFileSync` + `split` + `JSON.parse`). Prints rows/s and the ratio to baseline.
 *
 *   npx tsx bench/io.ts [rows=100000] [distinct images=256]
 *
 * Parquet row groups decode on a worker thread with a time budget (src/io/parquet.ts: a damaged page must not hang the
 * command) while this thread hands out the previous group's rows. Measured on the idle 2-core machine, 100k rows,
 * against in-thread decoding (the commit before): read rows 58k vs 90k rows/s (0.65x), read + schema check 48k vs 66k
 * (0.73x), read with images embedded 59k vs 125k (0.47x: the rows are cloned across threads).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { solidPng } from '../src/io/fixtures.ts';
import { FORMATS, MediaStore, readJsonl, readParquetRows, validateFile, writeJsonl } from '../src/io/index.ts';
import type { ImageRef, Preference } from '../src/schema/index.ts';

const N = Number(process.argv[2] ?? 100_000);
const IMAGES = Number(process.argv[3] ?? 256);
const dir = mkdtempSync(path.join(tmpdir(), 'mmalign-bench-io-'));

async function main() {
  const store = new MediaStore(dir);
  const images: ImageRef[] = [];
  for (let i = 0; i < IMAGES; i++)
    images.push(await store.put(solidPng(32, 32, [i % 256, (i * 7) % 256, (i * 13) % 256])));
  const records: Preference[] = Array.from({ length: N }, (_, i) => ({
    kind: 'pair',
    id: `p${i}`,
    sampleId: `s${i % 20_000}`,
    prompt: [
      {
        role: 'user',
        content: [
          { type: 'image', media: 0 },
          { type: 'text', text: `Describe every object in scene ${i}. How many squares are there?` },
        ],
      },
    ],
    media: [images[i % IMAGES]],
    chosen: {
      text: `There are ${i % 5} red squares and a blue circle near the top left corner.`,
      refLogp: -12.5 - (i % 7),
    },
    rejected: {
      text: `There are ${(i + 1) % 5} red squares, a blue circle and a green cat.`,
      refLogp: -14.25 - (i % 3),
    },
    margin: (i % 10) / 10,
    provenance: {
      source: 'shapeworld',
      responseModels: ['tiny-vlm'],
      annotator: { kind: 'rule', id: 'truth' },
      createdAt: '2026-11-26T00:00:00.000Z',
      run: 'bench',
    },
  }));

  type Result = { name: string; seconds: number; bytes?: number; baseline?: string };
  const results: Result[] = [];
  const time = async (name: string, fn: () => Promise<unknown> | unknown, file?: string, baseline?: string) => {
    const t0 = performance.now();
    await fn();
    const seconds = (performance.now() - t0) / 1000;
    results.push({ name, seconds, bytes: file ? statSync(file).size : undefined, baseline });
    process.stderr.write(`${name}: ${(N / seconds).toFixed(0)} rows/s\n`);
  };
  const f = (n: string) => path.join(dir, n);
  let count = 0;
  const expectCount = (what: string) => {
    if (count !== N) throw new Error(`${what}: read ${count} rows, expected ${N}`);
    count = 0;
  };

  await time(
    'baseline write (stringify+writeFileSync)',
    () => writeFileSync(f('base.jsonl'), `${records.map((r) => JSON.stringify(r)).join('\n')}\n`),
    f('base.jsonl'),
  );
  await time('baseline read (readFileSync+split+parse)', () => {
    const rows = readFileSync(f('base.jsonl'), 'utf8').split('\n');
    for (const l of rows) if (l) JSON.parse(l) && count++;
    expectCount('baseline');
  });
  await time(
    'jsonl write (writeJsonl, temp+rename)',
    () => writeJsonl(f('a.jsonl'), records),
    f('a.jsonl'),
    'baseline write (stringify+writeFileSync)',
  );
  await time(
    'jsonl read (readJsonl stream)',
    async () => {
      for await (const e of readJsonl(f('a.jsonl'))) if (e.ok) count++;
      expectCount('jsonl');
    },
    undefined,
    'baseline read (readFileSync+split+parse)',
  );
  await time(
    'jsonl read + schema check (FORMATS.mmalign.read)',
    async () => {
      for await (const e of FORMATS.mmalign.read(f('a.jsonl'), { hashMedia: false })) if (e.ok) count++;
      expectCount('jsonl records');
    },
    undefined,
    'baseline read (readFileSync+split+parse)',
  );
  await time(
    'jsonl validate incl. media (validateFile)',
    async () => {
      const r = await validateFile(f('a.jsonl'));
      if (r.valid !== N) throw new Error(`validate: ${r.issueCount} issues, first ${JSON.stringify(r.issues[0])}`);
    },
    undefined,
    'baseline read (readFileSync+split+parse)',
  );
  await time(
    'parquet write (FORMATS.mmalign, paths only)',
    () => FORMATS.mmalign.write(records, f('a.parquet'), { mediaRoot: dir }),
    f('a.parquet'),
    'baseline write (stringify+writeFileSync)',
  );
  await time(
    'parquet write (images embedded as bytes)',
    () => FORMATS.mmalign.write(records, f('img.parquet'), { mediaRoot: dir, embedMedia: true }),
    f('img.parquet'),
    'baseline write (stringify+writeFileSync)',
  );
  await time(
    'parquet read rows (readParquetRows)',
    async () => {
      for await (const e of readParquetRows(f('a.parquet'))) if (e.ok) count++;
      expectCount('parquet');
    },
    undefined,
    'baseline read (readFileSync+split+parse)',
  );
  await time(
    'parquet read + schema check (FORMATS.mmalign.read)',
    async () => {
      for await (const e of FORMATS.mmalign.read(f('a.parquet'), { hashMedia: false })) if (e.ok) count++;
      expectCount('parquet records');
    },
    undefined,
    'baseline read (readFileSync+split+parse)',
  );
  await time(
    'parquet read rows, images embedded',
    async () => {
      for await (const e of readParquetRows(f('img.parquet'))) if (e.ok) count++;
      expectCount('parquet img');
    },
    undefined,
    'baseline read (readFileSync+split+parse)',
  );

  const byName = new Map(results.map((r) => [r.name, r]));
  console.log(
    `\nmmalign io bench: ${N} pair records, ${IMAGES} distinct 32x32 PNGs in one media store, node ${process.version}`,
  );
  console.log(
    `${'step'.padEnd(52)} ${'rows/s'.padStart(10)} ${'seconds'.padStart(8)} ${'MB'.padStart(7)}  vs baseline`,
  );
  for (const r of results) {
    const base = r.baseline ? byName.get(r.baseline) : undefined;
    const ratio = base ? `${(base.seconds / r.seconds).toFixed(2)}x` : '';
    console.log(
      `${r.name.padEnd(52)} ${(N / r.seconds).toFixed(0).padStart(10)} ${r.seconds.toFixed(2).padStart(8)} ${
        r.bytes !== undefined ? (r.bytes / 1e6).toFixed(1).padStart(7) : ''.padStart(7)
      }  ${ratio}`,
    );
  }
  console.log(`peak-ish RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB (records array held for the baseline)`);
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
