import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { readJsonl } from '../io/jsonl.ts';
import { loadImageRgb } from '../nn/image.ts';
import { promptText, Sample, zodIssues } from '../schema/index.ts';
import { MmalignError, RecordValidationError, type ValidationIssue } from '../util/errors.ts';

/**
 * Supervised examples from a folder of Sample records (`samples.jsonl` + `media/`, as `mmalign world` writes) or
 * one JSONL file: prompt = text of the last user turn, answer = `reference`, image = the first image media
 * (decoded once, shared by samples of the same scene). Samples without a reference or with more than one image are
 * skipped and counted, not fatal; an invalid record or a missing image is fatal and named by file:line.
 */
export interface SftExample {
  id: string;
  task?: string;
  split?: string;
  /** RGB bytes [I, I, 3], or null for a text-only sample */
  image: Uint8Array | null;
  prompt: string;
  answer: string;
  /** the exact answer the sample's ground truth gives, where it may differ from the (noisy) reference: captions */
  exactAnswer?: string;
}

export interface SftData {
  file: string;
  /** sha256 of the samples file's bytes (recorded in checkpoints) */
  sha256: string;
  examples: SftExample[];
  /** reason → count */
  skipped: Record<string, number>;
}

export interface LoadOptions {
  imageSize: number;
  /** keep only samples of this split (records without a split are kept) */
  split?: string;
  /** keep only these tasks (records without a task are kept) */
  tasks?: readonly string[];
  /** stop after this many kept examples */
  limit?: number;
}

export async function resolveSamplesFile(dirOrFile: string): Promise<{ file: string; root: string }> {
  const s = await stat(dirOrFile).catch(() => undefined);
  if (!s) throw new MmalignError('MMALIGN_NO_DATA', `data path ${dirOrFile} does not exist`);
  if (s.isDirectory()) {
    const file = path.join(dirOrFile, 'samples.jsonl');
    if (!(await stat(file).catch(() => undefined))) {
      throw new MmalignError('MMALIGN_NO_DATA', `${dirOrFile} has no samples.jsonl`, {
        hint: 'make one with `mmalign world --out DIR` or pass a JSONL file of Sample records',
      });
    }
    return { file, root: dirOrFile };
  }
  return { file: dirOrFile, root: path.dirname(dirOrFile) };
}

export async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** First image of a sample as a path relative to the data root, or null. Throws for multi-image samples. */
export function sampleImagePath(s: Sample): string | null | 'multi' {
  const images = s.media.filter((m) => m.kind === 'image');
  if (images.length > 1) return 'multi';
  return images[0]?.kind === 'image' ? images[0].path : null;
}

export async function loadSftData(dirOrFile: string, opts: LoadOptions): Promise<SftData> {
  const { file, root } = await resolveSamplesFile(dirOrFile);
  const issues: ValidationIssue[] = [];
  const skipped: Record<string, number> = {};
  const skip = (why: string) => {
    skipped[why] = (skipped[why] ?? 0) + 1;
  };
  const kept: { sample: Sample; image: string | null; line: number }[] = [];
  for await (const entry of readJsonl(file)) {
    if (!entry.ok) {
      issues.push(entry.issue);
      continue;
    }
    const r = Sample.safeParse(entry.value);
    if (!r.success) {
      issues.push(...zodIssues(r.error, { file, line: entry.line }));
      continue;
    }
    const s = r.data;
    if (opts.split && s.split !== undefined && s.split !== opts.split) continue;
    if (opts.tasks && s.task !== undefined && !opts.tasks.includes(s.task)) continue;
    if (s.reference === undefined) {
      skip('no reference');
      continue;
    }
    const image = sampleImagePath(s);
    if (image === 'multi') {
      skip('more than one image');
      continue;
    }
    if (opts.limit === undefined || kept.length < opts.limit) kept.push({ sample: s, image, line: entry.line });
  }
  if (issues.length) throw new RecordValidationError(issues);
  // decode each distinct image once (scenes are shared by tasks), a few files at a time
  const firstLine = new Map<string, number>();
  for (const k of kept) if (k.image !== null && !firstLine.has(k.image)) firstLine.set(k.image, k.line);
  const decoded = new Map<string, Uint8Array>();
  const paths = [...firstLine.keys()];
  for (let i = 0; i < paths.length; i += 32) {
    await Promise.all(
      paths.slice(i, i + 32).map(async (rel) => {
        try {
          decoded.set(rel, await loadImageRgb(path.resolve(root, rel), opts.imageSize));
        } catch (e) {
          throw new MmalignError(
            'MMALIGN_MISSING_MEDIA',
            `${file}:${firstLine.get(rel)}: media.0: ${(e as Error).message}`,
          );
        }
      }),
    );
  }
  const examples: SftExample[] = kept.map(({ sample, image }) => ({
    id: sample.id,
    task: sample.task,
    split: sample.split,
    image: image === null ? null : (decoded.get(image) as Uint8Array),
    prompt: promptText(sample.messages, false),
    answer: sample.reference as string,
    exactAnswer: typeof sample.truth?.caption === 'string' ? sample.truth.caption : undefined,
  }));
  return { file, sha256: await fileSha256(file), examples, skipped };
}
