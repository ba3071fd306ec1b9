import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MmalignError } from '../util/errors.ts';
import { lookup } from '../util/table.ts';
import { type AmberAnnotation, type AmberResult, scoreAmber, similarityFromTable } from './amber.ts';
import { cocoVocabulary, scoreChair } from './chair.ts';
import {
  benchdataDir,
  defaultSynonymsPath,
  loadSynonyms,
  SYNONYM_VARIANTS,
  type SynonymVariant,
} from './chair-synonyms.ts';
import {
  AmberAnnotationRecord,
  AmberResponseRecord,
  ChairCaptionRecord,
  loadPopeItems,
  MathRecord,
  McRecord,
  MmhalJudgementRecord,
  RewardRecord,
  SafetyRecord,
} from './files.ts';
import { readRecords, readTextFile } from './io.ts';
import { makeLemmatizer } from './lemma.ts';
import { type MathAnswerType, scoreMath } from './math.ts';
import { extractOption, scoreCircular } from './mc.ts';
import { scoreMmhal } from './mmhal.ts';
import { POPE_PARSERS, type PopeParserName, scorePope } from './pope.ts';
import {
  parseBracketVerdict,
  parseVlRewardVerdict,
  scoreRewardPairs,
  UNPARSED_POLICIES,
  type UnparsedPolicy,
} from './reward.ts';
import { ASR_DENOMINATORS, type AsrDenominator, normalizeSafetyLabel, scoreSafety } from './safety.ts';
import { meanCI } from './stats.ts';

/**
 * `mmalign eval score <benchmark>`: read the benchmark's files, score them, and return one JSON-able result that
 * names the rule used and the sha256 of every file read (what makes the number reproducible).
 */

