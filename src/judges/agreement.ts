/**
 * Agreement between annotators / judges on nominal labels (e.g. 'A' | 'B' | 'tie', 'yes' | 'no').
 *
 * Cohen's κ = (p_o − p_e) / (1 − p_e) over items both raters labelled, p_e from each rater's own marginals
 * (Cohen 1960). Fleiss' κ for a fixed number of raters per item (Fleiss 1971): P̄ = mean_i Σ_j n_ij(n_ij−1)/(n(n−1)),
 * P̄_e = Σ_j p_j². Both are 1 for perfect agreement, 0 at chance; when p_e = 1 (one label used by everyone) κ is
 * undefined and we return NaN rather than a misleading 1 or 0.
 */

export interface KappaResult {
  kappa: number;
  observed: number;
  expected: number;
  n: number;
}

export function cohenKappa(a: readonly string[], b: readonly string[]): KappaResult {
  if (a.length !== b.length) throw new RangeError(`cohenKappa: ${a.length} vs ${b.length} labels`);
  const n = a.length;
  if (n === 0) return { kappa: Number.NaN, observed: Number.NaN, expected: Number.NaN, n };
  const ca = new Map<string, number>();
  const cb = new Map<string, number>();
  let agree = 0;
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i]) agree++;
    ca.set(a[i], (ca.get(a[i]) ?? 0) + 1);
    cb.set(b[i], (cb.get(b[i]) ?? 0) + 1);
  }
  const observed = agree / n;
  let expected = 0;
  for (const [label, k] of ca) expected += (k / n) * ((cb.get(label) ?? 0) / n);
  const kappa = expected === 1 ? Number.NaN : (observed - expected) / (1 - expected);
  return { kappa, observed, expected, n };
}

/** Labels keyed by item id for two raters: κ over the items both labelled. */
export function cohenKappaOverlap(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): KappaResult {
  const xs: string[] = [];
  const ys: string[] = [];
  for (const [item, label] of a) {
    const other = b.get(item);
    if (other !== undefined) {
      xs.push(label);
      ys.push(other);
    }
  }
  return cohenKappa(xs, ys);
}

/** Fleiss' κ; `items[i]` holds the labels the raters gave item i (same count per item; items with fewer are skipped). */
export function fleissKappa(items: readonly (readonly string[])[]): KappaResult {
  const m = Math.max(0, ...items.map((x) => x.length));
  const used = items.filter((x) => x.length === m && m >= 2);
  const N = used.length;
  if (N === 0) return { kappa: Number.NaN, observed: Number.NaN, expected: Number.NaN, n: 0 };
  const totals = new Map<string, number>();
  let pSum = 0;
  for (const labels of used) {
    const counts = new Map<string, number>();
    for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    let s = 0;
    for (const [l, c] of counts) {
      s += c * (c - 1);
      totals.set(l, (totals.get(l) ?? 0) + c);
    }
    pSum += s / (m * (m - 1));
  }
  const observed = pSum / N;
  let expected = 0;
  for (const c of totals.values()) expected += (c / (N * m)) ** 2;
  const kappa = expected === 1 ? Number.NaN : (observed - expected) / (1 - expected);
  return { kappa, observed, expected, n: N };
}

/** Share of items where a judge's label equals the ground-truth (rule) label: judge calibration on ShapeWorld. */
export function accuracyAgainst(
  judge: ReadonlyMap<string, string>,
  truth: ReadonlyMap<string, string>,
): { accuracy: number; n: number } {
  let n = 0;
  let right = 0;
  for (const [item, label] of judge) {
    const t = truth.get(item);
    if (t === undefined) continue;
    n++;
    if (t === label) right++;
  }
  return { accuracy: n ? right / n : Number.NaN, n };
}

export type AlphaMetric = 'nominal' | 'interval';

/**
 * Krippendorff's alpha (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"), any number of raters,
 * missing values allowed. Each unit lists the values it received; units with fewer than two are not pairable and
 * are dropped. Coincidences o_ck = Σ_u (number of c–k pairs in u) / (m_u − 1); n_c = Σ_k o_ck; n = Σ n_c;
 * α = 1 − (n − 1) · Σ o_ck δ²_ck / Σ n_c n_k δ²_ck, with δ² = [c ≠ k] (nominal) or (c − k)² (interval).
 */
export function krippendorffAlpha(
  units: readonly (readonly (string | number)[])[],
  metric: AlphaMetric,
): number | null {
  const values: (string | number)[] = [];
  const index = new Map<string | number, number>();
  const pairable = units.filter((u) => u.length >= 2);
  for (const u of pairable)
    for (const v of u)
      if (!index.has(v)) {
        index.set(v, values.length);
        values.push(v);
      }
  const V = values.length;
  if (V === 0) return null;
  const o = Array.from({ length: V }, () => new Array<number>(V).fill(0));
  for (const u of pairable) {
    const m = u.length;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < m; j++) if (i !== j) o[index.get(u[i])!][index.get(u[j])!] += 1 / (m - 1);
  }
  const nc = o.map((row) => row.reduce((s, x) => s + x, 0));
  const n = nc.reduce((s, x) => s + x, 0);
  const d2 = (c: number, k: number) => {
    if (metric === 'nominal') return c === k ? 0 : 1;
    const diff = Number(values[c]) - Number(values[k]);
    return diff * diff;
  };
  let Do = 0;
  let De = 0;
  for (let c = 0; c < V; c++)
    for (let k = 0; k < V; k++) {
      Do += o[c][k] * d2(c, k);
      De += nc[c] * nc[k] * d2(c, k);
    }
  if (De === 0) return null;
  return 1 - ((n - 1) * Do) / De;
}

/** Share of units on which two label lists agree exactly. */
export function percentAgreement(a: readonly string[], b: readonly string[]): number | null {
  if (a.length === 0) return null;
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}
