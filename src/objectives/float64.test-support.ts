import type { ObjectiveInput } from './json.ts';
import type { ObjectiveName } from './registry.ts';

/**
 * An independent float64 implementation of every objective, in plain loops over JS numbers, written from the
 * formulas in docs/objectives.md (not from the tfjs code). Tests compare the tfjs losses with it and take finite
 * differences of it for the gradient check. Quantities the tfjs code detaches (stop-gradient) come back in `frozen`
 * and can be passed in again, so finite differences hold them fixed exactly as autograd does.
 */

export interface Frozen {
  delta?: number;
  modelScale?: number;
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));
/** −log σ(x), stable for large |x| */
const nls = (x: number) => (x > 0 ? Math.log1p(Math.exp(-x)) : -x + Math.log1p(Math.exp(x)));
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

type In = ObjectiveInput;
const arr = (x: In, k: keyof In): number[] => {
  const v = x[k];
  if (!Array.isArray(v)) throw new Error(`reference: ${String(k)} missing`);
  return v as number[];
};
const mat = (x: In, k: keyof In): number[][] => arr(x, k) as unknown as number[][];
const betaAt = (x: In, i: number, fallback: number) =>
  x.beta === undefined ? fallback : typeof x.beta === 'number' ? x.beta : x.beta[i]!;

function pairZ(x: In) {
  const pw = arr(x, 'policy_chosen_logps');
  const pl = arr(x, 'policy_rejected_logps');
  const rw = arr(x, 'reference_chosen_logps');
  const rl = arr(x, 'reference_rejected_logps');
  return pw.map((_, i) => pw[i]! - pl[i]! - (rw[i]! - rl[i]!));
}

function tokenNll(lp: number[], len: number[]) {
  return -sum(lp) / sum(len);
}

function dpoLoss(x: In, eps = 0) {
  return avg(pairZ(x).map((z, i) => (1 - eps) * nls(betaAt(x, i, 0.1) * z) + eps * nls(-betaAt(x, i, 0.1) * z)));
}

