import { z } from 'zod';
import type { Preference } from '../../../schema/index.ts';
import { mode, type TaskType } from './types.ts';

/** Display choice A/B refers to positions; the stored winner is the canonical response index (0 or 1). */
export const PairwiseInput = z.strictObject({
  choice: z.enum(['A', 'B', 'tie', 'both_bad']),
  reason: z.string().max(5000).optional(),
});
export interface PairwiseLabel {
  winner: 0 | 1 | 'tie' | 'both_bad';
  reason?: string;
}

export const pairwise: TaskType<typeof PairwiseInput, PairwiseLabel> = {
  description: 'A / B / tie / both bad, with an optional reason; A and B positions are shuffled per annotator',
  responses: { min: 2, max: 2 },
  input: PairwiseInput,
  toCanonical(input, order) {
    const winner = input.choice === 'A' ? order[0] : input.choice === 'B' ? order[1] : input.choice;
    const reason = input.reason?.trim();
    return { winner: winner as PairwiseLabel['winner'], ...(reason ? { reason } : {}) };
  },
  toDisplay(label, order) {
    const choice = typeof label.winner === 'number' ? (order[0] === label.winner ? 'A' : 'B') : label.winner;
    return { choice, reason: label.reason };
  },
  units: (label) => [{ key: 'winner', value: String(label.winner), metric: 'nominal' }],
  majority: (labels) => mode(labels, (l) => String(l.winner)),
  toRecords(task, label, base) {
    const [r0, r1] = task.responses;
    const extra = label.reason ? { reason: label.reason } : {};
    if (typeof label.winner === 'number') {
      const w = label.winner;
      return [{ kind: 'pair', ...base('pair', extra), chosen: task.responses[w], rejected: task.responses[1 - w] }];
    }
    if (label.winner === 'tie')
      // The pair schema has no tie, so a tie is a ranking with equal ranks: lossless, and pair exporters skip it.
      return [{ kind: 'ranking', ...base('tie', { ...extra, verdict: 'tie' }), responses: [r0, r1], ranks: [1, 1] }];
    // Both bad: two undesirable examples (usable by KTO), tied so no pair is invented.
    return [
      { kind: 'binary', ...base('bad0', { ...extra, verdict: 'both_bad' }), response: r0, label: false },
      { kind: 'binary', ...base('bad1', { ...extra, verdict: 'both_bad' }), response: r1, label: false },
    ];
  },
  fromPreference(p: Preference) {
    if (p.kind !== 'pair') return undefined;
    return { responses: [p.chosen, p.rejected], label: { winner: 0 } };
  },
};
