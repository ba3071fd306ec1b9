import type { SynonymTable } from './chair-synonyms.ts';
import { type Lemmatizer, makeLemmatizer, tokenize } from './lemma.ts';

/**
 * CHAIR (Rohrbach et al. 2018, "Object Hallucination in Image Captioning"), as LisaAnne/Hallucination utils/chair.py
 * and its Python 3 port OPERA chair.py compute it:
 * - caption → lower-cased tokens → noun lemmas → greedy left-to-right two-word merge through `doubleWords`
 *   → drop every "seat" if "toilet" occurs → keep surface forms of the synonym list → map to node words;
 *   duplicates are kept, each mention counts.
 * - CHAIRi = Σ hallucinated mentions / Σ object mentions (whole file); CHAIRs = captions with ≥ 1 hallucinated
 *   mention / captions; Recall (OPERA) = Σ |unique correct node words| / Σ |ground-truth objects|.
 * A mention is hallucinated when its node word is not among the image's ground-truth node words.
 * The references raise ZeroDivisionError on an empty denominator; we return null.
 */

export interface ChairVocabulary {
  inverse: ReadonlyMap<string, string>;
  doubleWords: ReadonlyMap<string, string>;
  /** first words of the two-word entries (skips building a pair string for most tokens) */
  doubleFirst: ReadonlySet<string>;
  lemma: Lemmatizer;
  /** the COCO "toilet seat is not a chair" rule */
  toiletSeatRule: boolean;
}

const COCO_DOUBLE_WORDS = [
  'motor bike',
  'motor cycle',
  'air plane',
  'traffic light',
  'street light',
  'traffic signal',
  'stop light',
  'fire hydrant',
  'stop sign',
  'parking meter',
  'suit case',
  'sports ball',
  'baseball bat',
  'baseball glove',
  'tennis racket',
  'wine glass',
  'hot dog',
  'cell phone',
  'mobile phone',
  'teddy bear',
  'hair drier',
  'potted plant',
  'bow tie',
  'laptop computer',
  'stove top oven',
  'home plate',
  'train track',
] as const;
const ANIMAL_WORDS = [
  'bird',
  'cat',
  'dog',
  'horse',
  'sheep',
  'cow',
  'elephant',
  'bear',
  'zebra',
  'giraffe',
  'animal',
  'cub',
];
const VEHICLE_WORDS = ['jet', 'train'];

function firstWords(dw: ReadonlyMap<string, string>): Set<string> {
  return new Set([...dw.keys()].map((k) => k.split(' ')[0]));
}

function vocabWords(keys: Iterable<string>): Set<string> {
  const v = new Set<string>();
  for (const k of keys) for (const w of k.split(' ')) if (w) v.add(w);
  return v;
}

/** The COCO rules of the reference: its two-word list, baby/adult animals, passenger vehicles, bow tie → tie, … */
export function cocoVocabulary(table: SynonymTable): ChairVocabulary {
  const dw = new Map<string, string>();
  for (const d of COCO_DOUBLE_WORDS) dw.set(d, d);
  for (const a of ANIMAL_WORDS) {
    dw.set(`baby ${a}`, a);
    dw.set(`adult ${a}`, a);
  }
  for (const v of VEHICLE_WORDS) dw.set(`passenger ${v}`, v);
  dw.set('bow tie', 'tie');
  dw.set('toilet seat', 'toilet');
  dw.set('wine glas', 'wine glass');
  const vocab = vocabWords([...table.inverse.keys(), ...dw.keys()]);
  return {
    inverse: table.inverse,
    doubleWords: dw,
    doubleFirst: firstWords(dw),
    lemma: makeLemmatizer(vocab),
    toiletSeatRule: true,
  };
}

/** For any other object vocabulary (e.g. ShapeWorld): every multi-word surface form is a two-word entry. */
export function genericVocabulary(table: SynonymTable): ChairVocabulary {
  const dw = new Map<string, string>();
  for (const k of table.inverse.keys()) if (k.split(' ').length === 2) dw.set(k, k);
  return {
    inverse: table.inverse,
    doubleWords: dw,
    doubleFirst: firstWords(dw),
    lemma: makeLemmatizer(vocabWords(table.inverse.keys())),
    toiletSeatRule: false,
  };
}

export interface CaptionObjects {
  /** surface forms found, in order (after merging) */
  words: string[];
  /** node word of each */
  nodes: string[];
  /** number of tokens after the two-word merge (the reference's raw words, used for Len) */
  tokenCount: number;
}

export function captionObjects(caption: string, v: ChairVocabulary): CaptionObjects {
  const lem = tokenize(caption).map(v.lemma);
  let merged: string[] = [];
  for (let i = 0; i < lem.length; ) {
    const pair = i + 1 < lem.length && v.doubleFirst.has(lem[i]) ? `${lem[i]} ${lem[i + 1]}` : undefined;
    const m = pair === undefined ? undefined : v.doubleWords.get(pair);
    if (m !== undefined) {
      merged.push(m);
      i += 2;
    } else {
      merged.push(lem[i]);
      i += 1;
    }
  }
  const tokenCount = merged.length;
  if (v.toiletSeatRule && merged.includes('toilet') && merged.includes('seat'))
    merged = merged.filter((w) => w !== 'seat');
  const words: string[] = [];
  const nodes: string[] = [];
  for (const w of merged) {
    const n = v.inverse.get(w);
    if (n !== undefined) {
      words.push(w);
      nodes.push(n);
    }
  }
  return { words, nodes, tokenCount };
}

