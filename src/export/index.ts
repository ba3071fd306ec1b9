export { agreementStats, datasetCard } from './card.ts';
export {
  ENGINE_NAMES,
  ENGINES,
  type EngineName,
  type EngineVersion,
  resolveEngineVersion,
  type VersionId,
  versionIds,
} from './engines.ts';
export {
  DEFAULT_MAX_LENGTH,
  type ExportOptions,
  type ExportResult,
  type PreflightReport,
  type PreparedExport,
  prepareExport,
  runExport,
} from './export.ts';
export {
  checkOptions,
  type EngineFacts,
  loadFacts,
  type OptionProblem,
  planOptions,
  type WrittenOption,
} from './facts.ts';
export { IMAGE_TOKEN_RULES, imageTokenRule, imageTokens, qwenSmartResize } from './image-tokens.ts';
export {
  EXPORT_OBJECTIVE_NAMES,
  type ExportObjectiveName,
  entryFor,
  OBJECTIVE_ENGINES,
  resolveRecipe,
  supportedObjectives,
  UnsupportedObjectiveError,
} from './objective-map.ts';
export { alignPlaceholders, preflight, type ReadyUnit } from './preflight.ts';
export { DROP_REASONS, RANKING_MODES, type RankingMode, rankingPairs, toUnits } from './units.ts';
