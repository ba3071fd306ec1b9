/**
 * Multiple choice with CircularEval (Liu et al. 2023, MMBench): a question with N options is asked N times with
 * the options rotated; it counts as solved only if every rotation is answered right. Option extraction follows
 * VLMEvalKit's `can_infer` rules: replace `.()[],:;!*#{}` by spaces, split on whitespace; exactly one option letter
 * among the words → that letter; otherwise exactly one option text contained in the lower-cased answer → its
 * letter; otherwise unparsed. (VLMEvalKit then asks an LLM; we report the unparsed share instead.)
 */

export const OPTION_LETTERS = 'ABCDEFGHIJ';

export function extractOption(answer: string, options: readonly string[]): string | null {
  const letters = options.map((_, i) => OPTION_LETTERS[i]);
  let mod = answer;
  for (const c of '.()[],:;!*#{}') mod = mod.split(c).join(' ');
  const words = mod.split(/\s+/).filter((w) => w !== '');
  const hits = letters.filter((l) => words.includes(l));
  if (hits.length === 1) return hits[0];
  const low = answer.toLowerCase();
  const textHits = letters.filter((_, i) => low.includes(String(options[i]).toLowerCase()));
  if (textHits.length === 1) return textHits[0];
  return null;
}

/** Rotation r of the options: option i moves to position (i − r) mod N (MMBench's circular shift). */
export function rotateOptions<T>(options: readonly T[], r: number): T[] {
  const n = options.length;
  return options.map((_, i) => options[(i + r) % n]);
}

export interface McItem {
  question: string;
  /** 0 = original order */
  rotation: number;
  pred: string | null;
  gold: string;
  category?: string;
}

export interface McResult {
  circular_accuracy: number | null;
  /** accuracy on rotation 0 only (the "vanilla" single pass) */
  vanilla_accuracy: number | null;
  /** accuracy over all rotations */
  accuracy: number | null;
  n_questions: number;
  n: number;
  parse_rate: number | null;
  per_category?: Record<string, { circular_accuracy: number; n_questions: number }>;
  /** per question, all rotations right */
  solved: Map<string, boolean>;
}

export function scoreCircular(items: readonly McItem[]): McResult {
  const solved = new Map<string, boolean>();
  const cat = new Map<string, string | undefined>();
  let right = 0;
  let parsed = 0;
  let v0 = 0;
  let n0 = 0;
  for (const it of items) {
    const ok = it.pred !== null && it.pred === it.gold;
    if (ok) right++;
    if (it.pred !== null) parsed++;
    if (it.rotation === 0) {
      n0++;
      if (ok) v0++;
    }
    solved.set(it.question, (solved.get(it.question) ?? true) && ok);
    if (!cat.has(it.question)) cat.set(it.question, it.category);
  }
  const nq = solved.size;
  let nSolved = 0;
  const perCat = new Map<string, { s: number; n: number }>();
  for (const [q, s] of solved) {
    if (s) nSolved++;
    const c = cat.get(q);
    if (c !== undefined) {
      let pc = perCat.get(c);
      if (!pc) {
        pc = { s: 0, n: 0 };
        perCat.set(c, pc);
      }
      pc.n++;
      if (s) pc.s++;
    }
  }
  const out: McResult = {
    circular_accuracy: nq ? nSolved / nq : null,
    vanilla_accuracy: n0 ? v0 / n0 : null,
    accuracy: items.length ? right / items.length : null,
    n_questions: nq,
    n: items.length,
    parse_rate: items.length ? parsed / items.length : null,
    solved,
  };
  if (perCat.size) {
    out.per_category = {};
    for (const [c, v] of [...perCat].sort(([a], [b]) => a.localeCompare(b)))
      out.per_category[c] = { circular_accuracy: v.s / v.n, n_questions: v.n };
  }
  return out;
}
