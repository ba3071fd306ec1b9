import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Answer, MediaRef, Preference } from '../../schema/index.ts';
import { atomicWriteFile } from '../atomic.ts';
import { checkAlternation, checkCounts, hasPlaceholder, splitByKind, unflatten } from './chat.ts';
import { answerExtras, asPair } from './pairs.ts';
import { type FlatMessage, flattenMessages, type MediaKind } from './placeholders.ts';
import { type FormatSpec, type Row, RowError } from './types.ts';
import { arr, importMedia, obj, optStr, str } from './util.ts';

/**
 * LLaMA-Factory sharegpt preference rows: `conversations` [{from: human|gpt, value}] ending with the user turn,
 * `chosen` / `rejected` {from: gpt, value}, optional `system`, and `images` / `videos` / `audios` path lists whose
 * lengths equal the number of `<image>` / `<video>` / `<audio>` placeholders. `finish` adds the dataset entry with
 * `"ranking": true` to `dataset_info.json` beside the data file. Rows with `kto_tag` (and no chosen/rejected) are read
 * as binary (KTO) preferences.
 */
const FROM = { user: 'human', assistant: 'gpt', system: 'system' } as const;
const TO_ROLE: Record<string, 'user' | 'assistant' | 'system'> = {
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  system: 'system',
};
const NOT_HELD = ['id', 'sampleId', 'provenance'];

export const llamafactory: FormatSpec<'preference'> = {
  description:
    'LLaMA-Factory sharegpt ranking data: conversations + chosen/rejected {from,value}, images[] with <image> placeholders, dataset_info.json "ranking": true',
  holds: 'preference',
  defaultExt: '.json',
  writes: ['.json', '.jsonl'],
  async toRow(p, ctx) {
    const pair = asPair(p, 'LLaMA-Factory', ctx.options);
    if ('drop' in pair) return pair;
    if (pair.rejectedMedia?.length) return { drop: 'pair with rejectedMedia (LLaMA-Factory has no rejected images)' };
    if ([pair.chosen.text, pair.rejected.text].some(hasPlaceholder))
      return { drop: 'answer text contains a literal <image>/<video>/<audio> token' };
    let flat: { messages: FlatMessage[]; order: number[] };
    try {
      flat = flattenMessages(pair.prompt, pair.media);
    } catch (e) {
      if (e instanceof RowError) return { drop: `${e.code}: ${e.message}` };
      throw e;
    }
    let turns = flat.messages;
    let system: string | undefined;
    if (turns[0]?.role === 'system') {
      system = turns[0].text;
      turns = turns.slice(1);
    }
    try {
      checkAlternation(turns, 'LLaMA-Factory');
    } catch (e) {
      if (e instanceof RowError) return { drop: `prompt turn order (${e.message})` };
      throw e;
    }
    const byKind = splitByKind(
      flat.order,
      pair.media.map((m) => m.kind),
    );
    const lists: Record<MediaKind, string[]> = { image: [], video: [], audio: [] };
    for (const kind of ['image', 'video', 'audio'] as const)
      for (const i of byKind[kind]) lists[kind].push(await ctx.media(pair.media[i], `media.${i}`));
    const row: Row = {
      conversations: turns.map((t) => ({ from: FROM[t.role], value: t.text })),
      chosen: { from: 'gpt', value: pair.chosen.text },
      rejected: { from: 'gpt', value: pair.rejected.text },
      ...(system !== undefined ? { system } : {}),
      images: lists.image,
      videos: lists.video,
      audios: lists.audio,
    };
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
    const turns: FlatMessage[] = arr(r.conversations, 'conversations').map((m, i) => {
      const mo = obj(m, `conversations.${i}`);
      const from = str(mo.from ?? mo.role, `conversations.${i}.from`);
      const role = TO_ROLE[from];
      if (!role) throw new RowError(`conversations.${i}.from`, `unsupported speaker "${from}"`);
      return { role, text: str(mo.value ?? mo.content, `conversations.${i}.value`) };
    });
    const system = optStr(r.system, 'system');
    const lists: Record<MediaKind, unknown[]> = {
      image: r.images == null ? [] : arr(r.images, 'images'),
      video: r.videos == null ? [] : arr(r.videos, 'videos'),
      audio: r.audios == null ? [] : arr(r.audios, 'audios'),
    };
    const turnValue = (v: unknown, field: string): string =>
      typeof v === 'string' ? v : str(obj(v, field).value ?? obj(v, field).content, `${field}.value`);
    const isKto = r.kto_tag !== undefined && r.chosen === undefined;
    const answers = isKto ? [] : [turnValue(r.chosen, 'chosen'), turnValue(r.rejected, 'rejected')];
    checkCounts([...turns.map((t) => t.text), ...answers], lists);
    const media: MediaRef[] = [];
    for (const kind of ['image', 'video', 'audio'] as const)
      for (const [i, p] of lists[kind].entries()) media.push(await importMedia(p, `${kind}s.${i}`, ctx, kind));
    const all = system !== undefined ? [{ role: 'system' as const, text: system }, ...turns] : turns;
    const id = ctx.fallbackId();
    const base = { id, sampleId: id, media, provenance: ctx.provenance() as Preference['provenance'] };
    if (isKto) {
      if (typeof r.kto_tag !== 'boolean') throw new RowError('kto_tag', 'expected true or false');
      const last = all[all.length - 1];
      if (last?.role !== 'assistant') throw new RowError('conversations', 'a kto_tag row must end with the gpt turn');
      return {
        kind: 'binary',
        ...base,
        prompt: unflatten(all.slice(0, -1), lists),
        response: { text: last.text },
        label: r.kto_tag,
      };
    }
    const answer = (text: string): Answer => ({ text });
    return {
      kind: 'pair',
      ...base,
      prompt: unflatten(all, lists),
      chosen: answer(answers[0]),
      rejected: answer(answers[1]),
    };
  },
  async finish(out, summary, opts) {
    const dir = path.dirname(out);
    const infoPath = path.join(dir, 'dataset_info.json');
    const info: Record<string, unknown> = existsSync(infoPath) ? JSON.parse(await readFile(infoPath, 'utf8')) : {};
    const name = opts.datasetName ?? path.basename(out).replace(/\.(jsonl|json)$/i, '');
    info[name] = {
      file_name: path.basename(out),
      formatting: 'sharegpt',
      ranking: true,
      columns: {
        messages: 'conversations',
        chosen: 'chosen',
        rejected: 'rejected',
        system: 'system',
        images: 'images',
        videos: 'videos',
        audios: 'audios',
      },
    };
    await atomicWriteFile(infoPath, `${JSON.stringify(info, null, 2)}\n`);
    void summary;
    return [infoPath];
  },
};