/** Ground-truth names → node words: a synonym maps to its node; otherwise parsed like a caption; else kept. */
export function groundTruthNodes(names: readonly string[], v: ChairVocabulary): Set<string> {
  const out = new Set<string>();
  for (const raw of names) {
    const name = raw.trim();
    const direct = v.inverse.get(name) ?? v.inverse.get(name.toLowerCase());
    if (direct !== undefined) {
      out.add(direct);
      continue;
    }
    const parsed = captionObjects(name, v).nodes;
    if (parsed.length) for (const p of parsed) out.add(p);
    else out.add(name.toLowerCase());
  }
  return out;
}

export interface ChairInput {
  imageId: string | number;
  caption: string;
  objects: readonly string[];
}

export interface ChairCaptionResult {
  image_id: string | number;
  hallucinated: Array<[string, string]>;
  generated: string[];
  ground_truth: string[];
  chair_i: number;
  well_formed: boolean;
}

export interface ChairMetrics {
  chair_s: number | null;
  chair_i: number | null;
  recall: number | null;
  n_captions: number;
  n_mentions: number;
  n_hallucinated_mentions: number;
  n_hallucinated_captions: number;
  /** share of captions that name at least one vocabulary object */
  object_caption_rate: number | null;
  /** share of well-formed captions (non-empty by default; a suite may pass a stricter parser) */
  parse_rate: number | null;
  /** mean tokens per caption (OPERA's Len ×100) */
  mean_words: number | null;
}

export interface ChairItemScore {
  mentions: number;
  hallucinated: number;
  correctUnique: number;
  gtCount: number;
  tokens: number;
  wellFormed: boolean;
}

export function chairItem(
  input: ChairInput,
  v: ChairVocabulary,
  wellFormed?: (caption: string) => boolean,
): ChairItemScore & { detail: () => ChairCaptionResult } {
  const { words, nodes, tokenCount } = captionObjects(input.caption, v);
  const gt = groundTruthNodes(input.objects, v);
  const hall: Array<[string, string]> = [];
  const correct = new Set<string>();
  for (let i = 0; i < nodes.length; i++) {
    if (gt.has(nodes[i])) correct.add(nodes[i]);
    else hall.push([words[i], nodes[i]]);
  }
  const wf = wellFormed ? wellFormed(input.caption) : input.caption.trim() !== '';
  return {
    mentions: nodes.length,
    hallucinated: hall.length,
    correctUnique: correct.size,
    gtCount: gt.size,
    tokens: tokenCount,
    wellFormed: wf,
    detail: () => ({
      image_id: input.imageId,
      hallucinated: hall,
      generated: nodes,
      ground_truth: [...gt],
      chair_i: nodes.length ? hall.length / nodes.length : 0,
      well_formed: wf,
    }),
  };
}

export function chairMetricsFromItems(items: readonly ChairItemScore[]): ChairMetrics {
  let mentions = 0;
  let hall = 0;
  let hallCaps = 0;
  let correct = 0;
  let gt = 0;
  let tokens = 0;
  let withObj = 0;
  let wf = 0;
  for (const it of items) {
    mentions += it.mentions;
    hall += it.hallucinated;
    if (it.hallucinated > 0) hallCaps++;
    correct += it.correctUnique;
    gt += it.gtCount;
    tokens += it.tokens;
    if (it.mentions > 0) withObj++;
    if (it.wellFormed) wf++;
  }
  const n = items.length;
  const d = (a: number, b: number) => (b === 0 ? null : a / b);
  return {
    chair_s: d(hallCaps, n),
    chair_i: d(hall, mentions),
    recall: d(correct, gt),
    n_captions: n,
    n_mentions: mentions,
    n_hallucinated_mentions: hall,
    n_hallucinated_captions: hallCaps,
    object_caption_rate: d(withObj, n),
    parse_rate: d(wf, n),
    mean_words: d(tokens, n),
  };
}

export function scoreChair(
  inputs: readonly ChairInput[],
  v: ChairVocabulary,
  opts: { perCaption?: boolean; wellFormed?: (caption: string) => boolean } = {},
): ChairMetrics & { per_caption?: ChairCaptionResult[]; items: ChairItemScore[] } {
  const items = inputs.map((i) => chairItem(i, v, opts.wellFormed));
  const out: ChairMetrics & { per_caption?: ChairCaptionResult[]; items: ChairItemScore[] } = {
    ...chairMetricsFromItems(items),
    items: items.map((i) => ({
      mentions: i.mentions,
      hallucinated: i.hallucinated,
      correctUnique: i.correctUnique,
      gtCount: i.gtCount,
      tokens: i.tokens,
      wellFormed: i.wellFormed,
    })),
  };
  if (opts.perCaption) out.per_caption = items.map((i) => i.detail());
  return out;
}
