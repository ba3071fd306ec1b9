/**
 * Trainers of the embedded VLM. SFT lives here; the preference trainers (DPO family, reward model, GRPO) build on
 * the shared pieces of `common.ts`: AdamW, lrAt, trainStep, resumable checkpoints.
 */
export {
  AdamW,
  LAST_DIR,
  loadTrainerState,
  lrAt,
  OPTIMIZER_FILE,
  OptimConfig,
  type OptimConfigInput,
  type StepResult,
  saveTrainingCheckpoint,
  TRAINER_STATE_FILE,
  TrainerState,
  trainableWeights,
  trainStep,
} from './common.ts';
export {
  fileSha256,
  type LoadOptions,
  loadSftData,
  resolveSamplesFile,
  type SftData,
  type SftExample,
} from './data.ts';
export {
  GrpoConfig,
  type GrpoConfigInput,
  type GrpoResult,
  type GrpoRunOptions,
  loadPromptData,
  trainGrpo,
} from './grpo.ts';
export { PrefConfig, type PrefConfigInput, type PrefResult, type PrefRunOptions, trainPreference } from './pref.ts';
export { loadPrefData, type PrefData, type PrefExample } from './pref-data.ts';
export { type ReplayOptions, replayBatch, replayExamples, replayLoss, withReplay } from './replay.ts';
export { makeReward, REWARD_NAMES, REWARDS, type RewardName } from './rewards.ts';
export { loadRewardModel, RmConfig, type RmConfigInput, scoreWithRewardModel, trainRewardModel } from './rm.ts';
export {
  DEFAULT_SFT_CONFIG,
  evalLoss,
  ModelArch,
  SftConfig,
  type SftConfigInput,
  type SftProgress,
  type SftResult,
  type SftRunOptions,
  sftBatchSchedule,
  sftTokenizer,
  trainSft,
} from './sft.ts';
