import { z } from 'zod';
import { LabelError, type TaskType } from './types.ts';

const Score = z.strictObject({ score: z.number(), rationale: z.string().max(5000).optional() });
export const RatingInput = z.strictObject({ scores: z.array(z.record(z.string(), Score)).min(1).max(20) });
export interface RatingLabel {
  /** Per canonical response: aspect → score (within the project's scale) and rationale. */
  scores: Record<string, { score: number; rationale?: string }>[];
}

/** Per-aspect scores with rationales (VLFeedback / MM-RLHF style); aspects and scale come from the settings. */
export const rating: TaskType<typeof RatingInput, RatingLabel> = {
  description: 'score each response on each aspect (helpfulness, visual faithfulness, ethics, ...) with a rationale',
  responses: { min: 1, max: 20 },
  input: RatingInput,
  toCanonical(input, order, _task, settings) {
    if (input.scores.length !== order.length)
      throw new LabelError(
        'scores',
        `expected ${order.length} score sets (one per response), got ${input.scores.length}`,
      );
    const [lo, hi] = settings.scale;
    const canonical: RatingLabel['scores'] = new Array(order.length);
    input.scores.forEach((set, d) => {
      for (const a of settings.aspects)
        if (!(a in set)) throw new LabelError(`scores.${d}`, `aspect "${a}" is not scored`);
      const out: RatingLabel['scores'][number] = {};
      for (const [a, s] of Object.entries(set)) {
        if (!settings.aspects.includes(a))
          throw new LabelError(`scores.${d}.${a}`, `unknown aspect "${a}"; known: ${settings.aspects.join(', ')}`);
        if (!Number.isInteger(s.score) || s.score < lo || s.score > hi)
          throw new LabelError(`scores.${d}.${a}.score`, `score ${s.score} is outside the scale ${lo}..${hi}`);
        const rationale = s.rationale?.trim();
        out[a] = { score: s.score, ...(rationale ? { rationale } : {}) };
      }
      canonical[order[d]] = out;
    });
    return { scores: canonical };
  },
  toDisplay: (label, order) => ({ scores: order.map((c) => label.scores[c]) }),
  units: (label) =>
    label.scores.flatMap((set, i) =>
      Object.entries(set).map(([a, s]) => ({ key: `${i}:${a}`, value: s.score, metric: 'interval' as const })),
    ),
  majority(labels) {
    // Mean score per response and aspect; rationales are kept only in the per-annotator export.
    if (labels.length === 0) return undefined;
    return {
      scores: labels[0].scores.map((set, i) =>
        Object.fromEntries(
          Object.keys(set).map((a) => [
            a,
            { score: labels.reduce((s, l) => s + (l.scores[i][a]?.score ?? 0), 0) / labels.length },
          ]),
        ),
      ),
    };
  },
  toRecords: (task, label, base, settings) => [
    { kind: 'rubric', ...base('rubric'), responses: task.responses, scores: label.scores, scale: settings.scale },
  ],
  fromPreference: (p) => (p.kind === 'rubric' ? { responses: p.responses, label: { scores: p.scores } } : undefined),
};
