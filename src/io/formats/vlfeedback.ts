import type { Answer, ContentPart, MediaRef, Preference } from '../../schema/index.ts';
import { type FormatSpec, type Row, RowError } from './types.ts';
import { arr, importMedia, obj, optStr, str } from './util.ts';

/**
 * VLFeedback (MMInstruction/VLFeedback): `id`, `prompt`, `img_path`, `models`, and `completions[]` each with `model`,
 * `response` and `annotations` {aspect: {Rating, Rationale}} (aspects "Helpfulness", "Visual Faithfulness",
 * "Ethical Considerations"; Rating is a string such as "4", or "N/A"). That is our `rubric` preference: every
 * completion kept with its per-aspect scores. An "N/A" rating is left out of that response's scores.
 */
export const vlfeedback: FormatSpec<'preference'> = {
  description:
    'VLFeedback rows: prompt, img_path, completions[] with per-aspect annotations {Rating, Rationale} (rubric preferences)',
  holds: 'preference',
  defaultExt: '.jsonl',
  writes: ['.jsonl', '.json'],
  async toRow(p, ctx) {
    if (p.kind !== 'rubric')
      return { drop: `${p.kind} (VLFeedback rows hold per-aspect ratings of completions: rubric only)` };
    if (p.media.length > 1 || p.media.some((m) => m.kind !== 'image'))
      return { drop: `${p.media.length} media (VLFeedback rows hold at most one image)` };
    if (p.prompt.length !== 1 || p.prompt[0].role !== 'user')
      return { drop: 'multi-turn or system prompt (VLFeedback holds one prompt)' };
    const c = p.prompt[0].content;
    const prompt = typeof c === 'string' ? c : c.map((x) => (x.type === 'text' ? x.text : '')).join('');
    const completions = p.responses.map((a, i) => ({
      model: a.model ?? null,
      response: a.text,
      annotations: Object.fromEntries(
        Object.entries(p.scores[i] ?? {}).map(([aspect, s]) => [
          aspect,
          { Rating: String(s.score), ...(s.rationale !== undefined ? { Rationale: s.rationale } : {}) },
        ]),
      ),
    }));
    const row: Row = {
      id: p.sampleId,
      prompt,
      ...(p.media.length ? { img_path: await ctx.media(p.media[0], 'media.0') } : {}),
      models: p.responses.map((a) => a.model ?? null),
      completions,
    };
    const lost = ['id (the row id is the sample id)', 'provenance'];
    if (p.scale) lost.push('scale');
    for (const [i, a] of p.responses.entries()) {
      if (a.responseId !== undefined) lost.push('responses.responseId');
      if (a.refLogp !== undefined) lost.push('responses.refLogp');
      void i;
    }
    return { row, lost };
  },
  async fromRow(row, ctx) {
    const r = obj(row, '(row)');
    const text = str(r.prompt, 'prompt');
    const media: MediaRef[] = [];
    if (r.img_path != null) media.push(await importMedia(r.img_path, 'img_path', ctx));
    else if (r.image != null) media.push(await importMedia(r.image, 'image', ctx));
    const content: string | ContentPart[] = media.length
      ? [
          { type: 'image', media: 0 },
          { type: 'text', text },
        ]
      : text;
    const responses: Answer[] = [];
    const scores: Record<string, { score: number; rationale?: string }>[] = [];
    for (const [i, c] of arr(r.completions, 'completions').entries()) {
      const co = obj(c, `completions.${i}`);
      const model = optStr(co.model, `completions.${i}.model`);
      responses.push({
        text: str(co.response, `completions.${i}.response`),
        ...(model !== undefined ? { model } : {}),
      });
      const s: Record<string, { score: number; rationale?: string }> = {};
      const ann = co.annotations == null ? {} : obj(co.annotations, `completions.${i}.annotations`);
      for (const [aspect, v] of Object.entries(ann)) {
        const field = `completions.${i}.annotations.${aspect}`;
        const a = obj(Array.isArray(v) ? v[0] : v, field);
        const rating = a.Rating;
        if (rating === 'N/A' || rating == null) continue;
        const score = typeof rating === 'number' ? rating : Number(str(rating, `${field}.Rating`));
        if (!Number.isFinite(score)) throw new RowError(`${field}.Rating`, `not a number: ${JSON.stringify(rating)}`);
        const rationale = optStr(a.Rationale, `${field}.Rationale`);
        s[aspect] = { score, ...(rationale !== undefined ? { rationale } : {}) };
      }
      scores.push(s);
    }
    const sampleId = r.id == null ? ctx.fallbackId() : String(r.id);
    const pref: Preference = {
      kind: 'rubric',
      id: sampleId,
      sampleId,
      prompt: [{ role: 'user', content }],
      media,
      responses,
      scores,
      provenance: ctx.provenance({ annotator: { kind: 'closed_model', id: 'gpt-4v' } }) as Preference['provenance'],
    };
    return pref;
  },
};
