import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { disposeVlm, initTf, namedWeights, tf, WordTokenizer } from '../nn/index.ts';
import { COLORS, colorExamples, SIZE, solid, tinyModel } from './pref.test-support.ts';
import { trainPreference } from './pref.ts';
import { correctedSpans, loadPrefData, spanTokenWeights, unitHash } from './pref-data.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
beforeAll(async () => {
  await initTf('wasm');
});

const FAST = { evalFraction: 0.25, optim: { lr: 3e-3, warmupSteps: 3 }, batchSize: 16 };

describe('offline preference trainer', () => {
  it('with 2 workers: the same reference and held-out scores, loss curve within 1e-5 (mdpo, kto, bco_pair)', async () => {
    for (const [objective, kind] of [
      ['mdpo', 'pair'],
      ['kto', 'binary'],
      // a running batch statistic (BCO's δ) and a rejected answer per pair: the objective sees the whole batch
      ['bco_pair', 'pair'],
    ] as const) {
      const run = async (workers: number) => {
        const model = tinyModel();
        const r = await trainPreference({
          config: { ...FAST, objective, steps: 12, evalEvery: 6, patience: 0 },
          model,
          train: colorExamples(40, kind),
          workers,
        });
        disposeVlm(model);
        return r;
      };
      const one = await run(1);
      const two = await run(2);
      expect(two.before, objective).toEqual(one.before);
      const gap = Math.max(...one.history.map((h, i) => Math.abs(h.loss! - two.history[i]!.loss!)));
      expect(gap, objective).toBeLessThan(1e-5);
      expect(two.history.map((h) => Object.keys(h).sort())).toEqual(one.history.map((h) => Object.keys(h).sort()));
      expect(Math.abs(two.after.loss - one.after.loss), objective).toBeLessThan(1e-5);
    }
  });

  it('resuming from <out>/last gives the same weights as one run, and reuses the cached reference', async () => {
    const cfg = { ...FAST, objective: 'mdpo', evalEvery: 0, patience: 0, checkpointEvery: 3 };
    const a = tinyModel();
    await trainPreference({ config: { ...cfg, steps: 6 }, model: a, train: colorExamples(40) });
    const b = tinyModel();
    const out = path.join(tmp.dir, 'resume');
    await trainPreference({ config: { ...cfg, steps: 3 }, model: b, train: colorExamples(40), outDir: out });
    disposeVlm(b);
    const c = tinyModel();
    const r = await trainPreference({
      config: { ...cfg, steps: 6 },
      model: c,
      train: colorExamples(40),
      outDir: out,
      resume: true,
    });
    expect(r.referenceFromCache).toBe(true);
    expect(r.stepsRun).toBe(3);
    const wa = namedWeights(a.weights);
    namedWeights(c.weights).forEach(([n, v], i) => {
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(v, wa[i]![1]))).dataSync()[0]!);
      expect(diff, n).toBeLessThan(1e-6);
    });
    disposeVlm(a);
    disposeVlm(c);
  });

  it('stops early when held-out accuracy does not improve and keeps the best weights', async () => {
    const model = tinyModel();
    const r = await trainPreference({
      config: { ...FAST, objective: 'dpo', steps: 40, evalEvery: 2, patience: 2, optim: { lr: 1e-12, minLr: 0 } },
      model,
      train: colorExamples(40),
    });
    expect(r.stoppedEarly).toBe(true);
    expect(r.lastStep).toBe(4);
    expect(r.bestStep).toBe(0);
    disposeVlm(model);
  });

  it('reference-free objectives score no reference for the training set; tensors stay flat per step', async () => {
    const out = path.join(tmp.dir, 'simpo');
    const model = tinyModel();
    const train = colorExamples(40);
    let heldOut = 0;
    const count = async (steps: number, dir: string) => {
      const before = tf.memory().numTensors;
      const r = await trainPreference({
        config: { ...FAST, objective: 'simpo', steps, evalEvery: 0, patience: 0 },
        model,
        train,
        outDir: dir,
      });
      heldOut = r.before.pairs;
      return tf.memory().numTensors - before;
    };
    const grow2 = await count(2, out);
    const grow6 = await count(6, path.join(tmp.dir, 'simpo6'));
    expect(grow6).toBe(grow2);
    const cache = JSON.parse(readFileSync(path.join(out, 'reference_logps.json'), 'utf8')) as { entries: object };
    expect(heldOut).toBeGreaterThan(0);
    expect(Object.keys(cache.entries)).toHaveLength(heldOut); // the held-out set only, for the logged shift
    disposeVlm(model);
  });

  it('refuses online objectives and params the objective does not take', async () => {
    const model = tinyModel();
    await expect(trainPreference({ config: { objective: 'grpo' }, model, train: colorExamples(8) })).rejects.toThrow(
      /online objective/,
    );
    await expect(
      trainPreference({
        config: { objective: 'hinge', params: { label_smoothing: 0.1 } },
        model,
        train: colorExamples(8),
      }),
    ).rejects.toThrow(/does not take label_smoothing/);
    disposeVlm(model);
  });
});

