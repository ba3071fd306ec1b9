import type { ContentPart, MediaRef, Message } from '../../schema/index.ts';
import { RowError } from './types.ts';

/**
 * Media placeholders (`<image>`, `<video>`, `<audio>`) in flat-text chat formats (LLaMA-Factory, ms-swift, LLaVA).
 * Trainers crash when the number of placeholders differs from the number of media, so both directions count them.
 */
export type MediaKind = MediaRef['kind'];
const TOKEN = /<(image|video|audio)>/g;

export interface FlatMessage {
  role: Message['role'];
  text: string;
}

/**
 * Our messages as flat text with placeholders, and the record's media indices in placeholder order. Media that no
 * part points at get a placeholder at the start of the first user turn (so the counts match).
 * `sep` is put after each placeholder that is followed by text (LLaVA writes `<image>\n`).
 */
export function flattenMessages(
  messages: readonly Message[],
  media: readonly MediaRef[],
  sep = '',
): { messages: FlatMessage[]; order: number[] } {
  const order: number[] = [];
  const out = messages.map((m, mi): FlatMessage => {
    if (typeof m.content === 'string') {
      if (m.content.match(TOKEN)) throw literalToken(`prompt.${mi}.content`);
      return { role: m.role, text: m.content };
    }
    let text = '';
    const parts = m.content;
    parts.forEach((p, pi) => {
      if (p.type === 'text') {
        if (p.text.match(TOKEN)) throw literalToken(`prompt.${mi}.content.${pi}.text`);
        text += p.text;
        return;
      }
      if (media[p.media]?.kind !== p.type)
        throw new RowError(
          `prompt.${mi}.content.${pi}`,
          `${p.type} part points at media #${p.media}, which is not a ${p.type}`,
        );
      order.push(p.media);
      const next = parts[pi + 1];
      text += `<${p.type}>${next?.type === 'text' && next.text !== '' ? sep : ''}`;
    });
    return { role: m.role, text };
  });
  const missing = media.map((_, i) => i).filter((i) => !order.includes(i));
  if (missing.length) {
    const first = out.findIndex((m) => m.role === 'user');
    const target = out[first === -1 ? 0 : first];
    const head = missing.map((i) => `<${media[i].kind}>`).join('');
    target.text = `${head}${target.text && sep ? sep : ''}${target.text}`;
    order.unshift(...missing);
  }
  return { messages: out, order };
}

function literalToken(path: string): RowError {
  return new RowError(
    path,
    'text contains a literal <image>/<video>/<audio> token, which the target would count as a media placeholder',
    'literal_placeholder',
  );
}

/**
 * Parse flat text into content parts. `next(kind)` returns the media index of the next placeholder of that kind (in
 * placeholder order). One `sep` right after a placeholder is removed. Text without placeholders stays a plain string.
 */
export function parsePlaceholders(text: string, next: (kind: MediaKind) => number, sep = ''): string | ContentPart[] {
  if (!text.match(TOKEN)) return text;
  const parts: ContentPart[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    const before = text.slice(last, m.index);
    if (before) parts.push({ type: 'text', text: before });
    const kind = m[1] as MediaKind;
    parts.push({ type: kind, media: next(kind) });
    last = m.index + m[0].length;
    if (sep && text.startsWith(sep, last)) last += sep.length;
  }
  const tail = text.slice(last);
  if (tail) parts.push({ type: 'text', text: tail });
  return parts;
}

/** Count placeholders of each kind in a list of texts. */
export function countPlaceholders(texts: readonly string[]): Record<MediaKind, number> {
  const n: Record<MediaKind, number> = { image: 0, video: 0, audio: 0 };
  for (const t of texts) for (const m of t.matchAll(TOKEN)) n[m[1] as MediaKind]++;
  return n;
}

/**
 * A counter handing out media indices per kind, for media laid out as [...images, ...videos, ...audios] (the layout
 * LLaMA-Factory and ms-swift rows give after reading).
 */
export function kindCounter(counts: Record<MediaKind, number>): (kind: MediaKind) => number {
  const offset: Record<MediaKind, number> = { image: 0, video: counts.image, audio: counts.image + counts.video };
  const used: Record<MediaKind, number> = { image: 0, video: 0, audio: 0 };
  return (kind) => offset[kind] + used[kind]++;
}