export function reference(name: ObjectiveName, x: In, frozenIn: Frozen = {}): { loss: number; frozen: Frozen } {
  const p = x.params ?? {};
  const frozen: Frozen = { ...frozenIn };
  const out = (loss: number) => ({ loss, frozen });
  switch (name) {
    case 'bt': {
      const rw = arr(x, 'chosen_rewards');
      const rl = arr(x, 'rejected_rewards');
      const m = x.reward_margins ?? rw.map(() => 0);
      const c = p.center_rewards_coefficient ?? 0;
      return out(
        avg(rw.map((_, i) => nls(rw[i]! - rl[i]! - m[i]!))) + c * avg(rw.map((_, i) => (rw[i]! + rl[i]!) ** 2)),
      );
    }
    case 'dpo':
      return out(dpoLoss(x, p.label_smoothing ?? 0));
    case 'robust': {
      const e = p.label_smoothing ?? 0;
      return out(
        avg(
          pairZ(x).map(
            (z, i) => ((1 - e) * nls(betaAt(x, i, 0.1) * z) - e * nls(-betaAt(x, i, 0.1) * z)) / (1 - 2 * e),
          ),
        ),
      );
    }
    case 'hinge':
      return out(avg(pairZ(x).map((z, i) => Math.max(0, 1 - betaAt(x, i, 0.1) * z))));
    case 'ipo':
      return out(avg(pairZ(x).map((z, i) => (z - 1 / (2 * betaAt(x, i, 0.1))) ** 2)));
    case 'bco_pair': {
      const pw = arr(x, 'policy_chosen_logps');
      const hw = pw.map((_, i) => betaAt(x, i, 0.1) * (pw[i]! - arr(x, 'reference_chosen_logps')[i]!));
      const hl = pw.map(
        (_, i) => betaAt(x, i, 0.1) * (arr(x, 'policy_rejected_logps')[i]! - arr(x, 'reference_rejected_logps')[i]!),
      );
      const delta = p.delta ?? frozen.delta ?? avg([...hw, ...hl]);
      frozen.delta = delta;
      return out(avg(hw.map((_, i) => nls(hw[i]! - delta) + nls(-(hl[i]! - delta)))));
    }
    case 'simpo': {
      const g = p.gamma ?? 0.5;
      const e = p.label_smoothing ?? 0;
      const pw = arr(x, 'policy_chosen_logps');
      return out(
        avg(
          pw.map((_, i) => {
            const u =
              betaAt(x, i, 0.1) *
                (pw[i]! / arr(x, 'chosen_lengths')[i]! -
                  arr(x, 'policy_rejected_logps')[i]! / arr(x, 'rejected_lengths')[i]!) -
              g;
            return (1 - e) * nls(u) + e * nls(-u);
          }),
        ),
      );
    }
    case 'orpo': {
      const pw = arr(x, 'policy_chosen_logps');
      const nw = arr(x, 'chosen_lengths');
      const odds = (a: number) => a - Math.log(1 - Math.exp(a));
      const terms = pw.map((_, i) => {
        const aw = pw[i]! / nw[i]!;
        const al = arr(x, 'policy_rejected_logps')[i]! / arr(x, 'rejected_lengths')[i]!;
        return nls(odds(aw) - odds(al));
      });
      return out(tokenNll(pw, nw) + (p.lambda ?? 0.1) * avg(terms));
    }
    case 'sft':
      return out(tokenNll(arr(x, 'policy_chosen_logps'), arr(x, 'chosen_lengths')));
    case 'kto': {
      const b = typeof x.beta === 'number' ? x.beta : 0.1;
      const z0 = Math.max(0, p.kl ?? 0);
      const pw = arr(x, 'policy_chosen_logps');
      const pl = arr(x, 'policy_rejected_logps');
      const lw = pw.map(
        (v, i) => (p.desirable_weight ?? 1) * (1 - sig(b * (v - arr(x, 'reference_chosen_logps')[i]! - z0))),
      );
      const ll = pl.map(
        (v, i) => (p.undesirable_weight ?? 1) * (1 - sig(b * (z0 - (v - arr(x, 'reference_rejected_logps')[i]!)))),
      );
      return out(avg([...lw, ...ll]));
    }
    case 'fdpo': {
      const b = typeof x.beta === 'number' ? x.beta : 0.1;
      const a = arr(x, 'policy_chosen_logps').map((v, i) => nls(b * (v - arr(x, 'reference_chosen_logps')[i]!)));
      const h = arr(x, 'policy_rejected_logps').map((v, i) => nls(-b * (v - arr(x, 'reference_rejected_logps')[i]!)));
      return out(avg([...a, ...h]));
    }
    case 'image_dpo':
    case 'mdpo':
    case 'chip': {
      const pw = arr(x, 'policy_chosen_logps');
      const img = pw.map(
        (v, i) =>
          v -
          arr(x, 'reference_chosen_logps')[i]! -
          (arr(x, 'policy_chosen_logps_corrupt')[i]! - arr(x, 'reference_chosen_logps_corrupt')[i]!),
      );
      if (name === 'image_dpo') return out(avg(img.map((v, i) => nls(betaAt(x, i, 0.1) * v))));
      const z = pairZ(x);
      if (name === 'mdpo') {
        const anchor = pw.map((v, i) =>
          nls(betaAt(x, i, 0.1) * (v - arr(x, 'reference_chosen_logps')[i]!) - (p.delta ?? 0)),
        );
        return out(dpoLoss(x) + avg(img.map((v, i) => nls(betaAt(x, i, 0.1) * v))) + avg(anchor));
      }
      const klw = x.chosen_seq_kl;
      const kll = x.rejected_seq_kl;
      const logit = z.map((v, i) => v + img[i]! - (klw && kll ? (p.tok_beta ?? 0.1) * (kll[i]! - klw[i]!) : 0));
      const pref = avg(logit.map((v, i) => nls(betaAt(x, i, 0.1) * v)));
      const sw = p.sft_weight ?? 0;
      return out(pref + (sw ? sw * tokenNll(pw, arr(x, 'chosen_lengths')) : 0));
    }
    case 'dense_dpo': {
      const wlp = (lp: string, w: string, m: string) =>
        mat(x, lp as keyof In).map((row, i) => {
          const mask = (x[m as keyof In] as number[][] | undefined)?.[i];
          let s = 0;
          let ws = 0;
          row.forEach((v, t) => {
            const wt = mat(x, w as keyof In)[i]![t]! * (mask ? mask[t]! : 1);
            s += wt * v;
            ws += wt;
          });
          return p.normalize ? s / ws : s;
        });
      const pw = wlp('policy_chosen_token_logps', 'chosen_token_weights', 'chosen_token_mask');
      const pl = wlp('policy_rejected_token_logps', 'rejected_token_weights', 'rejected_token_mask');
      const rw = wlp('reference_chosen_token_logps', 'chosen_token_weights', 'chosen_token_mask');
      const rl = wlp('reference_rejected_token_logps', 'rejected_token_weights', 'rejected_token_mask');
      return out(avg(pw.map((_, i) => nls(betaAt(x, i, 0.1) * (pw[i]! - pl[i]! - (rw[i]! - rl[i]!))))));
    }
    case 'hadpo': {
      const nll = x.sft_logps
        ? tokenNll(x.sft_logps, arr(x, 'sft_lengths'))
        : tokenNll(arr(x, 'policy_chosen_logps'), arr(x, 'chosen_lengths'));
      return out(dpoLoss(x) + (p.sft_weight ?? 1) * nll);
    }
    case 'mia_dpo':
      return out(dpoLoss(x) + (p.gamma ?? 1) * tokenNll(arr(x, 'policy_chosen_logps'), arr(x, 'chosen_lengths')));
    case 'mm_dpo':
    case 'dama': {
      const z = pairZ(x);
      const d = x.reward_margins ?? arr(x, 'chosen_rewards').map((v, i) => v - arr(x, 'rejected_rewards')[i]!);
      if (name === 'mm_dpo') {
        const w = p.w ?? 0.5;
        const k = p.k ?? 1;
        return out(avg(z.map((v, i) => nls(betaAt(x, i, 0.1) * (1 + w * (1 - Math.exp(-k * d[i]!))) * v))));
      }
      const dBar = p.data_gap_mean ?? avg(d);
      const ms = frozen.modelScale ?? avg(z.map(sig)) / sig(p.model_gap_mean ?? 0);
      frozen.modelScale = ms;
      return out(avg(z.map((v, i) => nls(Math.max(1e-3, betaAt(x, i, 0.1) * (sig(d[i]!) / sig(dBar)) * ms) * v))));
    }
    case 'mpo': {
      const w = { dpo: 0.8, bco_pair: 0.2, sft: 1.0, ...(p.weights ?? {}) };
      const bco = reference('bco_pair', x, frozen);
      return out(w.dpo * dpoLoss(x, p.label_smoothing ?? 0) + w.bco_pair * bco.loss + w.sft * reference('sft', x).loss);
    }
    case 'grpo':
    case 'rloo':
    case 'ppo':
      return out(online(name, x));
  }
}

