import { z } from 'zod';
import { LabelError, type TaskType } from './types.ts';

export const RankingInput = z.strictObject({ ranks: z.array(z.number().int().positive()).min(2).max(20) });
export interface RankingLabel {
  /** Per canonical response; 1 is best, equal ranks are ties (competition ranking: 1, 1, 3). */
  ranks: number[];
}

/** Competition ranking ("1224") of scores where lower is better: rank = 1 + how many are strictly better. */
export function competitionRanks(values: number[]): number[] {
  return values.map((v) => 1 + values.filter((w) => w < v).length);
}

export const ranking: TaskType<typeof RankingInput, RankingLabel> = {
  description: 'rank N responses, 1 = best, equal ranks for ties',
  responses: { min: 2, max: 20 },
  input: RankingInput,
  toCanonical(input, order) {
    if (input.ranks.length !== order.length)
      throw new LabelError('ranks', `expected ${order.length} ranks (one per response), got ${input.ranks.length}`);
    const bad = input.ranks.findIndex((r) => r > order.length);
    if (bad >= 0) throw new LabelError(`ranks.${bad}`, `rank ${input.ranks[bad]} is above ${order.length}`);
    const canonical = new Array<number>(order.length);
    order.forEach((c, d) => {
      canonical[c] = input.ranks[d];
    });
    return { ranks: competitionRanks(canonical) };
  },
  toDisplay: (label, order) => ({ ranks: order.map((c) => label.ranks[c]) }),
  units(label) {
    // One nominal unit per response pair: which of the two is better, or a tie.
    const out: ReturnType<TaskType<typeof RankingInput, RankingLabel>['units']> = [];
    for (let i = 0; i < label.ranks.length; i++)
      for (let j = i + 1; j < label.ranks.length; j++) {
        const a = label.ranks[i];
        const b = label.ranks[j];
        out.push({ key: `${i}v${j}`, value: a < b ? `${i}` : a > b ? `${j}` : 'tie', metric: 'nominal' });
      }
    return out;
  },
  majority(labels) {
    // Mean rank per response (Borda-like), re-ranked; equal means stay tied.
    if (labels.length === 0) return undefined;
    const n = labels[0].ranks.length;
    const means = Array.from({ length: n }, (_, i) => labels.reduce((s, l) => s + l.ranks[i], 0) / labels.length);
    return { ranks: competitionRanks(means) };
  },
  toRecords: (task, label, base) => [
    { kind: 'ranking', ...base('ranking'), responses: task.responses, ranks: label.ranks },
  ],
  fromPreference: (p) =>
    p.kind === 'ranking' ? { responses: p.responses, label: { ranks: competitionRanks(p.ranks) } } : undefined,
};
