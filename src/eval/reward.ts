import { seededRandom } from './stats.ts';

/**
 * Reward-model / judge benchmarks on preference pairs (VL-RewardBench, Multimodal RewardBench style).
 * - overall accuracy = micro mean over pairs; macro accuracy = mean of per-category accuracies. The tools report
 *   different ones: VL-RewardBench cal.py gives both, lmms-eval only macro, MM-RewardBench's "Overall" is micro.
 * - ACC+ = share of items (pairs grouped by `group`) whose pairs are all right.
 * - unparsed verdicts (`pred: null`): `exclude` (cal.py drops them from the denominator), `wrong` (VLMEvalKit),
 *   `first` (lmms-eval MM-RewardBench reseeds per item, so every unparsed output becomes the first option),
 *   `random` (a seeded coin; not Python's Mersenne Twister, so not draw-for-draw identical to the reference).
 */

export const UNPARSED_POLICIES = {
  exclude: 'left out of numerator and denominator (VL-RewardBench cal.py)',
  wrong: 'counted as wrong (VLMEvalKit)',
  first: 'counted as the first option (lmms-eval Multimodal RewardBench, per-item seed)',
  random: 'a seeded random option (Multimodal RewardBench script; not draw-identical)',
} as const;
export type UnparsedPolicy = keyof typeof UNPARSED_POLICIES;

export interface RewardItem {
  id: string;
  category: string;
  /** pairs sharing a group form one ACC+ item; the id by default */
  group?: string;
  pred: string | null;
  gold: string;
  options?: readonly string[];
}

export interface RewardResult {
  overall_accuracy: number | null;
  macro_accuracy: number | null;
  acc_plus: number | null;
  per_category: Record<string, { accuracy: number | null; n: number }>;
  n: number;
  n_counted: number;
  parse_rate: number | null;
  unparsed_policy: UnparsedPolicy;
  /** per item: 1 right, 0 wrong, null excluded */
  correct: Array<number | null>;
}

export function scoreRewardPairs(
  items: readonly RewardItem[],
  policy: UnparsedPolicy = 'exclude',
  seed = 123,
): RewardResult {
  const rand = seededRandom(seed);
  const correct: Array<number | null> = [];
  const cats = new Map<string, { right: number; n: number; all: number }>();
  const groups = new Map<string, boolean>();
  let parsed = 0;
  for (const it of items) {
    const opts = it.options ?? ['A', 'B'];
    let pred = it.pred;
    if (pred !== null) parsed++;
    else if (policy === 'first') pred = opts[0];
    else if (policy === 'random') pred = opts[Math.floor(rand() * opts.length)];
    const c: number | null = pred === null ? (policy === 'exclude' ? null : 0) : pred === it.gold ? 1 : 0;
    correct.push(c);
    let cat = cats.get(it.category);
    if (!cat) {
      cat = { right: 0, n: 0, all: 0 };
      cats.set(it.category, cat);
    }
    cat.all++;
    if (c !== null) {
      cat.n++;
      cat.right += c;
    }
    const g = it.group ?? it.id;
    groups.set(g, (groups.get(g) ?? true) && c === 1);
  }
  let right = 0;
  let counted = 0;
  for (const c of correct)
    if (c !== null) {
      counted++;
      right += c;
    }
  const per_category: RewardResult['per_category'] = {};
  const accs: number[] = [];
  for (const [k, v] of [...cats].sort(([a], [b]) => a.localeCompare(b))) {
    const acc = v.n ? v.right / v.n : null;
    per_category[k] = { accuracy: acc, n: v.n };
    if (acc !== null) accs.push(acc);
  }
  const nGroups = groups.size;
  let allRight = 0;
  for (const v of groups.values()) if (v) allRight++;
  return {
    overall_accuracy: counted ? right / counted : null,
    macro_accuracy: accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : null,
    acc_plus: nGroups ? allRight / nGroups : null,
    per_category,
    n: items.length,
    n_counted: counted,
    parse_rate: items.length ? parsed / items.length : null,
    unparsed_policy: policy,
    correct,
  };
}

/** VL-RewardBench's verdict regex on the text with newlines and '*' removed: returns 1, 2 or null. */
export function parseVlRewardVerdict(text: string): number | null {
  const t = text.replace(/\n/g, '').replace(/\*/g, '');
  const m = /(?:Overall Judgment|Therefore)\s*.*\s*-*\s*Answer\s*(\d+)\s*is\s*(?:the\s*)?(?:slightly\s*)?better/i.exec(
    t,
  );
  return m ? Number(m[1]) : null;
}

/** Multimodal RewardBench / MT-Bench strict verdict: "[[A]]" first, then "[[B]]". */
export function parseBracketVerdict(text: string): 'A' | 'B' | null {
  if (text.includes('[[A]]')) return 'A';
  if (text.includes('[[B]]')) return 'B';
  return null;
}
