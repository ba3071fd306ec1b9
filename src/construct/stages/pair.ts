import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { PAIRING_MODES, type PairingMode, pairResponses, preferenceId, preferenceStats } from '../../judges/pairing.ts';
import type { Preference, PreferenceOf, Sample, Segment } from '../../schema/index.ts';
import { defineStage, type WorkItem } from '../stage.ts';
import { readSamples, requireFinished } from './common.ts';
import { scoreOf } from './judge.ts';

/**
 * Pairing: the judge stage's scored responses (one rubric record per sample) → training preferences.
 * - best_worst / all_pairs / margin over the judge's scores (pairwise judges: their consistent verdicts);
 * - ties are never forced into a pair: `keepRankings` keeps each sample's whole ranking (ties as equal ranks);
 * - length matching (`lengthMatch: auto`, the default): when a sample has injected negatives, rejected answers
 *   must be within `maxRatio` of the chosen one's length in words, so the pair teaches grounding, not length;
 * - segments: where the rejected answer is an injection of the chosen one, an RLHF-V `segments` record too;
 * - image pairs (`imagePairs: <corrupt stage>`): the best clean response under I vs under each I_neg (mDPO);
 * - dedup: identical texts collapse before pairing; each pair's provenance.strategy is the rejected's strategy.
 * The summary: pairs per prompt, margin histogram, chosen/rejected length ratio, annotator-kind and strategy mix.
 */
const Params = z.strictObject({
  mode: z.enum(Object.keys(PAIRING_MODES) as [PairingMode, ...PairingMode[]]).default('best_worst'),
  margin: z.number().min(0).optional(),
  lengthMatch: z
    .union([z.literal('auto'), z.literal(false), z.strictObject({ maxRatio: z.number().min(1) })])
    .default('auto'),
  /** maxRatio used by `auto` */
  maxRatio: z.number().min(1).default(1.25),
  keepRankings: z.boolean().default(false),
  segments: z.boolean().default(true),
  imagePairs: z.string().optional(),
  samples: z.string().default('source'),
});

interface RespMeta {
  id: string;
  strategy: string;
  visual: string;
  segments?: Segment[];
  goodText?: string;
}

interface Item {
  judged: PreferenceOf<'rubric'>;
  negs: Sample[];
}

