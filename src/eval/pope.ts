import { yornExtract } from './yorn.ts';

/**
 * POPE (Li et al. 2023, "Evaluating Object Hallucination in Large Vision-Language Models"), yes = positive class.
 * Three named parsing rules, because the field's tools disagree on "NO", "Not sure", sentences and unknowns:
 * - `pope`: AoiDragon/POPE `evaluate.py` (= LLaVA `eval_pope.py`): keep text before the first '.', drop ',',
 *   split on a single space, `no` iff the words contain `No`, `not` or `no` (case-sensitive); anything else is yes.
 *   The reference has no zero-division guard (it raises); we return null there.
 * - `lmms-eval`: `tasks/pope/utils.py`: exact match of `lower().strip()`; an answer that is neither yes nor no is
 *   wrong for accuracy and left out of recall's FN; zero-guarded; its `yes_ratio` counts GROUND-TRUTH yes (sic).
 * - `vlmevalkit`: `YOrN_Extraction`; Unknown is wrong and counts as a negative prediction; zero-guarded; the
 *   reference prints no yes-ratio (we give the predicted-yes share) and reports ×100 (we report fractions).
 * Anti-gaming figures beside every result: `parse_rate` (an explicit yes/no was found), `mean_words`.
 */

export type PopeLabel = 'yes' | 'no';
export type PopePrediction = 'yes' | 'no' | 'unknown';

export interface PopeCounts {
  n: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /** predictions that are neither yes nor no, split by ground truth */
  unknownPos: number;
  unknownNeg: number;
  /** answers where the parser found an explicit yes/no */
  parsed: number;
  words: number;
}

export interface PopeMetrics {
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  /** as the parser's reference defines it (see the rule's doc) */
  yes_ratio: number | null;
  /** share of predictions that are yes, whatever the rule's yes_ratio means */
  pred_yes_ratio: number;
  n: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  unknown: number;
  parse_rate: number;
  mean_words: number;
}

const div = (a: number, b: number): number | null => (b === 0 ? null : a / b);
const div0 = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/** The original rule's first-sentence / comma / single-space processing, exposed for tests and reports. */
export function popeWords(text: string): string[] {
  const dot = text.indexOf('.');
  const first = dot === -1 ? text : text.slice(0, dot);
  return first.split(',').join('').split(' ');
}