describe('preference data', () => {
  it('held-out splits are uniform even for ids that differ only at the end', () => {
    const xs = Array.from({ length: 400 }, (_, i) => unitHash(`pair-sw101-train-caption-${i}`, 0));
    const under = xs.filter((x) => x < 0.1).length;
    expect(under).toBeGreaterThan(25); // FNV-1a alone put 3 of these 400 under 0.1
    expect(under).toBeLessThan(55);
    expect(unitHash('a', 1)).not.toBe(unitHash('a', 2));
  });

  it('RLHF-V segments map to chosen-text spans and per-token weights', () => {
    const rejected = 'a red circle and a blue square .';
    const spans = correctedSpans(rejected, [{ start: 19, end: 30, correction: 'green triangle' }]);
    expect(spans.rejected).toEqual([[19, 30]]);
    expect(spans.chosen).toEqual([[19, 33]]);
    const chosen = 'a red circle and a green triangle .';
    expect(chosen.slice(19, 33)).toBe('green triangle');
    // tokens: a red circle and a green triangle . <eos>
    expect(spanTokenWeights(chosen, spans.chosen, 3)).toEqual([1, 1, 1, 1, 1, 3, 3, 1, 1]);
    expect(WordTokenizer.fromTexts([chosen]).encode(chosen)).toHaveLength(8);
  });

  it('loads pairs, image pairs, segments and binary records with their images', async () => {
    const dir = path.join(tmp.dir, 'prefs');
    mkdirSync(path.join(dir, 'media'), { recursive: true });
    const png = new PNG({ width: SIZE, height: SIZE });
    png.data = Buffer.from(
      Array.from({ length: SIZE * SIZE }, (_, i) => [...solid(COLORS.red!).slice(i * 3, i * 3 + 3), 255]).flat(),
    );
    writeFileSync(path.join(dir, 'media/red.png'), PNG.sync.write(png));
    const media = [{ kind: 'image', path: 'media/red.png', sha256: 'a'.repeat(64) }];
    const base = {
      sampleId: 's1',
      prompt: [{ role: 'user', content: 'what color is it ?' }],
      media,
      provenance: { source: 'test', createdAt: '2026-01-01T00:00:00Z', annotator: { kind: 'rule', id: 'truth' } },
    };
    const records = [
      {
        ...base,
        id: 'p1',
        kind: 'pair',
        chosen: { text: 'it is red .' },
        rejected: { text: 'it is blue .' },
        margin: 1,
      },
      { ...base, id: 'p2', kind: 'image_pair', response: { text: 'it is red .' }, rejectedMedia: media },
      {
        ...base,
        id: 'p3',
        kind: 'segments',
        rejected: { text: 'it is blue .' },
        chosen: { text: 'it is red .' },
        segments: [{ start: 6, end: 10, text: 'blue', correction: 'red' }],
      },
      { ...base, id: 'p4', kind: 'binary', response: { text: 'it is red .' }, label: true },
      { ...base, id: 'p5', kind: 'ranking', responses: [{ text: 'a' }, { text: 'b' }], ranks: [1, 2] },
    ];
    writeFileSync(path.join(dir, 'preferences.jsonl'), records.map((r) => JSON.stringify(r)).join('\n'));
    const data = await loadPrefData(dir, { imageSize: SIZE });
    expect(data.examples.map((e) => e.kind)).toEqual(['pair', 'image_pair', 'segments', 'binary']);
    expect(data.skipped).toEqual({ 'kind ranking': 1 });
    expect(data.examples[0]!.image![0]).toBeGreaterThan(150); // red channel
    expect(data.examples[1]!.imageNeg).not.toBeNull();
    expect(data.examples[2]!.chosenSpans).toEqual([[6, 9]]);
    expect(data.examples[3]!.rejected).toBeNull();
    writeFileSync(path.join(dir, 'bad.jsonl'), `${JSON.stringify({ ...records[0], chosen: { txt: 1 } })}\n`);
    await expect(loadPrefData(path.join(dir, 'bad.jsonl'), { imageSize: SIZE })).rejects.toThrow(/bad\.jsonl:1/);
  });
});
