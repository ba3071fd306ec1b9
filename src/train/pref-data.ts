import path from 'node:path';
import { readJsonl } from '../io/jsonl.ts';
import { loadImageRgb } from '../nn/image.ts';
import { hashString, Rng } from '../nn/rng.ts';
import { type MediaRef, Preference, promptText, zodIssues } from '../schema/index.ts';
import { MmalignError, RecordValidationError, type ValidationIssue } from '../util/errors.ts';
import { fileSha256, resolveSamplesFile } from './data.ts';

/**
 * Preference examples for the offline trainers, from a folder holding `preferences.jsonl` (+ media) or one JSONL
 * file of Preference records. Kinds: `pair` (y_w ≻ y_l, optional rejectedMedia = I_neg), `image_pair` (the same
 * answer under I vs I_neg), `segments` (RLHF-V corrections: chosen = corrected text, token weights on the corrected
 * spans) and `binary` (KTO). Rankings and rubrics are skipped and counted (pair them first with `mmalign construct`).
 */
export interface PrefExample {
  id: string;
  kind: 'pair' | 'image_pair' | 'segments' | 'binary';
  prompt: string;
  /** RGB bytes [I, I, 3] or null */
  image: Uint8Array | null;
  /** I_neg from the record (`rejectedMedia`), or null: the trainer corrupts `image` then */
  imageNeg: Uint8Array | null;
  /** y_w (binary: the response when labelled desirable) */
  chosen: string | null;
  /** y_l (binary: the response when labelled undesirable) */
  rejected: string | null;
  /** [start, end) character spans of `chosen` / `rejected` that a correction touched (segments) */
  chosenSpans?: [number, number][];
  rejectedSpans?: [number, number][];
  chosenReward?: number;
  rejectedReward?: number;
  margin?: number;
}

export interface PrefData {
  file: string;
  sha256: string;
  examples: PrefExample[];
  skipped: Record<string, number>;
}

const firstImage = (media: readonly MediaRef[]): string | null | 'multi' => {
  const images = media.filter((m) => m.kind === 'image');
  if (images.length > 1) return 'multi';
  return images[0]?.kind === 'image' ? images[0].path : null;
};

/** Chosen-text spans of RLHF-V segments: walk the corrections in order, shifting by the length changes so far. */
export function correctedSpans(
  rejected: string,
  segments: readonly { start: number; end: number; correction: string }[],
): { chosen: [number, number][]; rejected: [number, number][] } {
  const sorted = [...segments].sort((a, b) => a.start - b.start);
  let shift = 0;
  const chosen: [number, number][] = [];
  const rej: [number, number][] = [];
  for (const s of sorted) {
    if (s.end > rejected.length || s.start > s.end)
      throw new MmalignError('MMALIGN_BAD_SEGMENT', `segment [${s.start}, ${s.end}) is outside the rejected text`);
    rej.push([s.start, s.end]);
    chosen.push([s.start + shift, s.start + shift + s.correction.length]);
    shift += s.correction.length - (s.end - s.start);
  }
  return { chosen, rejected: rej };
}

