import type { ContentPart, MediaRef, Preference } from '../../schema/index.ts';
import { asPair } from './pairs.ts';
import { type FormatSpec, type Row, RowError } from './types.ts';
import { importMedia, kindOf, obj, optStr, str } from './util.ts';

/**
 * RLAIF-V (openbmb/RLAIF-V-Dataset): one image, `question`, `chosen`, `rejected`, `image` (parquet: the HF Image
 * struct {bytes, path}), `image_path`, and origin fields `ds_name`, `origin_dataset`, `origin_split`, `idx` (kept in
 * provenance.extra). `logps`, when present, is RLAIF-V's JSON `{"logps": [chosen sum, chosen avg, chosen per-token,
 * rejected sum, rejected avg, rejected per-token]}`: the sums become Answer.refLogp on read. On write it is not
 * produced, because RLAIF-V's trainer also needs the average and per-token values, which our records do not keep.
 */
const ORIGIN = ['ds_name', 'origin_dataset', 'origin_split', 'idx'] as const;

function parseLogps(v: unknown): [number | undefined, number | undefined] {
  if (v == null) return [undefined, undefined];
  let x: unknown = v;
  if (typeof x === 'string') {
    try {
      x = JSON.parse(x);
    } catch {
      throw new RowError('logps', 'not valid JSON');
    }
  }
  if (x !== null && typeof x === 'object' && !Array.isArray(x)) x = (x as { logps?: unknown }).logps;
  if (!Array.isArray(x) || x.length < 4)
    throw new RowError('logps', 'expected [chosen, chosen_avg, chosen_tok, rejected, ...]');
  const num = (n: unknown, i: number) => {
    if (typeof n !== 'number') throw new RowError(`logps.${i}`, `expected a number, got ${kindOf(n)}`);
    return n;
  };
  return [num(x[0], 0), num(x[3], 3)];
}

export const rlaifv: FormatSpec<'preference'> = {
  description:
    'RLAIF-V dataset rows: question/chosen/rejected, image (bytes, parquet) + image_path, origin_dataset/origin_split/idx, logps',
  holds: 'preference',
  defaultExt: '.parquet',
  writes: ['.parquet', '.jsonl', '.json'],
  parquetColumns: [
    { name: 'ds_name', type: 'string' },
    { name: 'image', type: 'image' },
    { name: 'question', type: 'string' },
    { name: 'chosen', type: 'string' },
    { name: 'rejected', type: 'string' },
    { name: 'origin_dataset', type: 'string' },
    { name: 'origin_split', type: 'string' },
    { name: 'idx', type: 'json' },
    { name: 'image_path', type: 'string' },
  ],
  async toRow(p, ctx) {
    const pair = asPair(p, 'RLAIF-V', ctx.options);
    if ('drop' in pair) return pair;
    if (pair.rejectedMedia?.length) return { drop: 'pair with rejectedMedia (RLAIF-V has no rejected images)' };
    if (pair.media.length !== 1 || pair.media[0].kind !== 'image')
      return { drop: `${pair.media.length} media (RLAIF-V rows hold exactly one image)` };
    if (pair.prompt.length !== 1 || pair.prompt[0].role !== 'user')
      return { drop: 'multi-turn or system prompt (RLAIF-V holds one question)' };
    const c = pair.prompt[0].content;
    const question = typeof c === 'string' ? c : c.map((x) => (x.type === 'text' ? x.text : '')).join('');
    const imagePath = await ctx.media(pair.media[0], 'media.0');
    const extra = p.provenance.extra ?? {};
    const row: Row = { question, chosen: pair.chosen.text, rejected: pair.rejected.text, image_path: imagePath };
    for (const k of ORIGIN) if (extra[k] !== undefined) row[k] = extra[k];
    if (ctx.container === '.parquet')
      row.image = { bytes: await ctx.mediaBytes(pair.media[0], 'media.0'), path: imagePath };
    const lost = ['id', 'sampleId', 'provenance', ...pair.lost];
    if (pair.chosen.refLogp !== undefined || pair.rejected.refLogp !== undefined)
      lost.push('refLogp (RLAIF-V logps also need average and per-token log-probs)');
    for (const k of ['margin', 'chosenReward', 'rejectedReward'] as const) if (pair[k] !== undefined) lost.push(k);
    for (const a of ['chosen', 'rejected'] as const)
      for (const k of ['responseId', 'model'] as const) if (pair[a][k] !== undefined) lost.push(`${a}.${k}`);
    return { row, lost };
  },
  async fromRow(row, ctx) {
    const r = obj(row, '(row)');
    const question = str(r.question, 'question');
    const media: MediaRef =
      r.image != null
        ? await importMedia(r.image, 'image', ctx)
        : await ctx.media(str(r.image_path, 'image_path'), 'image_path');
    const [chosenLogp, rejectedLogp] = parseLogps(r.logps);
    const extra: Record<string, unknown> = {};
    for (const k of ORIGIN) if (r[k] != null) extra[k] = r[k];
    const source = optStr(r.origin_dataset, 'origin_dataset');
    const id = ctx.fallbackId();
    const prompt: { role: 'user'; content: ContentPart[] }[] = [
      {
        role: 'user',
        content: [
          { type: 'image', media: 0 },
          { type: 'text', text: question },
        ],
      },
    ];
    const pref: Preference = {
      kind: 'pair',
      id,
      sampleId: id,
      prompt,
      media: [media],
      chosen: { text: str(r.chosen, 'chosen'), ...(chosenLogp !== undefined ? { refLogp: chosenLogp } : {}) },
      rejected: { text: str(r.rejected, 'rejected'), ...(rejectedLogp !== undefined ? { refLogp: rejectedLogp } : {}) },
      provenance: ctx.provenance({
        annotator: { kind: 'open_model', id: 'rlaif-v' },
        ...(source ? { source } : {}),
        ...(Object.keys(extra).length ? { extra } : {}),
      }) as Preference['provenance'],
    };
    return pref;
  },
};
