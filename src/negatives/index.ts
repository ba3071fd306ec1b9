export { CORRUPTION_NAMES, CORRUPTIONS, type CorruptionName, type CorruptionSpec, corruptImage } from './corrupt.ts';
export { INJECTION_NAMES, INJECTIONS, type Injected, type InjectionName, injectHallucination } from './inject.ts';
export {
  continuationRequest,
  imageFreeContinuation,
  joinContinuation,
  REWRITE_TEMPLATE,
  rewriteRequest,
  rewriteWithHallucination,
  truncateWords,
  withoutMedia,
} from './model-based.ts';
