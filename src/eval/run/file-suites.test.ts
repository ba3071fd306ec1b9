import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/cli.ts';
import type { GenerateResult, VisionLanguageModel } from '../../models/types.ts';
import { promptText, type Sample } from '../../schema/index.ts';
import { type AmberAnnotation, scoreAmber } from '../amber.ts';
import { benchdataDir } from '../chair-synonyms.ts';
import { scorePope } from '../pope.ts';
import { runSuite } from './runner.ts';

/** Answers "Yes" to questions about even question ids, "No, there is not." otherwise; records prompts and images. */
class ParityModel implements VisionLanguageModel {
  readonly id = 'parity';
  readonly capabilities = {
    generate: true,
    sampledLogprobs: false,
    promptLogprobs: false,
    images: true,
    video: false,
    audio: false,
  };
  prompts: string[] = [];
  images: string[] = [];
  async generate(samples: readonly Sample[]): Promise<GenerateResult[]> {
    return samples.map((s) => {
      this.prompts.push(promptText(s.messages, false));
      this.images.push(s.media[0]?.kind === 'image' ? s.media[0].path : '');
      const qid = Number(s.id.split('/')[1]);
      return {
        ok: true,
        sampleId: s.id,
        generations: [{ text: qid % 2 === 0 ? 'Yes' : 'No, there is not.', finishReason: 'stop' }],
      };
    });
  }
  async logprobs(): Promise<never> {
    throw new Error('no');
  }
}

describe('eval run --suite pope (file-based)', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  it('runs the POPE question file against an image folder with the reference prompt and scorer', async () => {
    const qfile = path.join(benchdataDir(), 'coco_pope_adversarial.json');
    const qs = readFileSync(qfile, 'utf8')
      .trim()
      .split('\n')
      .slice(0, 12)
      .map((l) => JSON.parse(l) as { question_id: number; image: string; label: 'yes' | 'no' });
    const images = path.join(dir, 'val2014');
    mkdirSync(images);
    const png = PNG.sync.write(new PNG({ width: 4, height: 4 }));
    for (const q of qs) writeFileSync(path.join(images, q.image), png);
    const model = new ParityModel();
    const r = await runSuite({
      suite: 'pope',
      modelSpec: 'parity',
      model,
      out: path.join(dir, 'run'),
      data: [qfile],
      images,
      limit: 12,
      resamples: 100,
    });
    const e = r.metrics.benchmarks.find((b) => b.id === 'pope/adversarial');
    const want = scorePope(
      qs.map((q) => ({ label: q.label, answer: q.question_id % 2 === 0 ? 'Yes' : 'No, there is not.' })),
    );
    expect(e?.headline.value).toBe(want.f1);
    expect(e?.metrics.accuracy).toBe(want.accuracy);
    expect(model.prompts[0]).toBe(
      'Is there a snowboard in the image?\nAnswer the question using a single word or phrase.',
    );
    expect(model.images[0]).toBe(path.join(images, 'COCO_val2014_000000310196.jpg'));
    expect(r.metrics.files[0]).toMatchObject({ path: qfile, role: 'POPE questions' });
    expect(r.metrics.files[0].sha256.slice(0, 12)).toBe('420b3407db1f');
    expect(r.metrics.files[1].path).toBe('images (2 files)');
  });
  it('runs AMBER discriminative queries and scores them with the AMBER arithmetic', async () => {
    const ann = JSON.parse(
      readFileSync(path.join(benchdataDir(), 'amber_annotations.json'), 'utf8'),
    ) as AmberAnnotation[];
    const picked = [1, 1005, 1006, 1007, 1008].map((id) => ann[id - 1]);
    const images = path.join(dir, 'amber-images');
    mkdirSync(images);
    const png = PNG.sync.write(new PNG({ width: 4, height: 4 }));
    const queries = picked.map((a) => ({ id: a.id, image: `AMBER_${a.id}.jpg`, query: `Question ${a.id}?` }));
    for (const q of queries) writeFileSync(path.join(images, q.image), png);
    const qfile = path.join(dir, 'query.json');
    writeFileSync(qfile, JSON.stringify(queries));
    const model = new ParityModel();
    const r = await runSuite({
      suite: 'amber',
      modelSpec: 'parity',
      model,
      out: path.join(dir, 'amber-run'),
      data: [qfile],
      images,
      resamples: 50,
    });
    // the generative item (id 1) is left out; even ids answer "Yes", odd ones "No, there is not." (not an AMBER answer)
    const want = scoreAmber(
      ann,
      picked.slice(1).map((a) => ({ id: a.id, response: a.id % 2 === 0 ? 'Yes' : 'No, there is not.' })),
    );
    const e = r.metrics.benchmarks.find((b) => b.id === 'amber/discriminative');
    expect(e?.headline.value).toBe(want.discriminative?.overall.f1);
    expect(e?.metrics.overall).toEqual(want.discriminative?.overall);
    expect(e?.guards.parse_rate).toBe(0.5);
    expect(model.prompts[0]).toBe('Question 1005?\nPlease answer yes or no.');
  });
});
