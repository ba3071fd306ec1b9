import { pyRound } from './pyfloat.ts';

/**
 * AMBER (Wang et al. 2023, "An LLM-free Multi-dimensional Benchmark for MLLMs Hallucination Evaluation"), ported
 * from junyangwang0410/AMBER@534babf6 inference.py, its arithmetic included:
 * - every denominator starts at 0.001 and every numerator at 0 (data/metrics.txt), so an empty bucket gives 0,
 *   and pooled Attribute sums three 0.001 seeds;
 * - figures are `round(x·100, 1)` (Python half-even), and F1 is computed from the ALREADY-ROUNDED P and R as
 *   2·(P/100)·(R/100)/((P/100)+(R/100)+ε)·100 with ε = 0.0001, except Existence which uses 0.001;
 * - discriminative: "No" is the positive class; only the exact strings "Yes" / "No" count as answers.
 * Generative (CHAIR / Cover / Hal / Cog) needs NLTK POS tags + WordNet lemmas and spaCy en_core_web_lg
 * similarity > 0.8; offline we (1) keep case-preserving tokens whose noun lemma is in the relation.json
 * vocabulary (no POS filter: a vocabulary word used as an adjective still counts, the reference would drop it),
 * (2) take similarity from a user-supplied table over the relation.json words (see `similarityFromTable`),
 * defaulting to identity (= exact matches only). Results are exact when nouns and similarities agree.
 */

export type AmberType =
  | 'generative'
  | 'discriminative-hallucination'
  | 'discriminative-attribute-state'
  | 'discriminative-attribute-number'
  | 'discriminative-attribute-action'
  | 'discriminative-relation'
  | 'relation';

export interface AmberAnnotation {
  id: number;
  type: string;
  truth: string | string[];
  hallu?: string[];
}

export interface AmberResponse {
  id: number;
  response: string;
}

const BUCKETS = ['as', 'an', 'aa', 'ha', 'asso'] as const;
type Bucket = (typeof BUCKETS)[number];

function bucketOf(type: string): Bucket {
  switch (type) {
    case 'discriminative-attribute-state':
      return 'as';
    case 'discriminative-attribute-number':
      return 'an';
    case 'discriminative-attribute-action':
      return 'aa';
    case 'discriminative-hallucination':
      return 'ha';
    default:
      return 'asso';
  }
}

interface QaCounters {
  correct_score: number;
  correct_num: number;
  no_score: number;
  no_num: number;
  ans_no_score: number;
  ans_no_num: number;
}
const SEED = 0.001;
const qa = (): QaCounters => ({
  correct_score: 0,
  correct_num: SEED,
  no_score: 0,
  no_num: SEED,
  ans_no_score: 0,
  ans_no_num: SEED,
});

export interface AmberDiscBlock {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  n: number;
}

function block(c: QaCounters, eps: number, n: number): AmberDiscBlock {
  const accuracy = pyRound((c.correct_score / c.correct_num) * 100, 1);
  const precision = pyRound((c.ans_no_score / c.ans_no_num) * 100, 1);
  const recall = pyRound((c.no_score / c.no_num) * 100, 1);
  const f1 = pyRound(((2 * (precision / 100) * (recall / 100)) / (precision / 100 + recall / 100 + eps)) * 100, 1);
  return { accuracy, precision, recall, f1, n };
}

function sumCounters(cs: QaCounters[]): QaCounters {
  const out: QaCounters = { correct_score: 0, correct_num: 0, no_score: 0, no_num: 0, ans_no_score: 0, ans_no_num: 0 };
  // The reference adds the buckets' counters (each seeded with 0.001) in this order: as + an + aa.
  for (const c of cs) for (const k of Object.keys(out) as (keyof QaCounters)[]) out[k] += c[k];
  return out;
}

export interface AmberDiscriminative {
  overall: AmberDiscBlock;
  existence: AmberDiscBlock;
  attribute: AmberDiscBlock;
  state: AmberDiscBlock;
  number: AmberDiscBlock;
  action: AmberDiscBlock;
  relation: AmberDiscBlock;
  /** share of responses that are exactly "Yes" or "No" (anything else is scored wrong) */
  parse_rate: number;
  n: number;
}

