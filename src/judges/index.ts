export {
  type AlphaMetric,
  accuracyAgainst,
  cohenKappa,
  cohenKappaOverlap,
  fleissKappa,
  type KappaResult,
  krippendorffAlpha,
  percentAgreement,
} from './agreement.ts';
export {
  claimJudge,
  DEFAULT_ASPECTS,
  judgeSample,
  PAIRWISE_TEMPLATE,
  pairwiseJudge,
  parseRubric,
  parseVerdict,
  parseYesNo,
  promptHash,
  RUBRIC_TEMPLATE,
  rubricJudge,
} from './ai.ts';
export {
  dedupResponses,
  PAIRING_MODES,
  type PairingMode,
  type PairingOptions,
  type PairStats,
  pairResponses,
  preferenceId,
  preferenceStats,
  type ScoredResponse,
} from './pairing.ts';
export { DEFAULT_RULE_WEIGHTS, type RuleScore, ruleScore } from './rule.ts';