function wordCount(text: string): number {
  const t = text.trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

interface PopeParser {
  readonly description: string;
  readonly reference: string;
  /** the prediction and whether an explicit yes/no was found */
  predict(answer: string): { pred: PopePrediction; parsed: boolean };
  metrics(
    c: PopeCounts,
  ): Omit<PopeMetrics, 'n' | 'tp' | 'fp' | 'tn' | 'fn' | 'unknown' | 'parse_rate' | 'mean_words' | 'pred_yes_ratio'>;
}

export const POPE_PARSERS = {
  pope: {
    description: 'original POPE/LLaVA rule: first sentence, words No|not|no → no, anything else → yes',
    reference: 'AoiDragon/POPE@08d957b9 evaluate.py; haotian-liu/LLaVA@4241f08c llava/eval/eval_pope.py',
    predict(answer) {
      const words = popeWords(answer);
      const no = words.includes('No') || words.includes('not') || words.includes('no');
      // parse rate only: did the answer say yes/no explicitly (the rule itself defaults to yes)
      const parsed = no || words.some((w) => /^(yes|no|not)$/i.test(w.replace(/[!?;:'"()]/g, '')));
      return { pred: no ? 'no' : 'yes', parsed };
    },
    metrics(c) {
      const precision = div(c.tp, c.tp + c.fp);
      const recall = div(c.tp, c.tp + c.fn);
      const f1 = precision === null || recall === null ? null : div(2 * precision * recall, precision + recall);
      return {
        accuracy: div(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn),
        precision,
        recall,
        f1,
        yes_ratio: div(c.tp + c.fp, c.n),
      };
    },
  },
  'lmms-eval': {
    description: 'lmms-eval: exact match of lower().strip() against yes/no; yes_ratio = ground-truth yes share (sic)',
    reference: 'EvolvingLMMs-Lab/lmms-eval@75571cfe lmms_eval/tasks/pope/utils.py',
    predict(answer) {
      const p = answer.toLowerCase().trim();
      const pred: PopePrediction = p === 'yes' || p === 'no' ? p : 'unknown';
      return { pred, parsed: pred !== 'unknown' };
    },
    metrics(c) {
      const precision = div0(c.tp, c.tp + c.fp);
      const recall = div0(c.tp, c.tp + c.fn);
      const gtYes = c.tp + c.fn + c.unknownPos;
      return {
        accuracy: div0(c.tp + c.tn, c.n),
        precision,
        recall,
        f1: div0(2 * precision * recall, precision + recall),
        yes_ratio: div0(gtYes, c.n),
      };
    },
  },
  vlmevalkit: {
    description: 'VLMEvalKit YOrN_Extraction: yes-word xor no-word after punctuation processing; Unknown = negative',
    reference: 'open-compass/VLMEvalKit@e8e78f05 vlmeval/dataset/utils/yorn.py, vlmeval/smp/misc.py',
    predict(answer) {
      const e = yornExtract(answer);
      const pred: PopePrediction = e === 'Yes' ? 'yes' : e === 'No' ? 'no' : 'unknown';
      return { pred, parsed: pred !== 'unknown' };
    },
    metrics(c) {
      // y_pred = 1 only for Yes: an Unknown on a positive item is a false negative.
      const fn = c.fn + c.unknownPos;
      const precision = div0(c.tp, c.tp + c.fp);
      const recall = div0(c.tp, c.tp + fn);
      return {
        accuracy: div0(c.tp + c.tn, c.n),
        precision,
        recall,
        f1: div0(2 * precision * recall, precision + recall),
        yes_ratio: div0(c.tp + c.fp, c.n),
      };
    },
  },
} as const satisfies Record<string, PopeParser>;

export type PopeParserName = keyof typeof POPE_PARSERS;
export const POPE_PARSER_NAMES = Object.keys(POPE_PARSERS) as PopeParserName[];

export interface PopeItem {
  label: PopeLabel;
  answer: string;
  /** split (random / popular / adversarial, or any category the questions carry) */
  category?: string;
}

export interface PopeItemResult {
  pred: PopePrediction;
  parsed: boolean;
  correct: boolean;
}

export function emptyPopeCounts(): PopeCounts {
  return { n: 0, tp: 0, fp: 0, tn: 0, fn: 0, unknownPos: 0, unknownNeg: 0, parsed: 0, words: 0 };
}

export function addPopeItem(c: PopeCounts, label: PopeLabel, r: PopeItemResult, words: number): void {
  c.n++;
  c.words += words;
  if (r.parsed) c.parsed++;
  if (r.pred === 'yes') label === 'yes' ? c.tp++ : c.fp++;
  else if (r.pred === 'no') label === 'no' ? c.tn++ : c.fn++;
  else label === 'yes' ? c.unknownPos++ : c.unknownNeg++;
}

export function popeMetricsFromCounts(parser: PopeParserName, c: PopeCounts): PopeMetrics {
  const m = POPE_PARSERS[parser].metrics(c);
  return {
    ...m,
    pred_yes_ratio: div0(c.tp + c.fp, c.n),
    n: c.n,
    tp: c.tp,
    fp: c.fp,
    tn: c.tn,
    fn: c.fn,
    unknown: c.unknownPos + c.unknownNeg,
    parse_rate: div0(c.parsed, c.n),
    mean_words: div0(c.words, c.n),
  };
}

export function judgePope(parser: PopeParserName, label: PopeLabel, answer: string): PopeItemResult {
  const { pred, parsed } = POPE_PARSERS[parser].predict(answer);
  return { pred, parsed, correct: pred === label };
}

export interface PopeResult extends PopeMetrics {
  parser: PopeParserName;
  per_split?: Record<string, PopeMetrics>;
}

/** Score POPE answers; per-split metrics when items carry a category (an item may not belong to several). */
export function scorePope(
  items: readonly PopeItem[],
  parser: PopeParserName = 'pope',
): PopeResult & { items: PopeItemResult[] } {
  const all = emptyPopeCounts();
  const splits = new Map<string, PopeCounts>();
  const results: PopeItemResult[] = [];
  for (const it of items) {
    const r = judgePope(parser, it.label, it.answer);
    results.push(r);
    const w = wordCount(it.answer);
    addPopeItem(all, it.label, r, w);
    if (it.category !== undefined) {
      let s = splits.get(it.category);
      if (!s) {
        s = emptyPopeCounts();
        splits.set(it.category, s);
      }
      addPopeItem(s, it.label, r, w);
    }
  }
  const out: PopeResult & { items: PopeItemResult[] } = {
    parser,
    ...popeMetricsFromCounts(parser, all),
    items: results,
  };
  if (splits.size) {
    out.per_split = {};
    for (const [k, c] of [...splits].sort(([a], [b]) => a.localeCompare(b)))
      out.per_split[k] = popeMetricsFromCounts(parser, c);
  }
  return out;
}
