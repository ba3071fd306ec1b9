export {
  type Aggregate,
  type AggregateMethod,
  aggregateSeeds,
  aggregateText,
  renderAggregateReport,
  type SeedRun,
} from './aggregate.ts';
export { CODE_VERSION, readCachedStage, runCachedStage, stableStringify, stageKey } from './cache.ts';
export { runInLanes } from './lanes.ts';
export { type MethodContext, type MethodRecords, methodRunner } from './methods.ts';
export { type RecipeEvents, type RecipeResult, runRecipe, runRecipeSeeds, type SeedsResult } from './run.ts';
export {
  type BarVerdict,
  type Check,
  type Evidence,
  HALLUCINATION_BAR,
  judgeBar,
  SAFETY_BAR,
  SCENARIO_NAMES,
  SCENARIOS,
  type ScenarioName,
  TOLERANCE,
} from './scenarios.ts';
export { AlignMethod, ConstructSet, deepMerge, loadRecipe, parseRecipe, Recipe } from './schema.ts';
export {
  barLines,
  barVerdict,
  COLUMNS,
  controlsOf,
  type MethodRow,
  methodTable,
  tableText,
} from './summary.ts';
