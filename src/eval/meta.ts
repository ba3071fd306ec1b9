/**
 * Evidence across independent replications (training seeds): Student's t, a t interval for a mean over seeds, and a
 * random-effects meta-analysis of per-seed paired effects.
 *
 * Why random effects and not one pooled paired test over every seed's items: each seed is a separate training run
 * (its own SFT model, preference sets and evaluation scenes), and the effect of a method varies from run to run. A
 * pooled item-level test treats 5 × 250 captions as draws from one model, so one lucky seed can carry it; the
 * random-effects model adds the between-seed variance τ² and asks whether the effect holds across runs.
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; |error| < 1e-13 over the range used here). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularised incomplete beta function (modified Lentz). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** I_x(a, b), the regularised incomplete beta function. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(a, b, x)) / a : 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/** Two-sided p-value of Student's t with `df` degrees of freedom: P(|T| ≥ |t|) = I_{df/(df+t²)}(df/2, 1/2). */
export function tTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return Number.isNaN(t) ? Number.NaN : 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** The t quantile t_{1−α/2, df} (bisection on the two-sided p; exact to ~1e-12). */
export function tCritical(df: number, alpha = 0.05): number {
  let lo = 0;
  let hi = 1;
  while (tTwoSidedP(hi, df) > alpha) hi *= 2;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (tTwoSidedP(mid, df) > alpha) lo = mid;
    else hi = mid;
    if (hi - lo < 1e-13 * hi) break;
  }
  return (lo + hi) / 2;
}

export interface SeedMean {
  mean: number;
  /** the 95% t interval over seeds (null with fewer than 2 values) */
  low: number | null;
  high: number | null;
  sd: number | null;
  k: number;
}

/** Mean over seeds with a t interval: mean ± t_{0.975, k−1} · sd / √k (sd with k − 1 in the denominator). */
export function seedMean(values: readonly number[], alpha = 0.05): SeedMean | null {
  const v = values.filter((x) => Number.isFinite(x));
  const k = v.length;
  if (k === 0) return null;
  const mean = v.reduce((a, b) => a + b, 0) / k;
  if (k < 2) return { mean, low: null, high: null, sd: null, k };
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (k - 1));
  const half = (tCritical(k - 1, alpha) * sd) / Math.sqrt(k);
  return { mean, low: mean - half, high: mean + half, sd, k };
}

/** One replication's paired effect: mean per-item difference (B − A) and its sampling variance. */
export interface PairedEffect {
  effect: number;
  variance: number;
  n: number;
}

/**
 * Paired effect of B over A on the same items: d̄ = mean(b_i − a_i), Var = s²_d / n (s²_d with n − 1). For 0/1
 * values this is the difference of the two proportions with the matched-pairs variance McNemar's test uses.
 */
export function pairedEffect(a: readonly number[], b: readonly number[]): PairedEffect | null {
  if (a.length !== b.length) throw new RangeError(`paired lists differ in length: ${a.length} vs ${b.length}`);
  const n = a.length;
  if (n < 2) return null;
  let s = 0;
  for (let i = 0; i < n; i++) s += b[i]! - a[i]!;
  const d = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (b[i]! - a[i]! - d) ** 2;
  return { effect: d, variance: ss / (n - 1) / n, n };
}

export interface MetaResult {
  /** the random-effects pooled effect μ̂ */
  effect: number;
  low: number;
  high: number;
  pValue: number;
  /** between-seed variance (DerSimonian–Laird) */
  tau2: number;
  /** Cochran's Q and I² (share of variation due to heterogeneity) */
  q: number;
  i2: number;
  k: number;
  method: 'random-effects DL + HKSJ';
}

/**
 * Random-effects meta-analysis of k per-seed effects y_s with within-seed variances v_s:
 *   fixed weights w_s = 1/v_s, Q = Σ w_s (y_s − ȳ_w)², τ² = max(0, (Q − (k−1)) / (Σw − Σw²/Σw))  (DerSimonian–Laird 1986);
 *   w*_s = 1/(v_s + τ²), μ̂ = Σ w* y / Σ w*;
 *   Var_HKSJ(μ̂) = Σ w*_s (y_s − μ̂)² / ((k−1) Σ w*), test μ̂/SE against t_{k−1}  (Hartung–Knapp 2001; Sidik–Jonkman 2002).
 * HKSJ rather than the normal-quantile DL interval because with k = 5 the latter is known to be anti-conservative
 * (IntHout et al. 2014). Deviation: a seed whose paired differences are all equal (v_s = 0) gets v_s = 1e-12 so the
 * weights stay finite. The HKSJ variance is floored at the DL one (Knapp–Hartung's "ad hoc" variant, as metafor's
 * `test = "knha"` with `adhoc`), so agreement between seeds never makes the interval narrower than the model's.
 */
export function randomEffects(effects: readonly PairedEffect[], alpha = 0.05): MetaResult | null {
  const k = effects.length;
  if (k < 2) return null;
  const y = effects.map((e) => e.effect);
  const v = effects.map((e) => Math.max(e.variance, 1e-12));
  const w = v.map((x) => 1 / x);
  const sw = w.reduce((a, b) => a + b, 0);
  const sw2 = w.reduce((a, b) => a + b * b, 0);
  const yw = y.reduce((a, yi, i) => a + w[i]! * yi, 0) / sw;
  const q = y.reduce((a, yi, i) => a + w[i]! * (yi - yw) ** 2, 0);
  const tau2 = Math.max(0, (q - (k - 1)) / (sw - sw2 / sw));
  const ws = v.map((x) => 1 / (x + tau2));
  const sws = ws.reduce((a, b) => a + b, 0);
  const mu = y.reduce((a, yi, i) => a + ws[i]! * yi, 0) / sws;
  const hk = y.reduce((a, yi, i) => a + ws[i]! * (yi - mu) ** 2, 0) / ((k - 1) * sws);
  const se = Math.sqrt(Math.max(hk, 1 / sws));
  const t = se > 0 ? mu / se : mu === 0 ? 0 : Math.sign(mu) * Number.POSITIVE_INFINITY;
  const crit = tCritical(k - 1, alpha);
  return {
    effect: mu,
    low: mu - crit * se,
    high: mu + crit * se,
    pValue: tTwoSidedP(t, k - 1),
    tau2,
    q,
    i2: q > 0 ? Math.max(0, (q - (k - 1)) / q) : 0,
    k,
    method: 'random-effects DL + HKSJ',
  };
}