function online(name: 'grpo' | 'rloo' | 'ppo', x: In): number {
  const p = x.params ?? {};
  const lp = mat(x, 'policy_token_logps');
  const old = x.old_token_logps ?? lp;
  const ref = x.reference_token_logps;
  const m = mat(x, 'token_mask');
  const eps = p.epsilon ?? 0.2;
  const epsH = p.epsilon_high ?? eps;
  const surrogate = (i: number, t: number, a: number) => {
    const r = Math.exp(lp[i]![t]! - old[i]![t]!);
    return -Math.min(r * a, Math.min(Math.max(r, 1 - eps), 1 + epsH) * a);
  };
  const N = lp.length;
  const T = lp[0]!.length;
  const reduce = (perTok: (i: number, t: number) => number) => {
    const how = p.loss_aggregation ?? 'sequence';
    let tot = 0;
    let cnt = 0;
    const seqMeans: number[] = [];
    for (let i = 0; i < N; i++) {
      let s = 0;
      let c = 0;
      for (let t = 0; t < T; t++)
        if (m[i]![t]) {
          s += perTok(i, t) * m[i]![t]!;
          c += m[i]![t]!;
        }
      tot += s;
      cnt += c;
      seqMeans.push(s / Math.max(c, 1));
    }
    return how === 'token' ? tot / Math.max(cnt, 1) : how === 'fixed' ? tot / (N * T) : avg(seqMeans);
  };
  if (name === 'ppo') {
    const b = typeof x.beta === 'number' ? x.beta : 0.05;
    const rewards = arr(x, 'rewards');
    const adv: number[][] =
      x.token_advantages ??
      lp.map((row, i) => {
        const len = m[i]!.reduce((a, v) => a + v, 0);
        const tokR = row.map((_, t) =>
          m[i]![t] ? (t === len - 1 ? rewards[i]! : 0) - (ref ? b * (old[i]![t]! - ref[i]![t]!) : 0) : 0,
        );
        const a = new Array<number>(T).fill(0);
        let acc = 0;
        for (let t = T - 1; t >= 0; t--) {
          acc += tokR[t]!;
          a[t] = m[i]![t] ? acc : 0;
        }
        return a;
      });
    let tot = 0;
    let cnt = 0;
    for (let i = 0; i < N; i++)
      for (let t = 0; t < T; t++)
        if (m[i]![t]) {
          tot += surrogate(i, t, adv[i]![t]!);
          cnt++;
        }
    return tot / cnt;
  }
  const groups: number[][] = Array.isArray(x.rewards?.[0])
    ? (x.rewards as number[][])
    : chunk(x.rewards as number[], p.group_size!);
  const flatAdv: number[] = [];
  if (name === 'grpo') {
    for (const g of groups) {
      const mu = avg(g);
      const sd = Math.sqrt(g.reduce((a, v) => a + (v - mu) ** 2, 0) / (g.length - 1));
      for (const v of g) flatAdv.push(p.scale_rewards === false ? v - mu : (v - mu) / (sd + 1e-4));
    }
    const b = typeof x.beta === 'number' ? x.beta : 0.04;
    return reduce((i, t) => {
      let l = surrogate(i, t, flatAdv[i]!);
      if (ref) {
        const d = ref[i]![t]! - lp[i]![t]!;
        l += b * (Math.exp(d) - d - 1);
      }
      return l;
    });
  }
  const b = typeof x.beta === 'number' ? x.beta : 0.05;
  let row = 0;
  for (const g of groups) {
    const shaped = g.map((v, j) => {
      const i = row + j;
      let kl = 0;
      if (ref) for (let t = 0; t < T; t++) kl += m[i]![t]! * (old[i]![t]! - ref[i]![t]!);
      return v - b * kl;
    });
    const s = sum(shaped);
    for (const v of shaped) flatAdv.push(v - (s - v) / (g.length - 1));
    row += g.length;
  }
  return reduce((i, t) => surrogate(i, t, flatAdv[i]!));
}

function chunk(xs: number[], n: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}
