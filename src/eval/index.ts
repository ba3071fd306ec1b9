/**
 * mmalign/eval: benchmark scorers that reproduce the reference implementations number for number (POPE with three
 * named parsing rules, CHAIR with the original synonym list and its quirks, AMBER with its arithmetic, MMHal-Bench,
 * reward-model pairs, CircularEval, MathVista answers, safety), the anti-gaming figures beside each, bootstrap and
 * paired tests, and the suite runner behind `mmalign eval run`.
 */
export { type AmberAnnotation, type AmberResult, scoreAmber, similarityFromTable } from './amber.ts';
export {
  BENCHMARK_NAMES,
  BENCHMARKS,
  type BenchmarkName,
  DIMENSION_NAMES,
  DIMENSIONS,
  type Dimension,
} from './benchmarks.ts';
export {
  type ChairMetrics,
  type ChairVocabulary,
  captionObjects,
  cocoVocabulary,
  genericVocabulary,
  scoreChair,
} from './chair.ts';
export {
  benchdataDir,
  defaultSynonymsPath,
  loadSynonyms,
  parseSynonyms,
  SYNONYM_VARIANTS,
  type SynonymTable,
  type SynonymVariant,
} from './chair-synonyms.ts';
export {
  accuracyEntry,
  chairEntry,
  mcEntry,
  mmhalEntry,
  popeEntry,
  rewardEntry,
  safetyEntry,
  winRateEntry,
} from './entries.ts';
export { loadPopeItems } from './files.ts';
export { makeLemmatizer, tokenize } from './lemma.ts';
export { extractMathAnswer, levenshtein, normalizeMathAnswer, scoreMath } from './math.ts';
export { extractOption, rotateOptions, scoreCircular } from './mc.ts';
export { MMHAL_JUDGE_TEMPLATE, mmhalJudgePrompt, parseMmhalRating, scoreMmhal } from './mmhal.ts';
export {
  judgePope,
  POPE_PARSER_NAMES,
  POPE_PARSERS,
  type PopeMetrics,
  type PopeParserName,
  popeWords,
  scorePope,
} from './pope.ts';
export { pyFloatStr, pyRound } from './pyfloat.ts';
export { parseBracketVerdict, parseVlRewardVerdict, scoreRewardPairs, UNPARSED_POLICIES } from './reward.ts';
export { resolveEvalModel } from './run/model.ts';
export { runSuite, SUITES } from './run/runner.ts';
export { ASR_DENOMINATORS, isRefusal, normalizeSafetyLabel, scoreSafety } from './safety.ts';
export {
  scoreAmberFiles,
  scoreChairFile,
  scoreMathFile,
  scoreMcFile,
  scoreMmhalFile,
  scorePopeFiles,
  scoreRewardFile,
  scoreSafetyFile,
  sha256File,
} from './score-files.ts';
export { bootstrapCI, mcnemarExact, meanCI, pairedBootstrap } from './stats.ts';
export { processPunctuation, yornExtract } from './yorn.ts';
