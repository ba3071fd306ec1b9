/**
 * mmalign's public surface, one namespace per module (each module's own surface is its `index.ts`, also importable
 * as `mmalign/<module>`). Dependencies point down: schema → io → world / models / nn → objectives → train →
 * negatives / judges → construct → eval → report → recipe; serve, studio and export sit beside them.
 */
export * as construct from './construct/index.ts';
export * as evaluation from './eval/index.ts';
export * as exporters from './export/index.ts';
export * as io from './io/index.ts';
export * as judges from './judges/index.ts';
export * as models from './models/index.ts';
export * as negatives from './negatives/index.ts';
export * as nn from './nn/index.ts';
export * as objectives from './objectives/index.ts';
export * as recipe from './recipe/index.ts';
export * as report from './report/index.ts';
export * as schema from './schema/index.ts';
export * as serve from './serve/index.ts';
export * as studio from './studio/index.ts';
export * as train from './train/index.ts';
export * as world from './world/index.ts';
