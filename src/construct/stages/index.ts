import type { StageDefinition } from '../stage.ts';
import { corruptStage } from './corrupt.ts';
import { dropoutStage } from './dropout.ts';
import { exportStage } from './export.ts';
import { injectStage } from './inject.ts';
import { judgeStage } from './judge.ts';
import { pairStage } from './pair.ts';
import { responsesStage } from './responses.ts';
import { rewriteStage } from './rewrite.ts';
import { sourceStage } from './source.ts';

/**
 * Every stage type, by the name a config's `stage:` uses. CLI subcommands, config validation and the "unknown
 * stage" error are derived from this table; a new stage is one entry here.
 */
export const STAGES = {
  source: sourceStage,
  responses: responsesStage,
  corrupt: corruptStage,
  inject: injectStage,
  rewrite: rewriteStage,
  dropout: dropoutStage,
  judge: judgeStage,
  pair: pairStage,
  export: exportStage,
} as const satisfies Record<string, StageDefinition>;

export type StageType = keyof typeof STAGES;
export const STAGE_TYPES = Object.keys(STAGES) as StageType[];
