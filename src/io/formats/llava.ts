import type { MediaRef, Sample } from '../../schema/index.ts';
import { checkCounts, unflatten } from './chat.ts';
import { type FlatMessage, flattenMessages } from './placeholders.ts';
import { type FormatSpec, type Row, RowError } from './types.ts';
import { arr, importMedia, obj, str } from './util.ts';

/**
 * LLaVA instruct data (llava_v1_5_mix665k.json): `id`, `image` (a path; a list for multi-image sets such as
 * LLaVA-OneVision) and `conversations` [{from: human|gpt, value}] with `<image>\n` in the first human turn. It holds
 * SFT samples: the last gpt turn is our Sample.reference, the turns before it the prompt messages.
 */
const FROM = { user: 'human', assistant: 'gpt' } as const;
const SEP = '\n';

export const llava: FormatSpec<'sample'> = {
  description:
    'LLaVA instruct (SFT) rows: id, image, conversations [{from: human|gpt, value}] with <image>\\n placeholders',
  holds: 'sample',
  defaultExt: '.json',
  writes: ['.json', '.jsonl'],
  async toRow(s, ctx) {
    if (s.media.some((m) => m.kind !== 'image')) return { drop: 'video/audio media (LLaVA rows hold images)' };
    if (s.reference === undefined)
      return { drop: 'sample without a reference answer (LLaVA rows are SFT conversations)' };
    let flat: { messages: FlatMessage[]; order: number[] };
    try {
      flat = flattenMessages(s.messages, s.media, SEP);
    } catch (e) {
      if (e instanceof RowError) return { drop: `${e.code}: ${e.message}` };
      throw e;
    }
    if (flat.messages.some((m) => m.role === 'system'))
      return { drop: 'system message (LLaVA conversations have none)' };
    if (flat.messages[flat.messages.length - 1]?.role !== 'user')
      return { drop: 'prompt does not end with a user turn' };
    const images: string[] = [];
    for (const i of flat.order) images.push(await ctx.media(s.media[i], `media.${i}`));
    const row: Row = {
      id: s.id,
      ...(images.length === 1 ? { image: images[0] } : images.length > 1 ? { image: images } : {}),
      conversations: [
        ...flat.messages.map((m) => ({ from: FROM[m.role as 'user' | 'assistant'], value: m.text })),
        { from: 'gpt', value: s.reference },
      ],
    };
    const lost = ['provenance'];
    for (const k of ['truth', 'task', 'split', 'tags'] as const) if (s[k] !== undefined) lost.push(k);
    return { row, lost };
  },
  async fromRow(row, ctx) {
    const r = obj(row, '(row)');
    const turns: FlatMessage[] = arr(r.conversations, 'conversations').map((m, i) => {
      const mo = obj(m, `conversations.${i}`);
      const from = str(mo.from, `conversations.${i}.from`);
      const role = from === 'human' ? 'user' : from === 'gpt' ? 'assistant' : undefined;
      if (!role) throw new RowError(`conversations.${i}.from`, `expected human or gpt, got "${from}"`);
      return { role, text: str(mo.value, `conversations.${i}.value`) };
    });
    const many = Array.isArray(r.image);
    const paths = r.image == null ? [] : many ? arr(r.image, 'image') : [r.image];
    checkCounts(
      turns.map((t) => t.text),
      { image: paths, video: [], audio: [] },
      { image: 'image' },
    );
    const media: MediaRef[] = [];
    for (const [i, p] of paths.entries()) media.push(await importMedia(p, many ? `image.${i}` : 'image', ctx));
    const last = turns[turns.length - 1];
    const hasAnswer = last?.role === 'assistant';
    const sample: Sample = {
      id: r.id == null ? ctx.fallbackId() : String(r.id),
      messages: unflatten(hasAnswer ? turns.slice(0, -1) : turns, { image: paths, video: [], audio: [] }, SEP),
      media,
      ...(hasAnswer ? { reference: last.text } : {}),
      provenance: ctx.provenance(),
    };
    return sample;
  },
};
