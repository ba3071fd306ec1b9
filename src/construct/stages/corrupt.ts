import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { MediaStore, resolveMedia } from '../../io/media.ts';
import { CORRUPTION_NAMES, type CorruptionName, corruptImage } from '../../negatives/corrupt.ts';
import type { MediaRef, Sample } from '../../schema/index.ts';
import { MmalignError } from '../../util/errors.ts';
import { defineStage, type WorkItem } from '../stage.ts';
import { readSamples } from './common.ts';
import { derivedSeed } from './responses.ts';

/**
 * I_neg for image-contrastive objectives (mDPO, CHiP, Image-DPO): each sample's images corrupted, written to the
 * run's content-addressed media store. Emits one Sample per (sample, corruption), id `<id>#<corruption>`, with
 * `provenance.extra.negOf` = the original id: a `responses` stage reading it records y_neg | x, I_neg against the
 * original sample, and the `pair` stage makes image pairs from it. Truth and reference are dropped: they describe
 * the clean image. The seed of each corruption derives from (seed, sample id, corruption).
 */
const Corruption = z.union([
  z.enum(CORRUPTION_NAMES as [CorruptionName, ...CorruptionName[]]),
  z.strictObject({
    name: z.enum(CORRUPTION_NAMES as [CorruptionName, ...CorruptionName[]]),
    params: z.record(z.string(), z.number()).optional(),
  }),
]);
const Params = z.strictObject({
  corruptions: z.array(Corruption).min(1),
  seed: z.number().int().optional(),
});

interface Item {
  sample: Sample;
  name: CorruptionName;
  params?: Record<string, number>;
  /** for `other`: the image of another sample */
  other?: MediaRef;
}

export const corruptStage = defineStage({
  description: 'corrupt each sample image (blur, pixelate, noise, crop, rotate, black, other) → I_neg samples',
  output: 'sample',
  needsInput: true,
  params: Params,
  create(p, ctx) {
    const input = ctx.input!;
    const specs = p.corruptions.map((c) => (typeof c === 'string' ? { name: c } : c));
    const names = specs.map((s) => s.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice)
      throw new MmalignError(
        'MMALIGN_CONFIG',
        `corrupt: "${twice}" is listed twice; use one corrupt stage per setting`,
      );
    return {
      name: ctx.name,
      type: 'corrupt',
      output: 'sample',
      input,
      fingerprint: { ...p, corruptions: specs },
      models: [],
      async count(env) {
        return (await env.countInput(input)) * specs.length;
      },
      async *plan(env): AsyncGenerator<WorkItem<Item>> {
        const samples = [...(await readSamples(env, input, ctx.name)).values()].filter((s) =>
          s.media.some((m) => m.kind === 'image'),
        );
        for (const sample of samples)
          for (const spec of specs) {
            let other: MediaRef | undefined;
            if (spec.name === 'other') {
              // a deterministic other sample with a different image
              const img = (x: Sample) => x.media[0]?.sha256 ?? x.media[0]?.path;
              const pick = samples.filter((x) => img(x) !== img(sample));
              if (pick.length) other = pick[derivedSeed(p.seed ?? env.seed, sample.id, 'other') % pick.length].media[0];
              else continue;
            }
            yield { key: `${sample.id}|${spec.name}`, data: { sample, ...spec, other } };
          }
      },
      async run(item, env) {
        const { sample, name, params, other } = item.data;
        // the run's own store; refs are relative to the media root records resolve against (the run folder for
        // ShapeWorld, the data folder for JSONL sources, so then the path climbs out of it: ../run/media/…)
        const store = new MediaStore(env.runDir);
        const seed = derivedSeed(p.seed ?? env.seed, sample.id, name);
        const otherBytes = other ? await readFile(resolveMedia(other, env.mediaRoot)) : undefined;
        const media: MediaRef[] = [];
        for (const m of sample.media) {
          if (m.kind !== 'image') {
            media.push(m);
            continue;
          }
          const bytes = await readFile(resolveMedia(m, env.mediaRoot));
          const neg = await corruptImage(bytes, { name, params }, { seed, other: otherBytes });
          const ref = await store.put(neg);
          media.push({ ...ref, path: path.relative(env.mediaRoot, path.join(env.runDir, ref.path)) });
        }
        const { truth: _t, reference: _r, ...rest } = sample;
        const out: Sample = {
          ...rest,
          id: `${sample.id}#${name}`,
          media,
          tags: [...(sample.tags ?? []), `corrupt:${name}`],
          provenance: {
            ...sample.provenance,
            strategy: `corrupt:${name}`,
            createdAt: env.now(),
            run: env.runId,
            extra: { ...sample.provenance.extra, negOf: sample.id, corruption: name, ...(params ? { params } : {}) },
          },
        };
        return { ok: true, records: [out] };
      },
      async concurrency() {
        return 4;
      },
    };
  },
});