export async function loadPrefData(dirOrFile: string, opts: { imageSize: number; limit?: number }): Promise<PrefData> {
  const { file, root } = await resolvePreferencesFile(dirOrFile);
  const issues: ValidationIssue[] = [];
  const skipped: Record<string, number> = {};
  const skip = (why: string) => {
    skipped[why] = (skipped[why] ?? 0) + 1;
  };
  const pending: { ex: PrefExample; image: string | null; neg: string | null; line: number }[] = [];
  for await (const entry of readJsonl(file)) {
    if (!entry.ok) {
      issues.push(entry.issue);
      continue;
    }
    const r = Preference.safeParse(entry.value);
    if (!r.success) {
      issues.push(...zodIssues(r.error, { file, line: entry.line }));
      continue;
    }
    const p = r.data;
    const image = firstImage(p.media);
    if (image === 'multi') {
      skip('more than one image');
      continue;
    }
    const negRef = 'rejectedMedia' in p && p.rejectedMedia ? firstImage(p.rejectedMedia) : null;
    if (negRef === 'multi') {
      skip('more than one rejected image');
      continue;
    }
    const base = { id: p.id, prompt: promptText(p.prompt, false), image: null, imageNeg: null };
    let ex: PrefExample;
    if (p.kind === 'pair')
      ex = {
        ...base,
        kind: 'pair',
        chosen: p.chosen.text,
        rejected: p.rejected.text,
        chosenReward: p.chosenReward,
        rejectedReward: p.rejectedReward,
        margin: p.margin,
      };
    else if (p.kind === 'image_pair') ex = { ...base, kind: 'image_pair', chosen: p.response.text, rejected: null };
    else if (p.kind === 'segments') {
      let spans: ReturnType<typeof correctedSpans>;
      try {
        spans = correctedSpans(p.rejected.text, p.segments);
      } catch (e) {
        issues.push({ code: 'bad_segment', file, line: entry.line, path: 'segments', message: (e as Error).message });
        continue;
      }
      ex = {
        ...base,
        kind: 'segments',
        chosen: p.chosen.text,
        rejected: p.rejected.text,
        chosenSpans: spans.chosen,
        rejectedSpans: spans.rejected,
      };
    } else if (p.kind === 'binary')
      ex = {
        ...base,
        kind: 'binary',
        chosen: p.label ? p.response.text : null,
        rejected: p.label ? null : p.response.text,
      };
    else {
      skip(`kind ${p.kind}`);
      continue;
    }
    if (opts.limit === undefined || pending.length < opts.limit)
      pending.push({ ex, image, neg: negRef, line: entry.line });
  }
  if (issues.length) throw new RecordValidationError(issues);
  const cache = new Map<string, Promise<Uint8Array>>();
  const load = (rel: string, line: number) => {
    let p = cache.get(rel);
    if (!p) {
      p = loadImageRgb(path.resolve(root, rel), opts.imageSize).catch((e: Error) => {
        throw new MmalignError('MMALIGN_MISSING_MEDIA', `${file}:${line}: ${rel}: ${e.message}`);
      });
      cache.set(rel, p);
    }
    return p;
  };
  for (let i = 0; i < pending.length; i += 32)
    await Promise.all(
      pending.slice(i, i + 32).map(async (x) => {
        if (x.image) x.ex.image = await load(x.image, x.line);
        if (x.neg) x.ex.imageNeg = await load(x.neg, x.line);
      }),
    );
  return { file, sha256: await fileSha256(file), examples: pending.map((x) => x.ex), skipped };
}

async function resolvePreferencesFile(dirOrFile: string): Promise<{ file: string; root: string }> {
  const { stat } = await import('node:fs/promises');
  const s = await stat(dirOrFile).catch(() => undefined);
  if (s?.isDirectory()) {
    const file = path.join(dirOrFile, 'preferences.jsonl');
    if (!(await stat(file).catch(() => undefined)))
      throw new MmalignError('MMALIGN_NO_DATA', `${dirOrFile} has no preferences.jsonl`, {
        hint: 'pass a folder with preferences.jsonl + media/ or a JSONL file of Preference records',
      });
    return { file, root: dirOrFile };
  }
  return resolveSamplesFile(dirOrFile);
}

/**
 * I_neg when the record has none: `noise` blends the image with seeded Gaussian noise (diffusion-style, as CHiP and
 * mDPO's noised images), `blank` replaces it with mid-gray. Deterministic per (example id, seed).
 */
export type Corruption = 'noise' | 'blank';

/**
 * A uniform number in [0, 1) from an id, for held-out splits. FNV-1a alone (`hashString`) barely mixes the last
 * characters into the high bits, so ids that differ only at the end ("…-caption-17") cluster: 3 of 400 fell under
 * 0.1. The murmur3 finaliser spreads them.
 */
export function unitHash(id: string, seed: number): number {
  let h = hashString(id, seed >>> 0);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

export function corruptImage(image: Uint8Array, kind: Corruption, seed: number, strength = 0.8): Uint8Array {
  if (kind === 'blank') return new Uint8Array(image.length).fill(128);
  const rng = new Rng(seed);
  const out = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i++) {
    const v = (1 - strength) * (image[i] as number) + strength * (128 + 64 * rng.normal());
    out[i] = Math.max(0, Math.min(255, Math.round(v)));
  }
  return out;
}

/**
 * Per-answer-token weights for RLHF-V dense DPO: γ on tokens that overlap a corrected span, 1 elsewhere, plus a
 * final 1 for <eos>. Tokens are the word tokenizer's (runs of letters/digits, or one other non-space character).
 */
export function spanTokenWeights(text: string, spans: readonly [number, number][], gamma: number): number[] {
  const weights: number[] = [];
  for (const m of text.matchAll(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)) {
    const a = m.index;
    const b = a + m[0].length;
    weights.push(spans.some(([s, e]) => a < e && s < b) ? gamma : 1);
  }
  weights.push(1);
  return weights;
}
