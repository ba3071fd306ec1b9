import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readJsonl } from '../../io/jsonl.ts';
import { type Sample, Sample as SampleSchema, zodIssues } from '../../schema/index.ts';
import { MmalignError, RecordValidationError } from '../../util/errors.ts';
import { defineStage, type WorkItem } from '../stage.ts';

/**
 * Data source: the prompts (x, I) the pipeline starts from. ShapeWorld scenes (exact ground truth, images written
 * to the run's content-addressed `media/`), or JSONL files of mmalign Samples (media resolve from `mediaRoot`,
 * default the first file's folder). One work item per sample, keyed by its id.
 */
const ShapeWorldSource = z.strictObject({
  tasks: z.array(z.string()).min(1).default(['caption']),
  /** samples per task */
  n: z.number().int().positive(),
  split: z.enum(['train', 'test']).default('test'),
  /** default: the config's top-level seed */
  seed: z.number().int().optional(),
  /** WorldConfig overrides (see src/world/config.ts) */
  world: z.record(z.string(), z.unknown()).optional(),
});

const Params = z
  .strictObject({
    shapeworld: ShapeWorldSource.optional(),
    files: z.array(z.string().min(1)).min(1).optional(),
    mediaRoot: z.string().optional(),
    /** keep only the first `limit` samples */
    limit: z.number().int().positive().optional(),
  })
  .refine((p) => (p.shapeworld ? 1 : 0) + (p.files ? 1 : 0) === 1, {
    message: 'give exactly one of `shapeworld` or `files`',
  });

interface SourceItem {
  sample: Sample;
  /** ShapeWorld PNGs to write: relative path → bytes */
  images?: [string, Buffer][];
}

function writeMedia(root: string, rel: string, bytes: Buffer): void {
  const full = path.join(root, rel);
  if (existsSync(full)) return;
  mkdirSync(path.dirname(full), { recursive: true });
  // content-addressed: a temp name + rename means a killed process never leaves a truncated PNG under its hash
  const tmp = `${full}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, full);
}

export const sourceStage = defineStage({
  description: 'data source: ShapeWorld scenes or JSONL files of mmalign Samples',
  output: 'sample',
  needsInput: false,
  params: Params,
  create(p, ctx) {
    const files = p.files?.map((f) => path.resolve(ctx.configDir, f));
    const mediaRootFiles = p.mediaRoot
      ? path.resolve(ctx.configDir, p.mediaRoot)
      : files
        ? path.dirname(files[0])
        : undefined;
    for (const f of files ?? [])
      if (!existsSync(f)) throw new MmalignError('MMALIGN_CONFIG', `source file ${f} does not exist`);

    async function* fromShapeWorld(seed: number): AsyncGenerator<WorkItem<SourceItem>> {
      const sw = p.shapeworld!;
      const world = await import('../../world/index.ts');
      const pngs = new Map<string, Buffer>();
      const { samples } = world.buildSamples(sw.world ?? {}, {
        seed: sw.seed ?? seed,
        split: sw.split,
        n: sw.n,
        tasks: sw.tasks,
        onImage: (ref, png) => pngs.set(ref.path, png),
      });
      let k = 0;
      for (const list of samples.values())
        for (const s of list) {
          if (p.limit !== undefined && k++ >= p.limit) return;
          const images = s.media.flatMap((m) => {
            const png = m.kind === 'image' ? pngs.get(m.path) : undefined;
            return png ? [[m.path, png] as [string, Buffer]] : [];
          });
          yield { key: s.id, data: { sample: s, images } };
        }
    }

    async function* fromFiles(): AsyncGenerator<WorkItem<SourceItem>> {
      const seen = new Map<string, string>();
      let k = 0;
      for (const file of files!) {
        for await (const e of readJsonl(file)) {
          if (!e.ok) throw new RecordValidationError([e.issue]);
          const r = SampleSchema.safeParse(e.value);
          if (!r.success)
            throw new RecordValidationError(
              zodIssues(r.error, { file, line: e.line }),
              'expected mmalign Sample records',
            );
          const where = `${file}:${e.line}`;
          const prev = seen.get(r.data.id);
          if (prev)
            throw new MmalignError(
              'MMALIGN_DUPLICATE_ID',
              `${where}: sample id "${r.data.id}" already used at ${prev}`,
            );
          seen.set(r.data.id, where);
          if (p.limit !== undefined && k++ >= p.limit) return;
          yield { key: r.data.id, data: { sample: r.data } };
        }
      }
    }

    return {
      name: ctx.name,
      type: 'source',
      output: 'sample',
      fingerprint: { ...p, files },
      models: [],
      mediaRoot: (runDir) => mediaRootFiles ?? runDir,
      async count() {
        if (p.shapeworld) {
          const n = p.shapeworld.n * p.shapeworld.tasks.length;
          return p.limit !== undefined ? Math.min(n, p.limit) : n;
        }
        return undefined;
      },
      plan: (env) => (p.shapeworld ? fromShapeWorld(env.seed) : fromFiles()),
      async run(item, env) {
        for (const [rel, png] of item.data.images ?? []) writeMedia(env.mediaRoot, rel, png);
        return { ok: true, records: [item.data.sample] };
      },
      async concurrency() {
        return 64;
      },
    };
  },
});
