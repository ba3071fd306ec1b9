import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { detectImage, sha256Hex } from '../io/media.ts';
import type { ContentPart, MediaRef, Message } from '../schema/index.ts';
import { ENGINES, type EngineName, type MediaKind } from './engines.ts';
import { type ImageTokenRule, imageTokens } from './image-tokens.ts';
import type { TrainData } from './objective-map.ts';
import { DROP_REASONS, type Drop, type DropReason, type Unit } from './units.ts';

/**
 * Pre-flight: every check a trainer would otherwise fail on hours into a GPU job, run before anything is written.
 * Media placeholders against media count (the "image features and image tokens do not match" family), missing or
 * undecodable files, empty or identical answers, and rows that truncation to --max-length would cut into.
 * Each unit comes out ready (with the fixes applied, listed) or dropped with a reason.
 */

/** A media file as it will be exported: where it is now, its content hash, and (images) its size. */
export interface ReadyMedia {
  ref: MediaRef;
  kind: MediaKind;
  abs: string;
  sha256: string;
  ext: string;
  width?: number;
  height?: number;
}

/**
 * A unit whose prompt is all parts, with media parts numbered 0..n-1 in reading order, and `media` the files in that
 * order (a file referenced twice appears twice: engines pair the k-th placeholder with the k-th file).
 */
type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type ReadyUnit = DistOmit<Unit, 'media' | 'prompt' | 'rejectedMedia'> & {
  prompt: Message[];
  media: ReadyMedia[];
  rejectedMedia?: ReadyMedia[];
  fixes: string[];
};

export interface LengthCheck {
  maxLength: number;
  countTokens: (text: string) => number;
  /** The per-model image-token rule; called only when a row has an image (it may throw for an unknown model). */
  imageRule: () => ImageTokenRule;
}

export interface PreflightOptions {
  engine: EngineName;
  data: TrainData;
  /** Media paths in records are relative to this folder. */
  mediaRoot: string;
  length?: LengthCheck;
  /** Called after each unit (media decoding makes pre-flight the slow part of a big export). */
  onProgress?: (done: number, total: number) => void;
}

export interface PreflightResult {
  ready: ReadyUnit[];
  drops: Drop[];
  warnings: string[];
}

const PLACEHOLDER = /<(image|video|audio)>/g;
const KINDS: readonly MediaKind[] = ['image', 'video', 'audio'];

function fail(u: { id: string; source: string; line: number }, reason: DropReason, detail: string): Drop {
  return { id: u.id, source: u.source, line: u.line, reason, detail: `${DROP_REASONS[reason]}: ${detail}` };
}

type Aligned = { prompt: Message[]; order: number[]; fixes: string[] } | { drop: DropReason; detail: string };

/**
 * Put the prompt in canonical form: parts only, every media part numbered by reading order. Literal placeholders in
 * text are parsed into parts when their count matches the media (fixed); a prompt with media but no placeholder at
 * all gets them prepended to its first user turn (fixed); anything ambiguous is dropped.
 */
