import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { FORMAT_NAMES, getFormat } from '../../io/formats/index.ts';
import { readJsonl } from '../../io/jsonl.ts';
import { detectImage, IMAGE_FORMATS, type ImageFormat, mediaPath, resolveMedia, sha256Hex } from '../../io/media.ts';
import {
  detectRecordType,
  type MediaRef,
  type Preference,
  type Sample,
  Sample as SampleSchema,
  zodIssues,
} from '../../schema/index.ts';
import { MmalignError, RecordValidationError } from '../../util/errors.ts';
import { defineStage, type WorkItem } from '../stage.ts';

/**
 * Data source: the prompts (x, I) the pipeline starts from. ShapeWorld scenes (exact ground truth, images written
 * to the run's content-addressed `media/`); JSONL files of mmalign Samples (media resolve from `mediaRoot`,
 * default the first file's folder, and stay there); Parquet files of mmalign Samples or files of any `FORMATS`
 * format (`format:`), read through the format adapter, Preferences reduced to their prompt + media (one Sample per
 * `sampleId`), media copied into the run's `media/`; or a folder of images with a prompt template. One work item per
 * sample, keyed by its id.
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

const ImagesSource = z.strictObject({
  /** folder of images (relative to the config) */
  dir: z.string().min(1),
  /** the user turn; `{file}` becomes the image's file name */
  prompt: z.string().min(1),
  /** which files, matched against the path relative to `dir` (`*`, `?`, `**`, `{a,b}`); default the top-level
   * png/jpg/jpeg/webp files */
  glob: z.string().min(1).optional(),
});

const Params = z
  .strictObject({
    shapeworld: ShapeWorldSource.optional(),
    /** `.jsonl` (Samples, or any `format`), `.parquet` (mmalign Samples, or any `format`), `.json` (with `format`) */
    files: z.array(z.string().min(1)).min(1).optional(),
    /** the format of `files` (a `FORMATS` name); default mmalign Samples */
    format: z.enum(FORMAT_NAMES as [string, ...string[]]).optional(),
    images: ImagesSource.optional(),
    mediaRoot: z.string().optional(),
    /** keep only the first `limit` samples */
    limit: z.number().int().positive().optional(),
  })
  .refine((p) => (p.shapeworld ? 1 : 0) + (p.files ? 1 : 0) + (p.images ? 1 : 0) === 1, {
    message: 'give exactly one of `shapeworld`, `files` or `images`',
  })
  .refine((p) => !p.format || p.files, { message: '`format` applies to `files` only', path: ['format'] });

const IMAGE_DIR_FORMATS: readonly ImageFormat[] = ['png', 'jpeg', 'webp'];
const DEFAULT_IMAGE_GLOB = '*.{png,jpg,jpeg,webp,PNG,JPG,JPEG,WEBP}';

