import {
  type AlphaMetric,
  cohenKappa as cohen,
  fleissKappa as fleiss,
  krippendorffAlpha,
  percentAgreement,
} from '../../judges/agreement.ts';

/**
 * The studio's view of the agreement statistics in src/judges/agreement.ts: `null` where a statistic is undefined
 * (chance agreement 1, no items), and Fleiss' κ over a count table (`counts[i][c]` raters put item i in category c).
 */
export function cohenKappa(a: readonly string[], b: readonly string[]): number | null {
  const k = cohen(a, b).kappa;
  return Number.isNaN(k) ? null : k;
}

export function fleissKappa(counts: readonly (readonly number[])[]): number | null {
  if (counts.length === 0) return null;
  const m = counts[0].reduce((s, x) => s + x, 0);
  // a varying rater count has no Fleiss' κ (use Krippendorff's alpha)
  if (m < 2 || counts.some((row) => row.reduce((s, x) => s + x, 0) !== m)) return null;
  const k = fleiss(counts.map((row) => row.flatMap((c, j) => Array<string>(c).fill(String(j))))).kappa;
  return Number.isNaN(k) ? null : k;
}

export { type AlphaMetric, krippendorffAlpha, percentAgreement };
