export {
  type ConstructConfig,
  ConstructConfigShape,
  loadConstructConfig,
  ModelConfig,
  parseConstructConfig,
} from './config.ts';
export { type CommitItem, type RepairReport, StageLedger } from './ledger.ts';
export { type RunPipelineOptions, type RunSummary, runPipeline } from './pipeline.ts';
export { type RunEvent, runStage, type StageSummary } from './runner.ts';
export {
  defineStage,
  type ResolvedModel,
  type Stage,
  type StageDefinition,
  type StageEnv,
  type WorkItem,
  type WorkOutcome,
} from './stage.ts';
export { STAGE_TYPES, STAGES, type StageType } from './stages/index.ts';
