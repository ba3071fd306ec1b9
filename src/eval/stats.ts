/**
 * Uncertainty and significance for benchmark figures: percentile bootstrap CIs (Efron & Tibshirani 1993),
 * the paired bootstrap test for two systems on the same items (Koehn 2004, "Statistical significance tests for
 * machine translation evaluation") and the exact McNemar test for paired per-item correctness.
 * Everything is seeded, so a report re-rendered from the same responses shows the same intervals.
 */

/** mulberry32: a tiny seeded PRNG; deterministic across platforms, good enough for resampling. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BootstrapOptions {
  /** resamples; 1000 by default */
  resamples?: number;
  seed?: number;
  /** 0.05 gives a 95% interval */
  alpha?: number;
}

export interface Interval {
  low: number;
  high: number;
  level: number;
  resamples: number;
}

/** Linear-interpolated quantile of sorted values (numpy's default `linear` method). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Percentile bootstrap CI of `stat` over items: resample n item indices with replacement, recompute the statistic.
 * `stat` receives the resampled index list, so metrics that are not means (F1, CHAIRi ratios) resample correctly.
 * Resamples where the statistic is undefined (NaN) are dropped.
 */
export function bootstrapCI(
  n: number,
  stat: (idx: Int32Array) => number,
  opts: BootstrapOptions = {},
): Interval | null {
  const B = opts.resamples ?? 1000;
  const alpha = opts.alpha ?? 0.05;
  if (n === 0) return null;
  const rand = seededRandom(opts.seed ?? 1234);
  const values: number[] = [];
  const idx = new Int32Array(n);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rand() * n);
    const v = stat(idx);
    if (Number.isFinite(v)) values.push(v);
  }
  if (values.length === 0) return null;
  values.sort((x, y) => x - y);
  return {
    low: quantileSorted(values, alpha / 2),
    high: quantileSorted(values, 1 - alpha / 2),
    level: 1 - alpha,
    resamples: B,
  };
}

/** Bootstrap CI of the mean of per-item values. */
export function meanCI(values: readonly number[], opts: BootstrapOptions = {}): Interval | null {
  return bootstrapCI(
    values.length,
    (idx) => {
      let s = 0;
      for (let i = 0; i < idx.length; i++) s += values[idx[i]];
      return s / idx.length;
    },
    opts,
  );
}

export interface PairedTest {
  test: 'paired_bootstrap' | 'mcnemar_exact';
  /** observed statistic difference B − A */
  delta: number;
  pValue: number;
  n: number;
  /** McNemar: items only A got right (b) and only B got right (c) */
  discordant?: { aOnly: number; bOnly: number };
  ci?: Interval | null;
}

/**
 * Paired bootstrap: resample item indices jointly for both systems, recompute Δ = stat(B) − stat(A); the two-sided
 * p-value is 2·min(P(Δ* ≤ 0), P(Δ* ≥ 0)), capped at 1. Works for any statistic (accuracy, F1, CHAIRi).
 */
export function pairedBootstrap(
  n: number,
  statA: (idx: Int32Array) => number,
  statB: (idx: Int32Array) => number,
  opts: BootstrapOptions = {},
): PairedTest {
  const B = opts.resamples ?? 1000;
  const rand = seededRandom(opts.seed ?? 1234);
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const delta = statB(all) - statA(all);
  const deltas: number[] = [];
  const idx = new Int32Array(n);
  let le = 0;
  let ge = 0;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rand() * n);
    const d = statB(idx) - statA(idx);
    if (!Number.isFinite(d)) continue;
    deltas.push(d);
    if (d <= 0) le++;
    if (d >= 0) ge++;
  }
  const m = deltas.length;
  deltas.sort((x, y) => x - y);
  const alpha = opts.alpha ?? 0.05;
  return {
    test: 'paired_bootstrap',
    delta,
    pValue: m === 0 ? 1 : Math.min(1, (2 * Math.min(le, ge)) / m),
    n,
    ci:
      m === 0
        ? null
        : {
            low: quantileSorted(deltas, alpha / 2),
            high: quantileSorted(deltas, 1 - alpha / 2),
            level: 1 - alpha,
            resamples: B,
          },
  };
}

/** log C(n, k) via log-gamma-free summation (exact enough for n up to millions). */
function logChoose(n: number, k: number): number {
  let s = 0;
  const kk = Math.min(k, n - k);
  for (let i = 1; i <= kk; i++) s += Math.log(n - kk + i) - Math.log(i);
  return s;
}

/**
 * Exact (binomial) McNemar test on paired correctness: b = A right & B wrong, c = A wrong & B right;
 * p = min(1, 2·P(X ≤ min(b, c))) with X ~ Bin(b + c, ½). Same as statsmodels `mcnemar(exact=True)`.
 */
export function mcnemarExact(a: readonly boolean[], b: readonly boolean[]): PairedTest {
  if (a.length !== b.length) throw new RangeError(`paired lists differ in length: ${a.length} vs ${b.length}`);
  let aOnly = 0;
  let bOnly = 0;
  let accA = 0;
  let accB = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i]) accA++;
    if (b[i]) accB++;
    if (a[i] && !b[i]) aOnly++;
    else if (!a[i] && b[i]) bOnly++;
  }
  const nd = aOnly + bOnly;
  const k = Math.min(aOnly, bOnly);
  let p = 0;
  for (let i = 0; i <= k; i++) p += Math.exp(logChoose(nd, i) - nd * Math.LN2);
  return {
    test: 'mcnemar_exact',
    delta: a.length ? (accB - accA) / a.length : 0,
    pValue: nd === 0 ? 1 : Math.min(1, 2 * p),
    n: a.length,
    discordant: { aOnly, bOnly },
  };
}
