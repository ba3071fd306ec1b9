import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { loadEmbeddedModel } from '../models/embedded.ts';
import { createVlm, initTf, saveCheckpoint, WordTokenizer } from '../nn/index.ts';
import type { Sample } from '../schema/index.ts';
import { requestSampleId } from '../serve/app.ts';
import { startServer } from '../serve/server.ts';
import { CAPTION_PROMPT } from '../world/index.ts';
import { parseConstructConfig } from './config.ts';
import { runPipeline } from './pipeline.ts';
import { STAGES } from './stages/index.ts';
import { derivedSeed } from './stages/responses.ts';
import { readOutput } from './testing.ts';

/** ShapeWorld → responses sampled from the embedded model behind `mmalign serve`, over real HTTP on loopback. */
describe('ShapeWorld source → responses from mmalign serve', () => {
  const t = tempDir('mmalign-sw-');
  afterAll(() => t.cleanup());

  it('writes samples with their images, then n on-policy responses per sample from the served model', async () => {
    await initTf();
    const tok = WordTokenizer.fromTexts([CAPTION_PROMPT, 'a red circle and a blue square .']);
    const vlm = createVlm(
      { imageSize: 16, patchSize: 8, dModel: 16, nHeads: 2, encLayers: 1, decLayers: 1, mlpRatio: 2, maxTextLen: 24 },
      tok,
      1,
      false,
    );
    const ckpt = path.join(t.dir, 'ckpt');
    mkdirSync(ckpt);
    await saveCheckpoint(ckpt, vlm);
    const model = await loadEmbeddedModel(ckpt);
    const server = await startServer({ model, port: 0 });
    try {
      const cfg = parseConstructConfig(
        {
          seed: 2,
          models: { policy: { spec: server.url, concurrency: 2, temperature: 1, maxTokens: 6, policy: true } },
          stages: [
            { stage: 'source', shapeworld: { tasks: ['caption'], n: 4, split: 'test' } },
            { stage: 'responses', models: ['policy'], n: 2 },
          ],
        },
        STAGES,
        { dir: t.dir },
      );
      const runDir = path.join(t.dir, 'run');
      const s = await runPipeline(cfg, { runDir });
      expect(s.stages.map((x) => [x.name, x.done, x.records, x.failed])).toEqual([
        ['source', 4, 4, 0],
        ['responses', 4, 8, 0],
      ]);
      const samples = readOutput(s.stages[0].output);
      expect(samples.ids).toEqual([0, 1, 2, 3].map((i) => `sw2-test-caption-${i}`));
      for (const id of samples.ids) {
        const rec = samples.byId.get(id) as unknown as { media: { path: string }[]; truth: { objects: unknown[] } };
        expect(existsSync(path.join(runDir, rec.media[0].path))).toBe(true);
        expect(rec.truth.objects.length).toBeGreaterThan(0);
      }
      const out = readOutput(s.stages[1].output);
      expect(out.duplicates).toEqual([]);
      expect(out.ids).toHaveLength(8);
      const r = out.byId.get('sw2-test-caption-3/policy/1') as unknown as {
        model: string;
        sampleId: string;
        provenance: { policy: string; source: string };
        finishReason: string;
      };
      expect(r).toMatchObject({ model: 'policy', sampleId: 'sw2-test-caption-3', finishReason: expect.any(String) });
      expect(r.provenance).toMatchObject({ policy: 'on', source: 'shapeworld' });
      // the served model saw the same image and params: the same request in process gives the same two texts
      const sample = samples.byId.get('sw2-test-caption-3') as unknown as Sample;
      const reqId = requestSampleId(sample.messages, [{ kind: 'image', path: 'x', sha256: sample.media[0].sha256 }]);
      const [direct] = await model.generate(
        [{ ...sample, id: reqId }],
        { n: 2, temperature: 1, maxTokens: 6, seed: derivedSeed(2, sample.id, 'policy') },
        { mediaRoot: runDir },
      );
      expect(direct.ok && direct.generations.map((g) => g.text)).toEqual(
        [0, 1].map((i) => out.byId.get(`${sample.id}/policy/${i}`)?.text),
      );
    } finally {
      await server.close();
      await model.close();
    }
  });
});
