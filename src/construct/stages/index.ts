import type { StageDefinition } from '../stage.ts';
import { responsesStage } from './responses.ts';
import { sourceStage } from './source.ts';

/**
 * Every stage type, by the name a config's `stage:` uses. CLI subcommands, config validation and the "unknown
 * stage" error are derived from this table; a new stage is one entry here.
 */
export const STAGES = {
  source: sourceStage,
  responses: responsesStage,
} as const satisfies Record<string, StageDefinition>;

export type StageType = keyof typeof STAGES;
export const STAGE_TYPES = Object.keys(STAGES) as StageType[];
