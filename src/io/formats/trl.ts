import type { Answer, ContentPart, MediaRef, Message, Preference } from '../../schema/index.ts';
import { answerExtras, asPair } from './pairs.ts';
import { type FormatSpec, type Row, RowError } from './types.ts';
import { arr, importMedia, obj, str } from './util.ts';

/**
 * TRL DPO, conversational vision form (e.g. HuggingFaceH4/rlaif-v_formatted): `prompt` is a list of messages whose
 * content holds `{"type":"image"}` / `{"type":"text","text":...}` parts, `chosen` / `rejected` are one assistant
 * message each, and `images` lists the image paths in placeholder order. The standard (string) form is read too.
 */
type TrlPart = { type: 'image' } | { type: 'text'; text: string };
type TrlMessage = { role: string; content: string | TrlPart[] };

const NOT_HELD = ['id', 'sampleId', 'provenance'];

export const trl: FormatSpec<'preference'> = {
  description:
    'TRL DPOTrainer vision dataset: prompt/chosen/rejected as chat messages with {"type":"image"} parts, images[]',
  holds: 'preference',
  defaultExt: '.jsonl',
  writes: ['.jsonl', '.json'],
  async toRow(p, ctx) {
    const pair = asPair(p, 'TRL', ctx.options);
    if ('drop' in pair) return pair;
    if (pair.rejectedMedia?.length) return { drop: 'pair with rejectedMedia (TRL has no rejected images)' };
    if (pair.media.some((m) => m.kind !== 'image'))
      return { drop: 'video/audio media (TRL DPO rows hold images only)' };
    const order: number[] = [];
    const prompt: TrlMessage[] = pair.prompt.map((m) => ({
      role: m.role,
      content:
        typeof m.content === 'string'
          ? m.content
          : m.content.map((part): TrlPart => {
              if (part.type === 'text') return { type: 'text', text: part.text };
              order.push(part.media);
              return { type: 'image' };
            }),
    }));
    const missing = pair.media.map((_, i) => i).filter((i) => !order.includes(i));
    if (missing.length) {
      // Images no part points at still need a placeholder, or TRL's processor sees more images than image tokens.
      const first = Math.max(
        0,
        prompt.findIndex((m) => m.role === 'user'),
      );
      const c = prompt[first].content;
      const head: TrlPart[] = missing.map(() => ({ type: 'image' }));
      prompt[first].content = [...head, ...(typeof c === 'string' ? [{ type: 'text', text: c } as TrlPart] : c)];
      order.unshift(...missing);
    }
    const images: string[] = [];
    for (const i of order) images.push(await ctx.media(pair.media[i], `media.${i}`));
    const reply = (a: Answer): TrlMessage[] => [{ role: 'assistant', content: [{ type: 'text', text: a.text }] }];
    const row: Row = { prompt, chosen: reply(pair.chosen), rejected: reply(pair.rejected), images };
    const lost = [
      ...NOT_HELD,
      ...pair.lost,
      ...answerExtras(pair.chosen, 'chosen'),
      ...answerExtras(pair.rejected, 'rejected'),
      ...(['margin', 'chosenReward', 'rejectedReward'] as const).filter((k) => pair[k] !== undefined),
    ];
    return { row, lost };
  },
  async fromRow(row, ctx) {
    const r = obj(row, '(row)');
    const imagesRaw = r.images;
    const single = r.images === undefined;
    const paths = single ? [r.image] : arr(imagesRaw, 'images');
    if (single && (r.image === undefined || r.image === null)) paths.length = 0;
    const media: MediaRef[] = [];
    for (const [i, p] of paths.entries()) media.push(await importMedia(p, single ? 'image' : `images.${i}`, ctx));
    let k = 0;
    const toMessages = (v: unknown, field: string): Message[] => {
      if (typeof v === 'string') return [{ role: 'user', content: v }];
      return arr(v, field).map((m, mi) => {
        const mo = obj(m, `${field}.${mi}`);
        const role = str(mo.role, `${field}.${mi}.role`);
        if (role !== 'system' && role !== 'user' && role !== 'assistant')
          throw new RowError(`${field}.${mi}.role`, `unknown role "${role}"`);
        const c = mo.content;
        if (typeof c === 'string') return { role, content: c };
        const parts = arr(c, `${field}.${mi}.content`).map((p, pi): ContentPart => {
          const po = obj(p, `${field}.${mi}.content.${pi}`);
          if (po.type === 'image') return { type: 'image', media: k++ };
          if (po.type === 'text') return { type: 'text', text: str(po.text, `${field}.${mi}.content.${pi}.text`) };
          throw new RowError(`${field}.${mi}.content.${pi}.type`, `unsupported part type ${JSON.stringify(po.type)}`);
        });
        return { role, content: parts };
      });
    };
    const prompt = toMessages(r.prompt, 'prompt');
    if (k === 0 && media.length && typeof r.prompt === 'string') {
      // Standard (string) form: images come first, as TRL's collator inserts them.
      prompt[0].content = [
        ...media.map((_, i): ContentPart => ({ type: 'image', media: i })),
        { type: 'text', text: r.prompt },
      ];
    } else if (k !== media.length) {
      throw new RowError('images', `${media.length} images but ${k} {"type":"image"} parts in prompt`, 'media_count');
    }
    const answer = (v: unknown, field: string): Answer => {
      if (typeof v === 'string') return { text: v };
      const msgs = toMessages(v, field);
      const last = msgs[msgs.length - 1];
      if (!last) throw new RowError(field, 'empty message list');
      const c = last.content;
      return { text: typeof c === 'string' ? c : c.map((p) => (p.type === 'text' ? p.text : '')).join('') };
    };
    const id = ctx.fallbackId();
    const pref: Preference = {
      kind: 'pair',
      id,
      sampleId: id,
      prompt,
      media,
      chosen: answer(r.chosen, 'chosen'),
      rejected: answer(r.rejected, 'rejected'),
      provenance: ctx.provenance() as Preference['provenance'],
    };
    return pref;
  },
};