export interface FileRef {
  path: string;
  sha256: string;
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
const refs = (files: readonly string[]): FileRef[] => files.map((f) => ({ path: f, sha256: sha256File(f) }));

export interface ScoreOutput {
  benchmark: string;
  rule: string;
  files: FileRef[];
  metrics: Record<string, unknown>;
}

export function scorePopeFiles(o: {
  questions: string[];
  answers: string[];
  parser?: string;
  ci?: boolean;
}): ScoreOutput {
  const parser = (o.parser ?? 'pope') as PopeParserName;
  lookup(POPE_PARSERS, 'POPE parser', parser);
  const { items } = loadPopeItems(o.questions, o.answers);
  const { items: per, ...metrics } = scorePope(items, parser);
  const out: Record<string, unknown> = { ...metrics };
  if (o.ci) out.accuracy_ci = meanCI(per.map((r) => (r.correct ? 1 : 0)));
  return { benchmark: 'pope', rule: parser, files: refs([...o.questions, ...o.answers]), metrics: out };
}

export function scoreChairFile(o: {
  captions: string;
  synonyms?: string;
  variant?: string;
  perCaption?: boolean;
}): ScoreOutput {
  const variant = (o.variant ?? 'original') as SynonymVariant;
  lookup(SYNONYM_VARIANTS, 'synonym variant', variant);
  const synFile = o.synonyms ?? defaultSynonymsPath();
  const vocab = cocoVocabulary(loadSynonyms(synFile, variant));
  const recs = readRecords(o.captions, ChairCaptionRecord);
  const { items: _items, ...metrics } = scoreChair(
    recs.map((r) => ({ imageId: r.value.image_id, caption: r.value.caption, objects: r.value.objects })),
    vocab,
    { perCaption: o.perCaption },
  );
  return { benchmark: 'chair', rule: `chair/${variant}-synonyms`, files: refs([o.captions, synFile]), metrics };
}

export function scoreAmberFiles(o: {
  responses: string;
  annotations?: string;
  relation?: string;
  safeWords?: string;
  similarityTable?: string;
  threshold?: number;
}): ScoreOutput {
  const annFile = o.annotations ?? path.join(benchdataDir(), 'amber_annotations.json');
  const ann = readRecords(annFile, AmberAnnotationRecord).map((r) => r.value as AmberAnnotation);
  const resp = readRecords(o.responses, AmberResponseRecord).map((r) => r.value);
  const files = [o.responses, annFile];
  let gen: Parameters<typeof scoreAmber>[2];
  if (o.relation) {
    const association = JSON.parse(readTextFile(o.relation)) as Record<string, string[]>;
    const safeWords = o.safeWords
      ? readTextFile(o.safeWords)
          .split('\n')
          .filter((l) => l !== '')
      : [];
    const vocab = new Set<string>();
    for (const [k, vs] of Object.entries(association)) {
      vocab.add(k);
      for (const v of vs) vocab.add(v);
    }
    const table = o.similarityTable
      ? (JSON.parse(readTextFile(o.similarityTable)) as Record<string, number>)
      : undefined;
    gen = {
      association,
      safeWords,
      lemma: makeLemmatizer(vocab),
      similarity: table ? similarityFromTable(table) : undefined,
      threshold: o.threshold,
    };
    files.push(o.relation, ...(o.safeWords ? [o.safeWords] : []), ...(o.similarityTable ? [o.similarityTable] : []));
  }
  const { items: _items, ...res }: AmberResult = scoreAmber(ann, resp, gen);
  if (res.missing.length)
    throw new MmalignError(
      'MMALIGN_UNKNOWN_ID',
      `${o.responses}: ${res.missing.length} response id(s) not in ${annFile}, e.g. ${res.missing.slice(0, 5).join(', ')}`,
    );
  const hasGen = ann.length > 0 && resp.some((r) => ann[r.id - 1]?.type === 'generative');
  const rule =
    hasGen && !gen
      ? 'amber/discriminative-only (pass --relation for generative)'
      : gen && !o.similarityTable
        ? 'amber/exact-match-similarity'
        : 'amber';
  return { benchmark: 'amber', rule, files: refs(files), metrics: res as unknown as Record<string, unknown> };
}

export function scoreMmhalFile(o: { judgements: string }): ScoreOutput {
  const recs = readRecords(o.judgements, MmhalJudgementRecord).map((r) => r.value);
  const { scores: _s, ...m } = scoreMmhal(recs);
  return { benchmark: 'mmhal', rule: 'mmhal/rating-exactly-one', files: refs([o.judgements]), metrics: m };
}

export const VERDICT_PARSERS = {
  none: (t: string) => t,
  vlreward: (t: string) => {
    const v = parseVlRewardVerdict(t);
    return v === null ? null : String(v);
  },
  bracket: parseBracketVerdict,
} as const;

export function scoreRewardFile(o: { pairs: string; unparsed?: string; verdict?: string }): ScoreOutput {
  const policy = (o.unparsed ?? 'exclude') as UnparsedPolicy;
  lookup(UNPARSED_POLICIES, 'unparsed policy', policy);
  const vp = lookup(VERDICT_PARSERS, 'verdict parser', o.verdict ?? 'none');
  const recs = readRecords(o.pairs, RewardRecord).map((r) => r.value);
  const items = recs.map((r) => ({
    id: String(r.id),
    category: r.category,
    group: r.group === undefined ? undefined : String(r.group),
    gold: r.gold,
    pred: r.pred !== undefined ? r.pred : r.judgement !== undefined ? vp(r.judgement) : null,
  }));
  const { correct: _c, ...m } = scoreRewardPairs(items, policy);
  return { benchmark: 'reward', rule: `reward/unparsed-${policy}`, files: refs([o.pairs]), metrics: m };
}

export function scoreMcFile(o: { answers: string }): ScoreOutput {
  const recs = readRecords(o.answers, McRecord).map((r) => r.value);
  const res = scoreCircular(
    recs.map((r) => ({
      question: String(r.question),
      rotation: r.rotation,
      gold: r.gold,
      category: r.category,
      pred: extractOption(r.answer, r.options),
    })),
  );
  const { solved: _s, ...m } = res;
  return { benchmark: 'mc', rule: 'circular/can-infer', files: refs([o.answers]), metrics: m };
}

export function scoreMathFile(o: { answers: string }): ScoreOutput {
  const recs = readRecords(o.answers, MathRecord).map((r) => r.value);
  const { correct: _c, ...m } = scoreMath(
    recs.map((r) => ({ response: r.response, problem: { ...r, answer_type: r.answer_type as MathAnswerType } })),
  );
  return { benchmark: 'math', rule: 'mathvista/rules', files: refs([o.answers]), metrics: m };
}

export function scoreSafetyFile(o: { answers: string; denominator?: string }): ScoreOutput {
  const den = (o.denominator ?? 'all') as AsrDenominator;
  lookup(ASR_DENOMINATORS, 'ASR denominator', den);
  const recs = readRecords(o.answers, SafetyRecord).map((r) => r.value);
  const m = scoreSafety(
    recs.map((r) => ({
      shouldRefuse: r.should_refuse,
      response: r.response,
      category: r.category,
      label:
        r.label !== undefined
          ? normalizeSafetyLabel(r.label)
          : r.judgement !== undefined
            ? normalizeSafetyLabel(r.judgement)
            : undefined,
    })),
    den,
  );
  return {
    benchmark: 'safety',
    rule: `safety/asr-${den}`,
    files: refs([o.answers]),
    metrics: m as unknown as Record<string, unknown>,
  };
}
