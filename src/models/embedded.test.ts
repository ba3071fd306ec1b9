import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/cli.ts';
import { createVlm, initTf, saveCheckpoint, WordTokenizer } from '../nn/index.ts';
import type { Sample } from '../schema/index.ts';
import { type EmbeddedModel, loadEmbeddedModel } from './embedded.ts';

const newDir = tempDirs('mmalign-emb-');
let root: string;
let model: EmbeddedModel;

function sample(id: string, media: Sample['media'], text = 'Describe the image.'): Sample {
  return {
    id,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image', media: 0 },
          { type: 'text', text },
        ],
      },
    ],
    media,
    provenance: { source: 'test', createdAt: '2025-01-01T00:00:00Z' },
  };
}

beforeAll(async () => {
  await initTf();
  root = newDir();
  for (const [name, v] of [
    ['a.png', 30],
    ['b.png', 220],
  ] as const) {
    const png = new PNG({ width: 16, height: 16 });
    for (let i = 0; i < png.data.length; i++) png.data[i] = (i % 4 === 3 ? 255 : v + i) % 256;
    await writeFile(path.join(root, name), PNG.sync.write(png));
  }
  const tok = WordTokenizer.fromTexts(['Describe the image.', 'a red circle and a blue square.', 'yes no']);
  const vlm = createVlm(
    {
      imageSize: 16,
      patchSize: 4,
      mergeSize: 2,
      dModel: 16,
      nHeads: 2,
      encLayers: 1,
      decLayers: 1,
      mlpRatio: 2,
      maxTextLen: 24,
    },
    tok,
    3,
  );
  const ckpt = path.join(root, 'ckpt');
  await saveCheckpoint(ckpt, vlm);
  model = await loadEmbeddedModel(ckpt);
});

describe('EmbeddedModel', () => {
  it('declares its capabilities', () => {
    expect(model.capabilities).toMatchObject({ generate: true, promptLogprobs: true, images: true, video: false });
    expect(model.id).toBe('embedded:ckpt');
  });

  it('generates n samples per prompt with per-token log-probs, errors as data per sample', async () => {
    const ok = sample('s1', [{ kind: 'image', path: 'a.png' }]);
    const missing = sample('s2', [{ kind: 'image', path: 'nope.png' }]);
    const video = sample('s3', [{ kind: 'video', path: 'v.mp4' }]);
    const res = await model.generate(
      [ok, missing, video],
      { n: 3, temperature: 1, seed: 5, maxTokens: 6, logprobs: true },
      {
        mediaRoot: root,
      },
    );
    expect(res.map((r) => [r.sampleId, r.ok])).toEqual([
      ['s1', true],
      ['s2', false],
      ['s3', false],
    ]);
    const r0 = res[0];
    if (!r0?.ok) throw new Error('expected ok');
    expect(r0.generations).toHaveLength(3);
    for (const g of r0.generations) {
      expect(g.logprobs?.length).toBeLessThanOrEqual(6);
      expect(['stop', 'length']).toContain(g.finishReason);
      for (const t of g.logprobs ?? []) expect(t.logprob).toBeLessThan(0);
    }
    const r1 = res[1];
    if (r1?.ok !== false) throw new Error('expected an error');
    expect(r1.error.message).toMatch(/nope\.png/);
    const r2 = res[2];
    if (r2?.ok !== false) throw new Error('expected an error');
    expect(r2.error.code).toBe('MMALIGN_UNSUPPORTED_MEDIA');
  });

  it('scores a response with the image given, replaced or removed; scores agree with sampled log-probs', async () => {
    const s = sample('s1', [{ kind: 'image', path: 'a.png' }]);
    const [res] = await model.generate(
      [s],
      { n: 1, temperature: 1, seed: 9, maxTokens: 5, logprobs: true },
      { mediaRoot: root },
    );
    if (!res?.ok) throw new Error('generation failed');
    const g = res.generations[0];
    if (!g) throw new Error('no generation');
    const given = await model.logprobs(s, g.text, { visual: { mode: 'given' } }, { mediaRoot: root });
    // the response's words then <eos>; sampled log-probs of the same words are the same numbers
    expect(given.tokens.at(-1)?.token).toBe('<eos>');
    const words = given.tokens.slice(0, -1);
    expect(words.map((t) => t.token)).toEqual(g.logprobs?.map((t) => t.token));
    words.forEach((t, k) => {
      expect(t.logprob).toBeCloseTo(g.logprobs?.[k]?.logprob as number, 4);
    });
    expect(given.total).toBeCloseTo(
      given.tokens.reduce((a, t) => a + t.logprob, 0),
      6,
    );
    const replaced = await model.logprobs(
      s,
      g.text,
      { visual: { mode: 'replace', media: [{ kind: 'image', path: 'b.png' }] } },
      { mediaRoot: root },
    );
    const none = await model.logprobs(s, g.text, { visual: { mode: 'none' } }, { mediaRoot: root });
    expect(replaced.tokens.map((t) => t.token)).toEqual(given.tokens.map((t) => t.token));
    expect(replaced.total).not.toBeCloseTo(given.total, 6);
    expect(none.total).not.toBeCloseTo(given.total, 6);
    // unknown words are scored as <unk>, never a crash
    const odd = await model.logprobs(s, 'a purple zebra!', {}, { mediaRoot: root });
    expect(odd.tokens.map((t) => t.token)).toEqual(['a', '<unk>', '<unk>', '<unk>', '<eos>']);
  });
});

describe('prefill', () => {
  it('continues a final assistant turn: greedy continuation = the rest of the greedy answer', async () => {
    const img: Sample['media'] = [{ kind: 'image', path: 'a.png' }];
    const params = { n: 1, temperature: 0, maxTokens: 8, seed: 1, logprobs: true };
    const [full] = await model.generate([sample('f', img)], params, { mediaRoot: root });
    if (!full?.ok) throw new Error('generation failed');
    const words = full.generations[0]?.logprobs?.map((l) => l.token) ?? [];
    expect(words.length).toBeGreaterThan(2);
    const s = sample('p', img);
    const prefix = words.slice(0, 2).join(' ');
    const [cont] = await model.generate(
      [{ ...s, messages: [...s.messages, { role: 'assistant', content: prefix }] }],
      { ...params, maxTokens: 6 },
      { mediaRoot: root },
    );
    if (!cont?.ok) throw new Error('continuation failed');
    expect(model.capabilities.prefill).toBe(true);
    // the continuation only, token for token and log-prob for log-prob what the full decode produced after the prefix
    expect(cont.generations[0]?.logprobs?.map((l) => l.token)).toEqual(words.slice(2, 8));
    cont.generations[0]?.logprobs?.forEach((l, k) => {
      expect(l.logprob).toBeCloseTo(full.generations[0]?.logprobs?.[k + 2]?.logprob as number, 4);
    });
  });
});
