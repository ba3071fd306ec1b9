/**
 * ShapeWorld: seeded synthetic scenes with exact ground truth, co-occurrence priors that differ between train and
 * test, weak-evidence knobs, and task generators (caption, POPE, attribute, count, spatial, mc, arith, safety).
 * Public surface of `mmalign/world`.
 */

export { priorPartners, sceneToSamples } from './api.ts';
export { arithTask } from './arith.ts';
export {
  type CaptionObject,
  formatCaption,
  type ParsedCaption,
  type ParsedObject,
  parseCaption,
  phrase,
} from './caption.ts';
export {
  type CheckResult,
  checkAnswer,
  compareCaption,
  isRefusal,
  readChoice,
  readFinalNumber,
  readNumber,
  readYesNo,
  type Verdict,
} from './check.ts';
export {
  DEFAULT_PRIORS,
  DEFAULT_WORLD_CONFIG,
  PriorPair,
  parseWorldConfig,
  SPLITS,
  type Split,
  WorldConfig,
  type WorldConfigInput,
} from './config.ts';
export {
  type BuildOptions,
  buildSamples,
  type GenerateOptions,
  generateWorld,
  IN_DISTRIBUTION_SEED_OFFSET,
  inDistributionScenes,
  resolveTasks,
  type WorldManifest,
  worldContext,
} from './generate.ts';
export { MC_LETTERS, mcPrompt } from './mc.ts';
export {
  POPE_MIN_IMAGES,
  POPE_STRATEGIES,
  POPE_TEMPLATE,
  type PopeImage,
  type PopeQuestion,
  type PopeStrategy,
  popeAnswer,
  popeCoOccurrence,
  popeObjectCounts,
  popeQuestions,
  popeQuestionText,
} from './pope.ts';
export { RELATIONS, type Relation, relationHolds } from './questions.ts';
export { objectRgb, type RenderedScene, renderScene } from './render.ts';
export { hash32, type Rng, sfc32, streamRng } from './rng.ts';
export { REFUSAL, SAFE_TEMPLATES, UNSAFE_TEMPLATES } from './safety.ts';
export {
  type Draft,
  mediaRef,
  sceneImageRef,
  type TaskContext,
  type TaskItem,
  toSample,
  truthObjects,
  uniqueDescription,
  worldCreatedAt,
  worldRunId,
} from './sample.ts';
export {
  BACKGROUND_RGB,
  type Box,
  type ClutterMark,
  type Evidence,
  type InjectedObject,
  makeScene,
  makeScenes,
  rasterize,
  type Scene,
  type SceneObject,
  sceneCategories,
} from './scene.ts';
export { CAPTION_PROMPT, sceneCaption, TASK_NAMES, TASKS, type TaskName } from './tasks.ts';
export { worldTokens, worldVocabulary } from './text.ts';
export {
  article,
  CATEGORIES,
  CATEGORY_INFO,
  type Category,
  COLOR_RGB,
  COLORS,
  type Color,
  isCategory,
  isColor,
  isSize,
  POSITIONS,
  type Position,
  SIZES,
  type Size,
} from './vocab.ts';
