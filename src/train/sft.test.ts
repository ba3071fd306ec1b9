import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/cli.ts';
import { loadCheckpoint, namedWeights } from '../nn/index.ts';
import { initTf } from '../nn/tf.ts';
import type { SftExample } from './data.ts';
import { loadSftData } from './data.ts';
import { squareExamples, TINY_SFT } from './sft.test-support.ts';
import { SftConfig, sftBatchSchedule, trainSft } from './sft.ts';

const newDir = tempDirs('mmalign-sft-');

const CONFIG = TINY_SFT;
const EXAMPLES = squareExamples(24);

async function weightsBytes(dir: string): Promise<Buffer> {
  return readFile(path.join(dir, 'model.safetensors'));
}

beforeAll(async () => {
  await initTf();
});

describe('trainSft', () => {
  it('lowers the loss, writes a loadable checkpoint with its config and data hash', async () => {
    const out = newDir();
    const r = await trainSft({
      config: { ...CONFIG, steps: 30 },
      train: EXAMPLES,
      eval: EXAMPLES.slice(0, 6),
      outDir: out,
      data: { path: 'mem', sha256: 'b'.repeat(64), samples: EXAMPLES.length },
    });
    const first = r.history[0]?.loss as number;
    expect(r.finalLoss).toBeLessThan(first * 0.5);
    expect(r.history.filter((h) => h.evalLoss !== undefined).map((h) => h.step)).toEqual([6, 12, 18, 24, 30]);
    const ck = await loadCheckpoint(out);
    expect(ck.checkpoint?.data?.sha256).toBe('b'.repeat(64));
    expect(ck.checkpoint?.training).toMatchObject({ sft: { steps: 30 } });
    expect(r.tokensPerSec).toBeGreaterThan(0);
  });

  it('a run stopped and resumed from <out>/last ends bit-identical to an uninterrupted run', async () => {
    const straight = newDir();
    await trainSft({ config: CONFIG, train: EXAMPLES, outDir: straight });

    const split = newDir();
    const stop = new AbortController();
    const partial = await trainSft({
      config: CONFIG,
      train: EXAMPLES,
      outDir: split,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.step === 7) stop.abort();
      },
    });
    expect(partial.stopped).toBe(true);
    expect(partial.steps).toBe(7);
    const resumed = await trainSft({ config: CONFIG, train: EXAMPLES, outDir: split, resume: true });
    expect(resumed.resumedFrom).toBe(7);
    expect(resumed.stepsRun).toBe(5);
    expect((await weightsBytes(split)).subarray(-4096).equals((await weightsBytes(straight)).subarray(-4096))).toBe(
      true,
    );
    const a = await loadCheckpoint(split);
    const b = await loadCheckpoint(straight);
    namedWeights(a.weights).forEach(([name, t], i) => {
      expect([name, [...t.dataSync()]]).toEqual([name, [...(namedWeights(b.weights)[i]?.[1].dataSync() ?? [])]]);
    });
  });

  it('refuses to resume with a different config', async () => {
    const out = newDir();
    await trainSft({ config: { ...CONFIG, steps: 4 }, train: EXAMPLES, outDir: out });
    await expect(
      trainSft({ config: { ...CONFIG, seed: 5 }, train: EXAMPLES, outDir: out, resume: true }),
    ).rejects.toThrow(/different config/);
  });
});

describe('loadSftData', () => {
  it('reads Sample records + images, skips samples without a reference, names file:line of bad records', async () => {
    const dir = newDir();
    const png = new PNG({ width: 16, height: 16 });
    png.data.fill(200);
    await writeFile(path.join(dir, 'a.png'), PNG.sync.write(png));
    const sample = (id: string, reference?: string) =>
      JSON.stringify({
        id,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', media: 0 },
              { type: 'text', text: 'Describe it.' },
            ],
          },
        ],
        media: [{ kind: 'image', path: 'a.png' }],
        ...(reference ? { reference } : {}),
        split: 'train',
        provenance: { source: 'test', createdAt: '2025-01-01T00:00:00Z' },
      });
    await writeFile(path.join(dir, 'samples.jsonl'), `${sample('s1', 'a gray square.')}\n${sample('s2')}\n`);
    const data = await loadSftData(dir, { imageSize: 16 });
    expect(data.examples.map((e) => [e.id, e.prompt, e.answer])).toEqual([['s1', 'Describe it.', 'a gray square.']]);
    expect(data.examples[0]?.image?.slice(0, 3)).toEqual(Uint8Array.from([200, 200, 200]));
    expect(data.skipped).toEqual({ 'no reference': 1 });
    expect(data.sha256).toMatch(/^[0-9a-f]{64}$/);

    await writeFile(path.join(dir, 'samples.jsonl'), `${sample('s1', 'x')}\n{"id": 3}\n`);
    await expect(loadSftData(dir, { imageSize: 16 })).rejects.toThrow(/samples\.jsonl:2/);
    await writeFile(path.join(dir, 'samples.jsonl'), `${sample('s1', 'x').replace('a.png', 'missing.png')}\n`);
    await expect(loadSftData(dir, { imageSize: 16 })).rejects.toThrow(/samples\.jsonl:1.*missing\.png/);
  });
});

describe('sftBatchSchedule', () => {
  const tasks = ['caption', 'pope', 'count'];
  const train: SftExample[] = Array.from({ length: 60 }, (_, i) => ({
    id: `t${i}`,
    task: tasks[i % 3],
    image: null,
    prompt: 'p',
    answer: 'a '.repeat(1 + (i % 5)),
  }));
  const lengths = train.map((e) => e.answer.length);
  const taskOf = (i: number) => train[i]?.task;

  it('trains each curriculum phase on its tasks only, then on every task', () => {
    const config = SftConfig.parse({ batchSize: 8, lengthWindow: 2, curriculum: [{ steps: 5, tasks: ['caption'] }] });
    const at = sftBatchSchedule(config, train, lengths);
    for (let s = 0; s < 5; s++) expect(new Set(at(s).map(taskOf))).toEqual(new Set(['caption']));
    const later = new Set(Array.from({ length: 10 }, (_, k) => at(5 + k).map(taskOf)).flat());
    expect(later).toEqual(new Set(tasks));
    // a pure function of the step: a resumed run asks again and gets the same batch
    expect(sftBatchSchedule(config, train, lengths)(7)).toEqual(at(7));
    // each phase's pool is shuffled per epoch: five batches of 8 draw each of the 20 captions exactly twice
    const plain = sftBatchSchedule({ ...config, lengthWindow: 1 }, train, lengths);
    const counts = new Map<number, number>();
    for (let s = 0; s < 5; s++) for (const i of plain(s)) counts.set(i, (counts.get(i) ?? 0) + 1);
    expect([counts.size, new Set(counts.values())]).toEqual([20, new Set([2])]);
  });

  it('without a curriculum, every batch is drawn from all examples, each once per epoch', () => {
    const at = sftBatchSchedule(SftConfig.parse({ batchSize: 6, lengthWindow: 5 }), train, lengths);
    const epoch = Array.from({ length: 10 }, (_, s) => at(s)).flat();
    expect(new Set(epoch).size).toBe(60);
  });

  it('names the phase whose tasks have no examples', () => {
    const config = SftConfig.parse({ curriculum: [{ steps: 5, tasks: ['spatial'] }] });
    expect(() => sftBatchSchedule(config, train, lengths)).toThrow(/curriculum\[0\].*spatial/);
  });
});
