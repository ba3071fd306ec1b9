/**
 * Every alignment objective of the survey in one notation: pure functions over tfjs tensors with one signature,
 * `(batch, params) => { loss, metrics }`, dispatched through the `OBJECTIVES` table.
 */
export {
  defineObjective,
  type Fields,
  MissingFieldError,
  nls,
  type ObjectiveBody,
  ObjectiveInputError,
  stopGradient,
} from './define.ts';
export {
  inputToBatch,
  type LossReport,
  lossFromInput,
  type ObjectiveInput,
  ObjectiveInputSchema,
  parseObjectiveInput,
} from './json.ts';
export { chip, dama, dense_dpo, hadpo, image_dpo, mdpo, mia_dpo, mm_dpo } from './multimodal.ts';
export { grpo, ppo, rloo } from './online.ts';
export { bco_pair, bt, DEFAULT_BETA, dpo, hinge, ipo, robust } from './pairwise.ts';
export { orpo, sft, simpo } from './reffree.ts';
export {
  type BaseObjectiveName,
  checkBatch,
  combine,
  computeObjective,
  getObjective,
  MPO_PARTS,
  mpo,
  OBJECTIVE_NAMES,
  OBJECTIVES,
  type ObjectiveEntry,
  type ObjectiveName,
} from './registry.ts';
export {
  type DataKind,
  FIELD_NAMES,
  FIELDS,
  type FieldName,
  type FieldShape,
  type ObjectiveBatch,
  type ObjectiveFn,
  type ObjectiveParams,
  type ObjectiveResult,
  type ParamName,
  ParamsSchema,
} from './types.ts';
export { fdpo, kto } from './unpaired.ts';
