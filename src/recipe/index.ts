export { CODE_VERSION, runCachedStage, stableStringify, stageKey } from './cache.ts';
export { type RecipeEvents, type RecipeResult, runRecipe } from './run.ts';
export { AlignMethod, ConstructSet, deepMerge, loadRecipe, parseRecipe, Recipe } from './schema.ts';
export {
  BAR,
  type BarVerdict,
  barVerdict,
  COLUMNS,
  controlsOf,
  type MethodRow,
  methodTable,
  tableText,
} from './summary.ts';
