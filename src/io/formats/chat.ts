import type { Message } from '../../schema/index.ts';
import { countPlaceholders, type FlatMessage, kindCounter, type MediaKind, parsePlaceholders } from './placeholders.ts';
import { RowError } from './types.ts';

/**
 * Shared by LLaMA-Factory and ms-swift: flat-text turns with `<image>`-style placeholders and media in separate
 * `images` / `videos` / `audios` lists. Checks the placeholder counts against the list lengths (the trainers' most
 * common crash) and turns placeholders back into content parts.
 */
export function splitByKind(order: readonly number[], kinds: readonly MediaKind[]): Record<MediaKind, number[]> {
  const out: Record<MediaKind, number[]> = { image: [], video: [], audio: [] };
  for (const i of order) out[kinds[i]].push(i);
  return out;
}

export function checkCounts(
  texts: readonly string[],
  lists: Record<MediaKind, unknown[]>,
  fields: Partial<Record<MediaKind, string>> = {},
): void {
  const n = countPlaceholders(texts);
  for (const kind of ['image', 'video', 'audio'] as const) {
    if (n[kind] !== lists[kind].length)
      throw new RowError(
        fields[kind] ?? `${kind}s`,
        `${lists[kind].length} ${kind}s but ${n[kind]} <${kind}> placeholder(s) in the text; they must match`,
        'media_count',
      );
  }
}

/** Flat turns back into our messages, media indices laid out as [...images, ...videos, ...audios]. */
export function unflatten(turns: readonly FlatMessage[], lists: Record<MediaKind, unknown[]>, sep = ''): Message[] {
  const next = kindCounter({ image: lists.image.length, video: lists.video.length, audio: lists.audio.length });
  return turns.map((t) => ({ role: t.role, content: parsePlaceholders(t.text, next, sep) }));
}

/** Throws when a turn list is not [user, assistant, user, ..., user] (what a preference prompt must be). */
export function checkAlternation(turns: readonly FlatMessage[], target: string): void {
  turns.forEach((t, i) => {
    const want = i % 2 === 0 ? 'user' : 'assistant';
    if (t.role !== want)
      throw new RowError(
        `prompt.${i}.role`,
        `${target} needs turns alternating user/assistant and starting with user; turn ${i} is ${t.role}`,
        'turn_order',
      );
  });
  if (turns.length % 2 === 0)
    throw new RowError('prompt', `${target} needs the prompt to end with a user turn`, 'turn_order');
}

export function hasPlaceholder(text: string): boolean {
  return /<(image|video|audio)>/.test(text);
}
