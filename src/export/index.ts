export { agreementStats, datasetCard } from './card.ts';
export { ENGINE_NAMES, ENGINES, type EngineName, unknownKeys } from './engines.ts';
export {
  DEFAULT_MAX_LENGTH,
  type ExportOptions,
  type ExportResult,
  type PreflightReport,
  runExport,
} from './export.ts';
export { IMAGE_TOKEN_RULES, imageTokenRule, imageTokens, qwenSmartResize } from './image-tokens.ts';
export {
  EXPORT_OBJECTIVE_NAMES,
  type ExportObjectiveName,
  OBJECTIVE_ENGINES,
  resolveRecipe,
  UnsupportedObjectiveError,
} from './objective-map.ts';
export { alignPlaceholders, preflight, type ReadyUnit } from './preflight.ts';
export { DROP_REASONS, RANKING_MODES, type RankingMode, rankingPairs, toUnits } from './units.ts';