export const pairStage = defineStage({
  description: 'scored responses → pairs (best_worst/all_pairs/margin), rankings, segments, image pairs; stats',
  output: 'preference',
  needsInput: true,
  params: Params,
  create(p, ctx) {
    const input = ctx.input!;
    return {
      name: ctx.name,
      type: 'pair',
      output: 'preference',
      input,
      fingerprint: p,
      models: [],
      count: (env) => env.countInput(input),
      async *plan(env): AsyncGenerator<WorkItem<Item>> {
        const negs = new Map<string, Sample[]>();
        if (p.imagePairs) {
          await requireFinished(env, ctx.name, [p.imagePairs]);
          for (const s of (await readSamples(env, p.imagePairs, ctx.name)).values()) {
            const of = s.provenance.extra?.negOf;
            if (typeof of === 'string') negs.set(of, [...(negs.get(of) ?? []), s]);
          }
        }
        for await (const rec of env.readInput(input)) {
          const v = rec.value as Preference;
          if (v?.kind !== 'rubric') continue;
          yield { key: v.id, data: { judged: v, negs: negs.get(v.sampleId) ?? [] } };
        }
      },
      async run(item, env) {
        const { judged, negs } = item.data;
        const extra = judged.provenance.extra ?? {};
        const meta = new Map(((extra.responses ?? []) as RespMeta[]).map((m) => [m.id, m]));
        const aspect = extra.aspect as string | undefined;
        const sample = {
          id: judged.sampleId,
          messages: judged.prompt,
          media: judged.media,
          provenance: judged.provenance,
        } as Sample;
        const { annotator, ...prov } = judged.provenance;
        const provenance = { ...prov, createdAt: env.now(), run: env.runId, extra: { judge: extra.judge } };
        const scored = judged.responses.flatMap((a, i) => {
          const s = scoreOf(judged.scores[i], aspect);
          return s === undefined
            ? []
            : [{ id: a.responseId ?? String(i), text: a.text, score: s, ...(a.model ? { model: a.model } : {}) }];
        });
        const injected = [...meta.values()].some((m) => m.strategy.startsWith('inject'));
        const lengthMatch =
          p.lengthMatch === false
            ? undefined
            : p.lengthMatch === 'auto'
              ? injected
                ? { maxRatio: p.maxRatio }
                : undefined
              : p.lengthMatch;
        let out: Preference[];
        const verdicts = extra.pairwise as { a: string; b: string; winner: string | null }[] | undefined;
        if (verdicts) {
          // a pairwise judge: its consistent verdicts are the pairs (Copeland scores only order the ranking)
          const byId = new Map(scored.map((s) => [s.id, s]));
          out = [];
          for (const v of verdicts) {
            if (v.winner !== 'a' && v.winner !== 'b') continue;
            const w = byId.get(v.winner === 'a' ? v.a : v.b);
            const l = byId.get(v.winner === 'a' ? v.b : v.a);
            if (!w || !l || w.text.trim() === l.text.trim()) continue;
            out.push({
              kind: 'pair',
              id: preferenceId(sample.id, 'pair', w.id, l.id),
              sampleId: sample.id,
              prompt: sample.messages,
              media: sample.media,
              provenance: { ...provenance, annotator },
              chosen: { text: w.text, responseId: w.id, ...(w.model ? { model: w.model } : {}) },
              rejected: { text: l.text, responseId: l.id, ...(l.model ? { model: l.model } : {}) },
            });
          }
          if (p.keepRankings)
            out.push(
              ...pairResponses(sample, scored, {
                mode: 'best_worst',
                keepRankings: true,
                annotator,
                provenance,
              }).filter((r) => r.kind === 'ranking'),
            );
        } else {
          out = pairResponses(sample, scored, {
            mode: p.mode,
            margin: p.margin,
            lengthMatch,
            keepRankings: p.keepRankings,
            annotator,
            provenance,
          });
        }
        const strategyOf = (id?: string) => (id ? meta.get(id)?.strategy : undefined);
        for (const r of out)
          if (r.kind === 'pair')
            r.provenance = { ...r.provenance, strategy: strategyOf(r.rejected.responseId) ?? 'sample' };
          else r.provenance = { ...r.provenance, strategy: 'ranking' };
        if (p.segments)
          for (const r of [...out]) {
            if (r.kind !== 'pair') continue;
            const m = meta.get(r.rejected.responseId ?? '');
            if (m?.segments?.length && m.goodText !== undefined && m.goodText.trim() === r.chosen.text.trim())
              out.push({
                kind: 'segments',
                id: preferenceId(sample.id, 'segments', r.rejected.responseId ?? ''),
                sampleId: sample.id,
                prompt: sample.messages,
                media: sample.media,
                provenance: { ...r.provenance },
                rejected: r.rejected,
                chosen: r.chosen,
                segments: m.segments,
              });
          }
        if (negs.length) {
          const best = [...scored]
            .filter((s) => (meta.get(s.id)?.visual ?? 'clean') === 'clean')
            .sort((a, b) => b.score - a.score)[0];
          if (best)
            for (const n of negs)
              out.push({
                kind: 'image_pair',
                id: preferenceId(sample.id, 'image_pair', best.id, n.id),
                sampleId: sample.id,
                prompt: sample.messages,
                media: sample.media,
                provenance: {
                  ...provenance,
                  annotator: { kind: 'rule', id: 'image-corruption' },
                  strategy: n.provenance.strategy,
                },
                response: { text: best.text, responseId: best.id, ...(best.model ? { model: best.model } : {}) },
                rejectedMedia: n.media,
                corruption: String(n.provenance.extra?.corruption ?? n.provenance.strategy),
              });
        }
        // dedup: one record per id (the same pair reached twice)
        const seen = new Set<string>();
        return { ok: true, records: out.filter((r) => !seen.has(r.id) && seen.add(r.id) !== undefined) };
      },
      async concurrency() {
        return 16;
      },
      async summarize(_env, output) {
        const prefs = existsSync(output)
          ? readFileSync(output, 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l) as Preference)
          : [];
        const st = preferenceStats(prefs);
        return { ...st, lengthRatio: Number.isFinite(st.lengthRatio) ? st.lengthRatio : null };
      },
    };
  },
});
