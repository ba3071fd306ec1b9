/**
 * Inter-annotator agreement, pure functions over labels. `null` means undefined (e.g. expected disagreement 0, as
 * when every label is the same category): the ratio 0/0 has no value and we do not invent one.
 */

/**
 * Cohen's kappa for two raters on nominal categories (Cohen 1960): κ = (p_o − p_e) / (1 − p_e), with p_o the
 * observed agreement and p_e = Σ_c p_a(c)·p_b(c) the agreement expected from each rater's own marginals.
 */
export function cohenKappa(a: readonly string[], b: readonly string[]): number | null {
  if (a.length !== b.length) throw new RangeError(`cohenKappa: ${a.length} vs ${b.length} labels`);
  const n = a.length;
  if (n === 0) return null;
  let agree = 0;
  const ca = new Map<string, number>();
  const cb = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i]) agree++;
    ca.set(a[i], (ca.get(a[i]) ?? 0) + 1);
    cb.set(b[i], (cb.get(b[i]) ?? 0) + 1);
  }
  const po = agree / n;
  let pe = 0;
  for (const [c, na] of ca) pe += (na / n) * ((cb.get(c) ?? 0) / n);
  return pe === 1 ? null : (po - pe) / (1 - pe);
}

/**
 * Fleiss' kappa (Fleiss 1971) for N items each rated by the same number m ≥ 2 of raters; `counts[i][c]` is how
 * many raters put item i in category c. P_i = (Σ_c n_ic² − m) / (m(m−1)), P̄ = mean P_i, p_c = Σ_i n_ic / (N m),
 * P̄_e = Σ_c p_c², κ = (P̄ − P̄_e) / (1 − P̄_e). Returns null if the rater count varies (use Krippendorff's alpha).
 */
export function fleissKappa(counts: readonly (readonly number[])[]): number | null {
  if (counts.length === 0) return null;
  const m = counts[0].reduce((s, x) => s + x, 0);
  if (m < 2 || counts.some((row) => row.reduce((s, x) => s + x, 0) !== m)) return null;
  const N = counts.length;
  const k = counts[0].length;
  let pBar = 0;
  for (const row of counts) pBar += (row.reduce((s, x) => s + x * x, 0) - m) / (m * (m - 1));
  pBar /= N;
  let pe = 0;
  for (let c = 0; c < k; c++) {
    const pc = counts.reduce((s, row) => s + row[c], 0) / (N * m);
    pe += pc * pc;
  }
  return pe === 1 ? null : (pBar - pe) / (1 - pe);
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