export function alignPlaceholders(prompt: readonly Message[], media: readonly MediaRef[]): Aligned {
  const fixes: string[] = [];
  const partsOf = (m: Message): ContentPart[] =>
    typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
  let explicit = 0;
  const literal: Record<MediaKind, number> = { image: 0, video: 0, audio: 0 };
  for (const m of prompt)
    for (const p of partsOf(m)) {
      if (p.type === 'text') for (const x of p.text.matchAll(PLACEHOLDER)) literal[x[1] as MediaKind]++;
      else explicit++;
    }
  const literalTotal = literal.image + literal.video + literal.audio;
  const byKind = (k: MediaKind) => media.flatMap((m, i) => (m.kind === k ? [i] : []));

  let messages: Message[];
  if (literalTotal > 0) {
    if (explicit > 0)
      return { drop: 'placeholder_count_mismatch', detail: 'the prompt mixes literal <image> text with media parts' };
    for (const k of KINDS)
      if (literal[k] !== byKind(k).length)
        return {
          drop: 'placeholder_count_mismatch',
          detail: `${literal[k]} <${k}> placeholder(s) in the text but ${byKind(k).length} ${k} file(s)`,
        };
    const next: Record<MediaKind, number> = { image: 0, video: 0, audio: 0 };
    messages = prompt.map((m) => ({
      role: m.role,
      content: partsOf(m).flatMap((p): ContentPart[] => {
        if (p.type !== 'text') return [p];
        const out: ContentPart[] = [];
        let at = 0;
        for (const x of p.text.matchAll(PLACEHOLDER)) {
          const k = x[1] as MediaKind;
          if (x.index > at) out.push({ type: 'text', text: p.text.slice(at, x.index) });
          out.push({ type: k, media: byKind(k)[next[k]++] });
          at = x.index + x[0].length;
        }
        if (at < p.text.length) out.push({ type: 'text', text: p.text.slice(at) });
        return out;
      }),
    }));
    fixes.push(`parsed ${literalTotal} literal placeholder(s) into media parts`);
  } else {
    messages = prompt.map((m) => ({ role: m.role, content: partsOf(m) }));
  }

  const referenced = new Set<number>();
  for (const m of messages)
    for (const p of m.content as ContentPart[]) {
      if (p.type === 'text') continue;
      if (p.media >= media.length)
        return {
          drop: 'media_index_out_of_range',
          detail: `a ${p.type} part points at media #${p.media}, the record has ${media.length}`,
        };
      if (media[p.media].kind !== p.type)
        return {
          drop: 'placeholder_kind_mismatch',
          detail: `a ${p.type} part points at media #${p.media}, which is a ${media[p.media].kind}`,
        };
      referenced.add(p.media);
    }
  if (referenced.size === 0 && media.length > 0) {
    const first = messages.findIndex((m) => m.role === 'user');
    const at = first === -1 ? 0 : first;
    const added: ContentPart[] = media.map((m, i) => ({ type: m.kind, media: i }));
    messages[at] = { role: messages[at].role, content: [...added, ...(messages[at].content as ContentPart[])] };
    for (let i = 0; i < media.length; i++) referenced.add(i);
    fixes.push(`added ${media.length} missing placeholder(s) at the start of the first user turn`);
  } else if (referenced.size < media.length) {
    const missing = media.map((_, i) => i).filter((i) => !referenced.has(i));
    return { drop: 'unreferenced_media', detail: `media #${missing.join(', #')} not referenced by any prompt part` };
  }

  // Renumber media parts by reading order; `order[k]` is the record's media index of the k-th placeholder.
  const order: number[] = [];
  const renumbered = messages.map((m) => ({
    role: m.role,
    content: (m.content as ContentPart[]).map((p): ContentPart => {
      if (p.type === 'text') return p;
      order.push(p.media);
      return { type: p.type, media: order.length - 1 };
    }),
  }));
  if (order.some((v, k) => v !== k) && order.length === media.length && new Set(order).size === order.length)
    fixes.push('reordered media to placeholder order');
  return { prompt: renumbered, order, fixes };
}

const sameFile = (a: MediaRef, b: MediaRef) =>
  a.kind === b.kind && ((a.sha256 && a.sha256 === b.sha256) || (a.path !== undefined && a.path === b.path));

