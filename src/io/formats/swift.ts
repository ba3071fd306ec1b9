import type { MediaRef, Preference } from '../../schema/index.ts';
import { checkCounts, hasPlaceholder, splitByKind, unflatten } from './chat.ts';
import { answerExtras, asPair } from './pairs.ts';
import { type FlatMessage, flattenMessages, type MediaKind } from './placeholders.ts';
import { type FormatSpec, type Row, RowError, type ToRowResult } from './types.ts';
import { arr, importMedia, obj, str } from './util.ts';

/**
 * ms-swift RLHF rows: `messages` (OpenAI-style, content strings with `<image>` placeholders) whose last assistant turn
 * is the chosen answer; `rejected_response` the rejected one; `images` / `videos` / `audios` paths;
 * `rejected_images` the image-contrastive negatives (mDPO / Image-DPO: same response, other images); `label` for KTO
 * rows and `margin` for reward-model rows.
 */
const NOT_HELD = ['id', 'sampleId', 'provenance'];

function mediaPaths(v: unknown, field: string): unknown[] {
  return v == null ? [] : arr(v, field);
}

export const swift: FormatSpec<'preference'> = {
  description:
    'ms-swift RLHF data: messages (chosen = last assistant turn), rejected_response, images[], rejected_images[], label (KTO), margin',
  holds: 'preference',
  defaultExt: '.jsonl',
  writes: ['.jsonl', '.json'],
  async toRow(p, ctx): Promise<ToRowResult> {
    let prompt = p.prompt;
    let media = p.media;
    let chosenText: string;
    let extra: Row = {};
    let rejectedMedia: MediaRef[] | undefined;
    const lost = [...NOT_HELD];
    if (p.kind === 'image_pair') {
      chosenText = p.response.text;
      rejectedMedia = p.rejectedMedia;
      lost.push(...answerExtras(p.response, 'response'));
      if (p.corruption !== undefined) lost.push('corruption');
    } else if (p.kind === 'binary') {
      chosenText = p.response.text;
      extra = { label: p.label };
      lost.push(...answerExtras(p.response, 'response'));
    } else {
      const pair = asPair(p, 'ms-swift', ctx.options);
      if ('drop' in pair) return pair;
      ({ prompt, media } = pair);
      chosenText = pair.chosen.text;
      rejectedMedia = pair.rejectedMedia;
      extra = { rejected_response: pair.rejected.text, ...(pair.margin !== undefined ? { margin: pair.margin } : {}) };
      if (hasPlaceholder(pair.rejected.text))
        return { drop: 'answer text contains a literal <image>/<video>/<audio> token' };
      lost.push(
        ...pair.lost,
        ...answerExtras(pair.chosen, 'chosen'),
        ...answerExtras(pair.rejected, 'rejected'),
        ...(['chosenReward', 'rejectedReward'] as const).filter((k) => pair[k] !== undefined),
      );
    }
    if (hasPlaceholder(chosenText)) return { drop: 'answer text contains a literal <image>/<video>/<audio> token' };
    let flat: { messages: FlatMessage[]; order: number[] };
    try {
      flat = flattenMessages(prompt, media);
    } catch (e) {
      if (e instanceof RowError) return { drop: `${e.code}: ${e.message}` };
      throw e;
    }
    if (flat.messages[flat.messages.length - 1]?.role !== 'user')
      return { drop: 'prompt does not end with a user turn (ms-swift reads the last assistant turn as the answer)' };
    const byKind = splitByKind(
      flat.order,
      media.map((m) => m.kind),
    );
    const lists: Record<MediaKind, string[]> = { image: [], video: [], audio: [] };
    for (const kind of ['image', 'video', 'audio'] as const)
      for (const i of byKind[kind]) lists[kind].push(await ctx.media(media[i], `media.${i}`));
    const row: Row = {
      messages: [
        ...flat.messages.map((m) => ({ role: m.role, content: m.text })),
        { role: 'assistant', content: chosenText },
      ],
      ...extra,
      images: lists.image,
      ...(lists.video.length ? { videos: lists.video } : {}),
      ...(lists.audio.length ? { audios: lists.audio } : {}),
    };
    if (rejectedMedia?.length) {
      if (rejectedMedia.some((m) => m.kind !== 'image')) return { drop: 'rejectedMedia that are not images' };
      if (rejectedMedia.length !== lists.image.length)
        return { drop: `rejectedMedia count differs from the image count (ms-swift pairs them by position)` };
      const rej: string[] = [];
      for (const [i, m] of rejectedMedia.entries()) rej.push(await ctx.media(m, `rejectedMedia.${i}`));
      row.rejected_images = rej;
    }
    return { row, lost };
  },
  async fromRow(row, ctx) {
    const r = obj(row, '(row)');
    const turns: FlatMessage[] = arr(r.messages, 'messages').map((m, i) => {
      const mo = obj(m, `messages.${i}`);
      const role = str(mo.role, `messages.${i}.role`);
      if (role !== 'system' && role !== 'user' && role !== 'assistant')
        throw new RowError(`messages.${i}.role`, `unsupported role "${role}"`);
      return { role, text: str(mo.content, `messages.${i}.content`) };
    });
    const last = turns[turns.length - 1];
    if (last?.role !== 'assistant') throw new RowError('messages', 'the last message must be the assistant answer');
    const lists: Record<MediaKind, unknown[]> = {
      image: mediaPaths(r.images, 'images'),
      video: mediaPaths(r.videos, 'videos'),
      audio: mediaPaths(r.audios, 'audios'),
    };
    const rejectedText = r.rejected_response == null ? undefined : str(r.rejected_response, 'rejected_response');
    checkCounts([...turns.map((t) => t.text), ...(rejectedText ? [rejectedText] : [])], lists);
    const media: MediaRef[] = [];
    for (const kind of ['image', 'video', 'audio'] as const)
      for (const [i, p] of lists[kind].entries()) media.push(await importMedia(p, `${kind}s.${i}`, ctx, kind));
    const rejPaths = mediaPaths(r.rejected_images, 'rejected_images');
    const rejectedMedia: MediaRef[] = [];
    for (const [i, p] of rejPaths.entries()) rejectedMedia.push(await importMedia(p, `rejected_images.${i}`, ctx));
    const prompt = unflatten(turns.slice(0, -1), lists);
    const id = ctx.fallbackId();
    const base = { id, sampleId: id, prompt, media, provenance: ctx.provenance() as Preference['provenance'] };
    if (rejectedText !== undefined) {
      const margin = r.margin == null ? undefined : Number(r.margin);
      return {
        kind: 'pair',
        ...base,
        chosen: { text: last.text },
        rejected: { text: rejectedText },
        ...(margin !== undefined ? { margin } : {}),
        ...(rejectedMedia.length ? { rejectedMedia } : {}),
      };
    }
    if (rejectedMedia.length) return { kind: 'image_pair', ...base, response: { text: last.text }, rejectedMedia };
    if (r.label !== undefined) {
      const label = r.label === true || r.label === 1 ? true : r.label === false || r.label === 0 ? false : undefined;
      if (label === undefined)
        throw new RowError('label', `expected true/false or 1/0, got ${JSON.stringify(r.label)}`);
      return { kind: 'binary', ...base, response: { text: last.text }, label };
    }
    throw new RowError('rejected_response', 'a preference row needs rejected_response, rejected_images or label');
  },
};