/** A small glob → RegExp over `/`-separated relative paths: `**` any depth, `*` / `?` within a segment, `{a,b}`. */
export function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) throw new MmalignError('MMALIGN_CONFIG', `glob ${glob}: unclosed {`);
      re += `(?:${glob
        .slice(i + 1, end)
        .split(',')
        .map((a) => a.replace(/[.+^$()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
        .join('|')})`;
      i = end;
    } else re += c.replace(/[.+^$()|[\]\\{}]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

interface SourceItem {
  sample: Sample;
  /** media to write into the run's store: relative path → bytes */
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
  description:
    'data source: ShapeWorld scenes, JSONL/Parquet files of mmalign Samples or of any format, or a folder of images',
  output: 'sample',
  needsInput: false,
  params: Params,
  create(p, ctx) {
    const files = p.files?.map((f) => path.resolve(ctx.configDir, f));
    const imagesDir = p.images ? path.resolve(ctx.configDir, p.images.dir) : undefined;
    // Imports (a format, or any parquet) go through the format adapter and copy their media into the run.
    const imported = !!files && (!!p.format || files.some((f) => path.extname(f).toLowerCase() === '.parquet'));
    const sourceRoot = p.mediaRoot
      ? path.resolve(ctx.configDir, p.mediaRoot)
      : files
        ? path.dirname(files[0])
        : undefined;
    const mediaRootFiles = imported || imagesDir ? undefined : sourceRoot;
    for (const f of files ?? [])
      if (!existsSync(f)) throw new MmalignError('MMALIGN_CONFIG', `source file ${f} does not exist`);
    if (files && !p.format)
      for (const f of files)
        if (!['.jsonl', '.parquet'].includes(path.extname(f).toLowerCase()))
          throw new MmalignError('MMALIGN_CONFIG', `source file ${f}: expected .jsonl or .parquet mmalign Samples`, {
            hint: `for another format give \`format:\` (one of ${FORMAT_NAMES.join(', ')})`,
          });
    if (imagesDir && !(existsSync(imagesDir) && statSync(imagesDir).isDirectory()))
      throw new MmalignError('MMALIGN_CONFIG', `source images.dir ${imagesDir} is not a folder`);

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

    /** Copy a record's media from the source root into the run's store: refs rewritten, bytes to write. */
    async function copyMedia(
      refs: MediaRef[],
      where: string,
    ): Promise<{ media: MediaRef[]; images: [string, Buffer][] }> {
      const media: MediaRef[] = [];
      const images: [string, Buffer][] = [];
      for (const [i, ref] of refs.entries()) {
        if (ref.path === undefined)
          throw new MmalignError('MMALIGN_MEDIA_NO_PATH', `${where}: media.${i} has no path (frames-only video)`);
        const abs = resolveMedia(ref, sourceRoot!);
        let bytes: Buffer;
        try {
          bytes = await readFile(abs);
        } catch {
          throw new MmalignError('MMALIGN_MEDIA_MISSING', `${where}: missing ${ref.kind} file ${abs} (media.${i})`);
        }
        const sha256 = sha256Hex(bytes);
        const info = ref.kind === 'image' ? detectImage(bytes) : undefined;
        if (ref.kind === 'image' && !info)
          throw new MmalignError('MMALIGN_MEDIA_FORMAT', `${where}: ${abs} is not a png/jpeg/webp/gif image`);
        const ext = info ? IMAGE_FORMATS[info.format].ext : path.extname(ref.path).slice(1).toLowerCase() || 'bin';
        const rel = mediaPath(sha256, ext);
        images.push([rel, bytes]);
        media.push({ ...ref, path: rel, sha256 } as MediaRef);
      }
      return { media, images };
    }

    async function* fromImports(): AsyncGenerator<WorkItem<SourceItem>> {
      const adapter = getFormat(p.format ?? 'mmalign');
      const seen = new Map<string, string>();
      let k = 0;
      for (const file of files!) {
        for await (const it of adapter.read(file, { mediaRoot: sourceRoot })) {
          if (!it.ok) throw new RecordValidationError([it.issue], `cannot read ${file} as ${adapter.name}`);
          const where = `${file}:${it.line}`;
          const rec = it.record;
          const type = detectRecordType(rec);
          let sample: Sample;
          if (type === 'sample') {
            sample = rec as Sample;
            const prev = seen.get(sample.id);
            if (prev)
              throw new MmalignError(
                'MMALIGN_DUPLICATE_ID',
                `${where}: sample id "${sample.id}" already used at ${prev}`,
              );
          } else if (type === 'preference') {
            const pref = rec as Preference;
            // many preferences share one prompt: the first one's prompt + media stands for the sample
            if (seen.has(pref.sampleId)) continue;
            const { annotator: _a, ...provenance } = pref.provenance;
            sample = {
              id: pref.sampleId,
              messages: pref.prompt,
              media: pref.media,
              provenance: { ...provenance, extra: { ...provenance.extra, fromPreference: pref.id } },
            };
          } else
            throw new MmalignError(
              'MMALIGN_CONFIG',
              `${where}: a ${type ?? 'unrecognised'} record; a source takes Samples or Preferences`,
            );
          seen.set(sample.id, where);
          if (p.limit !== undefined && k++ >= p.limit) return;
          const { media, images } = await copyMedia(sample.media, where);
          yield { key: sample.id, data: { sample: { ...sample, media }, images } };
        }
      }
    }

    async function* fromImages(): AsyncGenerator<WorkItem<SourceItem>> {
      const im = p.images!;
      const re = globRegExp(im.glob ?? DEFAULT_IMAGE_GLOB);
      const names = (readdirSync(imagesDir!, { recursive: true }) as string[])
        .map((f) => f.split(path.sep).join('/'))
        .filter((f) => re.test(f))
        .sort();
      if (!names.length)
        throw new MmalignError('MMALIGN_NO_INPUT', `source images: no file in ${imagesDir} matches ${re.source}`, {
          hint: 'check images.dir and images.glob',
        });
      const seen = new Set<string>();
      let k = 0;
      for (const name of names) {
        const abs = path.join(imagesDir!, name);
        let bytes: Buffer;
        try {
          if (!statSync(abs).isFile()) continue;
          bytes = await readFile(abs);
        } catch {
          throw new MmalignError('MMALIGN_MEDIA_MISSING', `source images: cannot read ${abs}`);
        }
        const info = detectImage(bytes);
        if (!info || !IMAGE_DIR_FORMATS.includes(info.format))
          throw new MmalignError(
            'MMALIGN_MEDIA_FORMAT',
            `source images: ${abs} is not a png, jpeg or webp image (${info ? info.format : 'unknown or truncated header'})`,
          );
        const sha256 = sha256Hex(bytes);
        const id = `img-${sha256.slice(0, 16)}`;
        // the same picture twice is one sample (its id is its content)
        if (seen.has(id)) continue;
        seen.add(id);
        if (p.limit !== undefined && k++ >= p.limit) return;
        const rel = mediaPath(sha256, IMAGE_FORMATS[info.format].ext);
        const file = path.basename(name);
        const sample: Sample = {
          id,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'image', media: 0 },
                { type: 'text', text: im.prompt.replaceAll('{file}', file) },
              ],
            },
          ],
          media: [{ kind: 'image', path: rel, sha256, width: info.width, height: info.height }],
          provenance: {
            source: `images:${path.basename(imagesDir!)}/${name}`,
            createdAt: statSync(abs).mtime.toISOString(),
          },
        };
        yield { key: id, data: { sample, images: [[rel, bytes]] } };
      }
    }

    return {
      name: ctx.name,
      type: 'source',
      output: 'sample',
      fingerprint: { ...p, files, ...(imagesDir ? { images: { ...p.images, dir: imagesDir } } : {}) },
      models: [],
      mediaRoot: (runDir) => mediaRootFiles ?? runDir,
      async count() {
        if (p.shapeworld) {
          const n = p.shapeworld.n * p.shapeworld.tasks.length;
          return p.limit !== undefined ? Math.min(n, p.limit) : n;
        }
        return undefined;
      },
      plan: (env) =>
        p.shapeworld ? fromShapeWorld(env.seed) : imagesDir ? fromImages() : imported ? fromImports() : fromFiles(),
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