/** Structural checks that need no file access. Returns a drop or the aligned prompt. */
function checkStructure(
  u: Unit,
  opts: PreflightOptions,
): Drop | { prompt: Message[]; order: number[]; rejected?: MediaRef[]; fixes: string[] } {
  const last = u.prompt[u.prompt.length - 1];
  if (last.role !== 'user') return fail(u, 'prompt_not_user_last', `the last prompt turn is "${last.role}"`);
  const turns = u.prompt[0].role === 'system' ? u.prompt.slice(1) : u.prompt;
  const bad = turns.findIndex((m, i) => m.role !== (i % 2 === 0 ? 'user' : 'assistant'));
  if (bad !== -1)
    return fail(
      u,
      'prompt_turns_not_alternating',
      `turn ${bad + (turns === u.prompt ? 0 : 1)} is "${turns[bad].role}"`,
    );
  const answers = u.kind === 'pair' ? [u.chosen, u.rejected] : [u.completion];
  if (answers.some((a) => a.trim() === ''))
    return fail(
      u,
      'empty_answer',
      u.kind === 'pair' ? (u.chosen.trim() ? 'rejected is empty' : 'chosen is empty') : 'the answer is empty',
    );
  for (const a of answers) {
    const m = a.match(PLACEHOLDER);
    if (m) return fail(u, 'placeholder_in_answer', `found ${m[0]} in an answer`);
  }
  const aligned = alignPlaceholders(u.prompt, u.media);
  if ('drop' in aligned) return fail(u, aligned.drop, aligned.detail);

  const caps = ENGINES[opts.engine].media;
  for (const k of aligned.order.map((i) => u.media[i].kind))
    if (!caps[k])
      return fail(
        u,
        'media_kind_unsupported',
        opts.engine === 'openrlhf'
          ? `${opts.engine} reads text only; the row has ${k === 'video' ? 'a' : 'an'} ${k}`
          : `${opts.engine} has no ${k} input`,
      );

  let rejected: MediaRef[] | undefined;
  if (u.kind === 'pair' && u.rejectedMedia) {
    if (!caps.rejectedImages) return fail(u, 'image_pair_unsupported', `${opts.engine} has no rejected-image input`);
    const rm = u.rejectedMedia;
    if (rm.length !== u.media.length || rm.some((r, i) => r.kind !== u.media[i].kind))
      return fail(u, 'rejected_media_mismatch', `${rm.length} rejected media for ${u.media.length} prompt media`);
    rejected = aligned.order.map((i) => rm[i]);
    if (u.chosen.trim() === u.rejected.trim() && rm.every((r, i) => sameFile(r, u.media[i])))
      return fail(u, 'identical_answers', 'same answer and same images on both sides');
  } else if (u.kind === 'pair' && opts.data !== 'sft' && u.chosen.trim() === u.rejected.trim()) {
    return fail(u, 'identical_answers', `both answers are "${u.chosen.slice(0, 60)}"`);
  }
  return { prompt: aligned.prompt, order: aligned.order, rejected, fixes: aligned.fixes };
}

type Inspected = { ok: true; media: ReadyMedia } | { ok: false; reason: DropReason; detail: string };

/** Read one media file: exists, matches its sha256, and (images) decodes. Results are cached per path. */
async function inspect(ref: MediaRef, root: string, cache: Map<string, Promise<Inspected>>): Promise<Inspected> {
  if (ref.kind === 'video' && ref.path === undefined)
    return { ok: false, reason: 'media_kind_unsupported', detail: 'a frames-only video has no file to export' };
  const rel = ref.path as string;
  const abs = path.isAbsolute(rel) ? rel : path.join(root, rel);
  const key = `${abs}\u0000${ref.sha256 ?? ''}`;
  let hit = cache.get(key);
  if (!hit) {
    hit = (async (): Promise<Inspected> => {
      let bytes: Buffer;
      try {
        bytes = await readFile(abs);
      } catch {
        return { ok: false, reason: 'media_missing', detail: `${rel} (looked at ${abs})` };
      }
      const sha256 = sha256Hex(bytes);
      if (ref.sha256 && ref.sha256 !== sha256)
        return { ok: false, reason: 'media_unreadable', detail: `${rel}: sha256 ${sha256} ≠ record's ${ref.sha256}` };
      const ext = path.extname(rel).slice(1).toLowerCase() || 'bin';
      if (ref.kind !== 'image') return { ok: true, media: { ref, kind: ref.kind, abs, sha256, ext } };
      const info = detectImage(bytes);
      if (!info) return { ok: false, reason: 'media_unreadable', detail: `${rel}: not a png/jpeg/webp/gif image` };
      try {
        const { default: sharp } = await import('sharp');
        await sharp(bytes).raw().toBuffer();
      } catch (e) {
        return { ok: false, reason: 'media_unreadable', detail: `${rel}: cannot decode (${(e as Error).message})` };
      }
      const imgExt = info.format === 'jpeg' ? 'jpg' : info.format;
      return {
        ok: true,
        media: { ref, kind: 'image', abs, sha256, ext: imgExt, width: info.width, height: info.height },
      };
    })();
    cache.set(key, hit);
  }
  return hit;
}