export interface AmberGenerative {
  chair: number;
  cover: number;
  hal: number;
  cog: number;
  n: number;
  n_nouns: number;
  parse_rate: number;
  mean_words: number;
}

export interface AmberGenerativeOptions {
  /** relation.json: object word → associated words */
  association: Readonly<Record<string, readonly string[]>>;
  /** safe_words.txt lines */
  safeWords: readonly string[];
  /** similarity in [0, 1]; identity by default */
  similarity?: (a: string, b: string) => number;
  threshold?: number;
}

export interface AmberResult {
  discriminative?: AmberDiscriminative;
  generative?: AmberGenerative;
  missing: number[];
  /** per-response correctness (discriminative) or hallucination-free flag (generative), for CIs and paired tests */
  items: Array<{ id: number; kind: 'd' | 'g'; correct: boolean }>;
}

export function amberNouns(text: string, vocab: ReadonlySet<string>, lemma: (t: string) => string): string[] {
  // Case is preserved as in the reference (WordNet does not know "Dog", so a capitalised noun is dropped there too).
  const toks = text.match(/[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*/gu) ?? [];
  const out: string[] = [];
  for (const t of toks) {
    const l = lemma(t);
    if (vocab.has(l)) out.push(l);
  }
  return out;
}

/** Similarity from a precomputed table `{ "a\tb": score }` (either order); 1 on identity, 0 when unknown. */
export function similarityFromTable(table: Readonly<Record<string, number>>): (a: string, b: string) => number {
  return (a, b) => (a === b ? 1 : (table[`${a}\t${b}`] ?? table[`${b}\t${a}`] ?? 0));
}

export function scoreAmber(
  annotations: readonly AmberAnnotation[],
  responses: readonly AmberResponse[],
  gen?: AmberGenerativeOptions & { lemma: (t: string) => string },
): AmberResult {
  const counters: Record<Bucket, QaCounters> = { as: qa(), an: qa(), aa: qa(), ha: qa(), asso: qa() };
  const all = qa();
  const nBucket: Record<Bucket, number> = { as: 0, an: 0, aa: 0, ha: 0, asso: 0 };
  let nDisc = 0;
  let parsedDisc = 0;
  const g = {
    chair_score: 0,
    chair_num: SEED,
    safe_cover_score: 0,
    safe_cover_num: SEED,
    hallu_cover_score: 0,
    hallu_cover_num: SEED,
    non_hallu_score: 0,
    non_hallu_num: SEED,
  };
  let nGen = 0;
  let nNouns = 0;
  let parsedGen = 0;
  let genWords = 0;
  const items: AmberResult['items'] = [];
  const missing: number[] = [];
  const vocab = new Set<string>();
  if (gen)
    for (const [k, vs] of Object.entries(gen.association)) {
      vocab.add(k);
      for (const v of vs) vocab.add(v);
    }
  const globalSafe = new Set(gen?.safeWords ?? []);
  const sim = gen?.similarity ?? ((a: string, b: string) => (a === b ? 1 : 0));
  const thr = gen?.threshold ?? 0.8;
  const byId = new Map<number, AmberAnnotation>();
  for (const a of annotations) byId.set(a.id, a);

  for (const r of responses) {
    const ann = byId.get(r.id);
    if (!ann) {
      missing.push(r.id);
      continue;
    }
    if (ann.type === 'generative') {
      if (!gen) continue;
      nGen++;
      if (r.response.trim() !== '') parsedGen++;
      genWords += r.response.trim() === '' ? 0 : r.response.trim().split(/\s+/).length;
      const truth = Array.isArray(ann.truth) ? ann.truth : [];
      const hallu = ann.hallu ?? [];
      const nouns = amberNouns(r.response, vocab, gen.lemma);
      nNouns += nouns.length;
      const safeWords: string[] = [];
      const safeList: number[] = [];
      truth.forEach((w, idx) => {
        const assoc = gen.association[w] ?? [];
        safeWords.push(...assoc);
        for (let i = 0; i < assoc.length; i++) safeList.push(idx);
      });
      const haWords: string[] = [];
      const haList: number[] = [];
      hallu.forEach((w, idx) => {
        const assoc = gen.association[w] ?? [];
        haWords.push(...assoc);
        for (let i = 0; i < assoc.length; i++) haList.push(idx);
      });
      safeWords.push(...truth);
      const safeLen = truth.length;
      for (let i = 0; i < safeLen; i++) safeList.push(0);
      haWords.push(...hallu);
      const haLen = hallu.length;
      for (let i = 0; i < haLen; i++) haList.push(0);
      // An association word marks its object's slot in the tail; a direct object word marks its own tail slot.
      const mark = (list: number[], len: number, j: number) => {
        if (j < list.length - len) list[list[j] + list.length - len] = 1;
        else list[j] = 1;
      };
      const flags = new Array<number>(nouns.length).fill(0);
      nouns.forEach((noun, idx) => {
        if (globalSafe.has(noun)) return;
        const js = safeWords.indexOf(noun);
        if (js !== -1) {
          mark(safeList, safeLen, js);
          return;
        }
        const jh = haWords.indexOf(noun);
        if (jh !== -1) mark(haList, haLen, jh);
        for (let j = 0; j < haWords.length; j++)
          if (sim(noun, haWords[j]) > thr) {
            mark(haList, haLen, j);
            break;
          }
        for (let j = 0; j < safeWords.length; j++)
          if (sim(noun, safeWords[j]) > thr) {
            mark(safeList, safeLen, j);
            return;
          }
        flags[idx] = 1;
      });
      const tail = (list: number[], len: number) => (len === 0 ? list : list.slice(list.length - len));
      const nFlag = flags.reduce((a, b) => a + b, 0);
      g.chair_score += nFlag;
      g.chair_num += flags.length;
      const st = tail(safeList, safeLen);
      g.safe_cover_score += st.reduce((a, b) => a + b, 0);
      g.safe_cover_num += st.length;
      const ht = tail(haList, haLen);
      g.hallu_cover_score += ht.reduce((a, b) => a + b, 0);
      g.hallu_cover_num += ht.length;
      if (nFlag === 0) g.non_hallu_score += 1;
      g.non_hallu_num += 1;
      items.push({ id: r.id, kind: 'g', correct: nFlag === 0 });
      continue;
    }
    nDisc++;
    const b = bucketOf(ann.type);
    nBucket[b]++;
    const c = counters[b];
    const resp = r.response;
    if (resp === 'Yes' || resp === 'No') parsedDisc++;
    all.correct_num += 1;
    c.correct_num += 1;
    let correct = false;
    if (ann.truth === 'yes') {
      if (resp === 'Yes') {
        all.correct_score += 1;
        c.correct_score += 1;
        correct = true;
      }
    } else {
      all.no_num += 1;
      c.no_num += 1;
      if (resp === 'No') {
        all.correct_score += 1;
        all.no_score += 1;
        c.correct_score += 1;
        c.no_score += 1;
        correct = true;
      }
    }
    if (resp === 'No') {
      all.ans_no_num += 1;
      c.ans_no_num += 1;
      if (ann.truth === 'no') {
        all.ans_no_score += 1;
        c.ans_no_score += 1;
      }
    }
    items.push({ id: r.id, kind: 'd', correct });
  }

  const out: AmberResult = { missing, items };
  if (nDisc > 0) {
    out.discriminative = {
      overall: block(all, 0.0001, nDisc),
      existence: block(counters.ha, 0.001, nBucket.ha),
      attribute: block(
        sumCounters([counters.as, counters.an, counters.aa]),
        0.0001,
        nBucket.as + nBucket.an + nBucket.aa,
      ),
      state: block(counters.as, 0.0001, nBucket.as),
      number: block(counters.an, 0.0001, nBucket.an),
      action: block(counters.aa, 0.0001, nBucket.aa),
      relation: block(counters.asso, 0.0001, nBucket.asso),
      parse_rate: parsedDisc / nDisc,
      n: nDisc,
    };
  }
  if (gen && nGen > 0) {
    out.generative = {
      chair: pyRound((g.chair_score / g.chair_num) * 100, 1),
      cover: pyRound((g.safe_cover_score / g.safe_cover_num) * 100, 1),
      hal: pyRound(100 - (g.non_hallu_score / g.non_hallu_num) * 100, 1),
      cog: pyRound((g.hallu_cover_score / g.hallu_cover_num) * 100, 1),
      n: nGen,
      n_nouns: nNouns,
      parse_rate: parsedGen / nGen,
      mean_words: genWords / nGen,
    };
  }
  return out;
}
