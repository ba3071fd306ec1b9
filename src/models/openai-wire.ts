import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { MediaRef, Message, TokenLogprob } from '../schema/index.ts';

/**
 * The wire format of `/v1/chat/completions` (OpenAI, plus vLLM's `prompt_logprobs` extension) and the conversion
 * between it and mmalign's records. Shared by the client (`OpenAIBackend`) and `mmalign serve`.
 */

export type WirePart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };
export interface WireMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | WirePart[];
}

const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
};

export class MediaUnsupportedError extends Error {
  readonly code = 'unsupported_media';
}

/** Bounded cache of data: URLs, so n models × the same image read the file once. */
export class DataUrlCache {
  readonly #map = new Map<string, Promise<string>>();
  constructor(readonly max = 256) {}
  get(file: string): Promise<string> {
    const hit = this.#map.get(file);
    if (hit) {
      this.#map.delete(file);
      this.#map.set(file, hit);
      return hit;
    }
    const p = readFile(file).then((buf) => {
      const mime = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
      return `data:${mime};base64,${buf.toString('base64')}`;
    });
    p.catch(() => this.#map.delete(file));
    this.#map.set(file, p);
    if (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value as string);
    return p;
  }
}

/** The URL an image ref is sent as: http(s) passes through; a relative path becomes a data: URL. */
async function imageUrl(ref: MediaRef, mediaRoot: string, cache: DataUrlCache): Promise<string[]> {
  if (ref.kind === 'image') {
    if (/^(https?|data):/i.test(ref.path)) return [ref.path];
    return [await cache.get(path.resolve(mediaRoot, ref.path))];
  }
  if (ref.kind === 'video' && ref.frames?.length) {
    return Promise.all(ref.frames.map(async (f) => (await imageUrl(f, mediaRoot, cache))[0]));
  }
  throw new MediaUnsupportedError(
    `${ref.kind} input cannot be sent to a chat-completions endpoint${ref.kind === 'video' ? ' (give the video as frames)' : ''}`,
  );
}

/**
 * Records → wire messages. Media parts point into `media` by index; `media: null` drops every visual part
 * (the "no image" condition of logprob scoring).
 */
export async function toWireMessages(
  messages: readonly Message[],
  media: readonly MediaRef[] | null,
  mediaRoot: string,
  cache: DataUrlCache,
): Promise<WireMessage[]> {
  const out: WireMessage[] = [];
  for (const m of messages) {
    if (typeof m.content === 'string') {
      out.push({ role: m.role, content: m.content });
      continue;
    }
    const parts: WirePart[] = [];
    for (const p of m.content) {
      if (p.type === 'text') parts.push({ type: 'text', text: p.text });
      else if (media !== null) {
        const ref = media[p.media];
        if (!ref)
          throw new MediaUnsupportedError(`message part points at media #${p.media}, but there are ${media.length}`);
        for (const url of await imageUrl(ref, mediaRoot, cache)) parts.push({ type: 'image_url', image_url: { url } });
      }
    }
    out.push({ role: m.role, content: parts });
  }
  return out;
}

const WireLogprob = z.looseObject({ token: z.string(), logprob: z.number().nullable() });
const PromptLogprobEntry = z.looseObject({
  logprob: z.number().nullable(),
  rank: z.number().nullable().optional(),
  decoded_token: z.string().nullable().optional(),
});

export const ChatCompletionResponse = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        index: z.number().int().optional(),
        message: z.looseObject({ content: z.string().nullable().optional() }),
        finish_reason: z.string().nullable().optional(),
        logprobs: z
          .looseObject({ content: z.array(WireLogprob).nullable().optional() })
          .nullable()
          .optional(),
      }),
    )
    .min(1),
  usage: z
    .looseObject({ prompt_tokens: z.number().optional(), completion_tokens: z.number().optional() })
    .nullable()
    .optional(),
  /** vLLM: one entry per prompt token, `null` for the first; each maps token id → its log-prob */
  prompt_logprobs: z.array(z.record(z.string(), PromptLogprobEntry).nullable()).nullable().optional(),
  /** vLLM ≥ 0.10 with `return_token_ids` */
  prompt_token_ids: z.array(z.number()).nullable().optional(),
  /** mmalign serve: how many trailing prompt_logprobs entries belong to the final assistant message */
  mmalign_scored_tokens: z.number().int().nonnegative().optional(),
});
export type ChatCompletionResponse = z.infer<typeof ChatCompletionResponse>;

export const PROMPT_LOGPROB_FLOOR = -9999;

/**
 * Pick the log-probs of the final assistant message out of a vLLM-style `prompt_logprobs` list.
 * The message is the tail of the prompt (sent with `continue_final_message`, so no end-of-turn tokens follow).
 * Its length is `mmalign_scored_tokens` when the server says so; otherwise we walk back from the end, joining
 * decoded tokens, until they cover the message text (whitespace-insensitive, since tokenizers differ on spaces).
 */
export function responseLogprobs(body: ChatCompletionResponse, response: string): TokenLogprob[] {
  const list = body.prompt_logprobs;
  if (!list) throw new Error('the server returned no prompt_logprobs');
  const entries: TokenLogprob[] = [];
  const pick = (i: number): TokenLogprob => {
    const e = list[i];
    if (!e) throw new Error(`prompt_logprobs[${i}] is null inside the response span`);
    const keys = Object.keys(e);
    let key = keys[0];
    if (keys.length > 1) {
      // with top-k alternatives the prompt token is not identifiable by order (JSON numeric keys get re-sorted)
      const id = body.prompt_token_ids?.[i];
      if (id === undefined || !(String(id) in e))
        throw new Error(
          `prompt_logprobs[${i}] holds ${keys.length} candidates and no prompt_token_ids; request prompt_logprobs=0`,
        );
      key = String(id);
    }
    const v = e[key];
    return { token: v.decoded_token ?? key, logprob: v.logprob ?? PROMPT_LOGPROB_FLOOR };
  };
  if (body.mmalign_scored_tokens !== undefined) {
    const k = body.mmalign_scored_tokens;
    if (k > list.length) throw new Error(`mmalign_scored_tokens=${k} exceeds ${list.length} prompt_logprobs entries`);
    for (let i = list.length - k; i < list.length; i++) entries.push(pick(i));
    return entries;
  }
  const target = response.replace(/\s+/g, '');
  if (target.length === 0) return [];
  let joined = '';
  for (let i = list.length - 1; i >= 0; i--) {
    const t = pick(i);
    entries.unshift(t);
    joined = t.token.replace(/\s+/g, '') + joined;
    if (joined.length >= target.length) {
      if (!joined.endsWith(target))
        throw new Error(
          `the trailing prompt tokens ${JSON.stringify(joined.slice(-80))} do not spell the response ${JSON.stringify(target.slice(-80))}`,
        );
      return entries;
    }
  }
  throw new Error('prompt_logprobs are shorter than the response');
}
