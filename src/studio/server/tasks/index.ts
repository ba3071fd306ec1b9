import type { z } from 'zod';
import { binary } from './binary.ts';
import { pairwise } from './pairwise.ts';
import { ranking } from './ranking.ts';
import { rating } from './rating.ts';
import { segments } from './segments.ts';
import type { TaskType } from './types.ts';

/** Every task type the studio runs; CLI help, validation and "unknown type" errors derive from this table. */
export const TASK_TYPES = { pairwise, rating, ranking, segments, binary } as const;
export type TaskTypeName = keyof typeof TASK_TYPES;
export const TASK_TYPE_NAMES = Object.keys(TASK_TYPES) as TaskTypeName[];

/** The table entry, widened so callers can hold labels of any type as opaque canonical values. */
export function taskType(name: TaskTypeName): TaskType<z.ZodType, unknown> {
  return TASK_TYPES[name] as unknown as TaskType<z.ZodType, unknown>;
}

/** Which task type a pipeline preference becomes on import. */
export const KIND_TO_TYPE = {
  pair: 'pairwise',
  ranking: 'ranking',
  rubric: 'rating',
  segments: 'segments',
  binary: 'binary',
  image_pair: undefined,
} as const satisfies Record<string, TaskTypeName | undefined>;

export { competitionRanks } from './ranking.ts';
export { applyCorrections } from './segments.ts';
export * from './types.ts';
