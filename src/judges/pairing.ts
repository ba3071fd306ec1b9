import { createHash } from 'node:crypto';
import type { Annotator, Preference, PreferenceOf, Provenance, Sample } from '../schema/index.ts';

/**
 * From scored responses to preference records: the survey's last construction step (annotation → pairs).
 * Higher score = better. Strict preferences become `pair` records; equal scores are never forced into a pair
 * (ties are kept in a `ranking` record when `keepRankings` is on). Identical texts are deduplicated first.
 */
export interface ScoredResponse {
  id: string;
  text: string;
  score: number;
  model?: string;
}

export const PAIRING_MODES = {
  best_worst: 'the best and the worst response of each prompt (RLAIF-V, MPO)',
  all_pairs: 'every pair with different scores',
  margin: 'every pair whose score difference is at least `margin`',
} as const;
export type PairingMode = keyof typeof PAIRING_MODES;

export interface PairingOptions {
  mode: PairingMode;
  margin?: number;
  /**
   * Length matching: a rejected answer is used only if max(len)/min(len) ≤ maxRatio (in words). Insertion-only
   * negatives otherwise teach "longer is worse" instead of grounding, so this is the default for injected negatives.
   */
  lengthMatch?: { maxRatio: number };
  /** also emit the whole ranking (ties included) as one `ranking` record */
  keepRankings?: boolean;
  annotator: Annotator;
  provenance: Omit<Provenance, 'annotator'>;
}

export function preferenceId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 20);
}

const words = (s: string) => s.trim().split(/\s+/).filter(Boolean).length;
const normalise = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();

export function dedupResponses(responses: readonly ScoredResponse[]): ScoredResponse[] {
  const seen = new Set<string>();
  return responses.filter((r) => {
    const k = normalise(r.text);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function lengthOk(a: string, b: string, maxRatio: number | undefined): boolean {
  if (maxRatio === undefined) return true;
  const la = Math.max(1, words(a));
  const lb = Math.max(1, words(b));
  return Math.max(la, lb) / Math.min(la, lb) <= maxRatio;
}

export function pairResponses(
  sample: Sample,
  responses: readonly ScoredResponse[],
  opts: PairingOptions,
): Preference[] {
  const rs = dedupResponses(responses);
  const base = {
    sampleId: sample.id,
    prompt: sample.messages,
    media: sample.media,
    provenance: { ...opts.provenance, annotator: opts.annotator },
  };
  const answer = (r: ScoredResponse) => ({ text: r.text, responseId: r.id, ...(r.model ? { model: r.model } : {}) });
  const makePair = (w: ScoredResponse, l: ScoredResponse): PreferenceOf<'pair'> => ({
    kind: 'pair',
    id: preferenceId(sample.id, 'pair', w.id, l.id),
    ...base,
    chosen: answer(w),
    rejected: answer(l),
    chosenReward: w.score,
    rejectedReward: l.score,
    margin: w.score - l.score,
  });
  const out: Preference[] = [];
  const maxRatio = opts.lengthMatch?.maxRatio;
  if (opts.mode === 'best_worst') {
    const sorted = [...rs].sort((a, b) => b.score - a.score);
    const best = sorted[0];
    // the worst response that passes length matching against the best
    const worst = [...sorted]
      .reverse()
      .find((r) => r.score < (best?.score ?? 0) && lengthOk(best.text, r.text, maxRatio));
    if (best && worst) out.push(makePair(best, worst));
  } else {
    const min = opts.mode === 'margin' ? (opts.margin ?? 0) : 0;
    for (let i = 0; i < rs.length; i++)
      for (let j = i + 1; j < rs.length; j++) {
        const [w, l] = rs[i].score >= rs[j].score ? [rs[i], rs[j]] : [rs[j], rs[i]];
        const d = w.score - l.score;
        if (d > 0 && d >= min && lengthOk(w.text, l.text, maxRatio)) out.push(makePair(w, l));
      }
  }
  if (opts.keepRankings && rs.length >= 2) {
    const distinct = [...new Set(rs.map((r) => r.score))].sort((a, b) => b - a);
    out.push({
      kind: 'ranking',
      id: preferenceId(sample.id, 'ranking', ...rs.map((r) => r.id)),
      ...base,
      responses: rs.map(answer),
      ranks: rs.map((r) => distinct.indexOf(r.score) + 1),
    });
  }
  return out;
}

export interface PairStats {
  records: number;
  byKind: Record<string, number>;
  prompts: number;
  pairsPerPrompt: { mean: number; max: number };
  /** histogram of margins (pairs that carry one), bucket edges in `edges` */
  marginHistogram: { edges: number[]; counts: number[] };
  /** mean over pairs of words(chosen)/words(rejected): far from 1 means a length bias the model can learn */
  lengthRatio: number;
  annotatorKinds: Record<string, number>;
  strategies: Record<string, number>;
}

export function preferenceStats(prefs: readonly Preference[], bins = 10): PairStats {
  const byKind: Record<string, number> = {};
  const perPrompt = new Map<string, number>();
  const annotatorKinds: Record<string, number> = {};
  const strategies: Record<string, number> = {};
  const margins: number[] = [];
  let ratioSum = 0;
  let ratioN = 0;
  for (const p of prefs) {
    byKind[p.kind] = (byKind[p.kind] ?? 0) + 1;
    annotatorKinds[p.provenance.annotator.kind] = (annotatorKinds[p.provenance.annotator.kind] ?? 0) + 1;
    const s = p.provenance.strategy ?? 'unspecified';
    strategies[s] = (strategies[s] ?? 0) + 1;
    if (p.kind === 'pair') {
      perPrompt.set(p.sampleId, (perPrompt.get(p.sampleId) ?? 0) + 1);
      if (p.margin !== undefined) margins.push(p.margin);
      ratioSum += Math.max(1, words(p.chosen.text)) / Math.max(1, words(p.rejected.text));
      ratioN++;
    }
  }
  const counts = [...perPrompt.values()];
  const lo = margins.length ? Math.min(...margins) : 0;
  const hi = margins.length ? Math.max(...margins) : 0;
  const width = hi > lo ? (hi - lo) / bins : 1;
  const hist = new Array<number>(margins.length ? bins : 0).fill(0);
  for (const m of margins) hist[Math.min(bins - 1, Math.floor((m - lo) / width))]++;
  return {
    records: prefs.length,
    byKind,
    prompts: new Set(prefs.map((p) => p.sampleId)).size,
    pairsPerPrompt: {
      mean: counts.length ? counts.reduce((a, b) => a + b, 0) / counts.length : 0,
      max: counts.length ? Math.max(...counts) : 0,
    },
    marginHistogram: { edges: hist.map((_, i) => lo + i * width).concat(hist.length ? [hi] : []), counts: hist },
    lengthRatio: ratioN ? ratioSum / ratioN : Number.NaN,
    annotatorKinds,
    strategies,
  };
}
