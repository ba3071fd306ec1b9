import type { Answer, MediaRef, Message, Preference } from '../../schema/index.ts';
import type { WriteOptions } from './types.ts';

/** The pair (x, I, y_w, y_l) that pair-only formats hold, taken from any preference kind that has one. */
export interface PairView {
  prompt: Message[];
  media: MediaRef[];
  chosen: Answer;
  rejected: Answer;
  rejectedMedia?: MediaRef[];
  margin?: number;
  chosenReward?: number;
  rejectedReward?: number;
  /** Fields of the source record the pair does not carry. */
  lost: string[];
}

/**
 * pair → itself; segments → (corrected, rejected) without the spans; ranking / rubric → best vs worst ONLY when
 * `binarize` is set (a ranking's middle and its ties are information a pair cannot hold); other kinds → a drop reason.
 */
export function asPair(p: Preference, target: string, opts: WriteOptions): PairView | { drop: string } {
  const base = { prompt: p.prompt, media: p.media };
  switch (p.kind) {
    case 'pair':
      return {
        ...base,
        chosen: p.chosen,
        rejected: p.rejected,
        rejectedMedia: p.rejectedMedia,
        margin: p.margin,
        chosenReward: p.chosenReward,
        rejectedReward: p.rejectedReward,
        lost: [],
      };
    case 'segments':
      return { ...base, chosen: p.chosen, rejected: p.rejected, lost: ['segments (span corrections; kept as a pair)'] };
    case 'ranking': {
      if (!opts.binarize) return { drop: `ranking (${target} holds pairs only; pass binarize to keep best vs worst)` };
      const best = p.ranks.indexOf(Math.min(...p.ranks));
      const worst = p.ranks.indexOf(Math.max(...p.ranks));
      if (p.ranks[best] === p.ranks[worst]) return { drop: 'ranking where every response ties' };
      return {
        ...base,
        chosen: p.responses[best],
        rejected: p.responses[worst],
        lost: ['ranking (binarised to best vs worst)'],
      };
    }
    case 'rubric': {
      if (!opts.binarize) return { drop: `rubric (${target} holds pairs only; pass binarize to keep best vs worst)` };
      const totals = p.scores.map((s) => rubricTotal(s, opts.rubricAspect));
      const scored = totals.flatMap((t, i) => (t === undefined ? [] : [{ t, i }]));
      if (scored.length < 2) return { drop: `rubric with fewer than 2 scored responses${aspectNote(opts)}` };
      const best = scored.reduce((a, b) => (b.t > a.t ? b : a));
      const worst = scored.reduce((a, b) => (b.t < a.t ? b : a));
      if (best.t === worst.t) return { drop: `rubric where every response ties${aspectNote(opts)}` };
      return {
        ...base,
        chosen: p.responses[best.i],
        rejected: p.responses[worst.i],
        chosenReward: best.t,
        rejectedReward: worst.t,
        lost: ['rubric scores (binarised to best vs worst)'],
      };
    }
    case 'image_pair':
      return { drop: `image_pair (${target} has no field for rejected images)` };
    case 'binary':
      return { drop: `binary label (${target} preference rows need a chosen and a rejected answer)` };
  }
}

function aspectNote(opts: WriteOptions): string {
  return opts.rubricAspect ? ` on aspect "${opts.rubricAspect}"` : '';
}

/** One response's rubric total: the named aspect's score, or the mean over the aspects it was scored on. */
export function rubricTotal(scores: Record<string, { score: number }>, aspect?: string): number | undefined {
  if (aspect) return scores[aspect]?.score;
  const vals = Object.values(scores).map((s) => s.score);
  return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : undefined;
}

/** Names of the optional Answer fields a format cannot hold, for the `lost` list. */
export function answerExtras(a: Answer, field: string, keep: readonly (keyof Answer)[] = []): string[] {
  const out: string[] = [];
  for (const k of ['responseId', 'model', 'refLogp'] as const) {
    if (a[k] !== undefined && !keep.includes(k)) out.push(`${field}.${k}`);
  }
  return out;
}