function promptTextOnly(prompt: readonly Message[]): string {
  return prompt
    .map((m) => (m.content as ContentPart[]).map((p) => (p.type === 'text' ? p.text : '')).join(''))
    .join('\n');
}

/**
 * Would truncation to `maxLength` cut this row? Counts the prompt's text tokens plus the image tokens of the model,
 * then the longest answer. Chat-template tokens are not counted (they depend on the engine's template): leave
 * headroom. Returns a drop, or undefined when the row fits.
 */
export function lengthVerdict(u: ReadyUnit, check: LengthCheck): Drop | undefined {
  let image = 0;
  for (const m of u.media) {
    if (m.kind !== 'image') continue;
    const rule = check.imageRule();
    const n = imageTokens(rule, m.width && m.height ? { width: m.width, height: m.height } : undefined);
    if (n === undefined)
      return fail(u, 'image_too_small', `${m.ref.path} is ${m.width}x${m.height}; ${rule.source} refuses it`);
    image += n;
  }
  const promptTokens = check.countTokens(promptTextOnly(u.prompt));
  const answers = u.kind === 'pair' ? [u.chosen, u.rejected] : [u.completion];
  const answerTokens = Math.max(...answers.map((a) => check.countTokens(a)));
  const head = promptTokens + image;
  const detail = `${promptTokens} prompt + ${image} image + ${answerTokens} answer tokens vs --max-length ${check.maxLength}`;
  if (head > check.maxLength) return fail(u, 'prompt_too_long', detail);
  if (head + answerTokens > check.maxLength) return fail(u, 'too_long', detail);
  return undefined;
}

export async function preflight(units: readonly Unit[], opts: PreflightOptions): Promise<PreflightResult> {
  const ready: ReadyUnit[] = [];
  const drops: Drop[] = [];
  const warnings: string[] = [];
  const cache = new Map<string, Promise<Inspected>>();
  let warnedAv = false;
  for (const [i, u] of units.entries()) {
    opts.onProgress?.(i, units.length);
    const s = checkStructure(u, opts);
    if ('reason' in s) {
      drops.push(s);
      continue;
    }
    const files: ReadyMedia[] = [];
    let bad: Drop | undefined;
    for (const ref of [...s.order.map((i) => u.media[i]), ...(s.rejected ?? [])]) {
      const r = await inspect(ref, opts.mediaRoot, cache);
      if (!r.ok) {
        bad = fail(u, r.reason, r.detail);
        break;
      }
      files.push(r.media);
    }
    if (bad) {
      drops.push(bad);
      continue;
    }
    const n = s.order.length;
    const r = {
      ...u,
      prompt: s.prompt,
      media: files.slice(0, n),
      rejectedMedia: s.rejected ? files.slice(n) : undefined,
      fixes: s.fixes,
    } as ReadyUnit;
    if (!r.rejectedMedia) delete r.rejectedMedia;
    if (opts.length) {
      if (!warnedAv && r.media.some((m) => m.kind !== 'image')) {
        warnings.push('the length check counts no tokens for video/audio inputs');
        warnedAv = true;
      }
      const d = lengthVerdict(r, opts.length);
      if (d) {
        drops.push(d);
        continue;
      }
    }
    ready.push(r);
  }
  opts.onProgress?.(units.length, units.length);
  return { ready, drops, warnings };
}
