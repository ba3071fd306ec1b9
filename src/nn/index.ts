/**
 * The embedded vision-language model: tfjs (wasm) ViT encoder + projector + causal decoder, word tokenizer,
 * safetensors checkpoints, KV-cache decoding, and teacher-forced token log-probs with gradients.
 */
export { type EncodedBatch, encodeBatch, encodeItem, type TextItem } from './batch.ts';
export {
  CheckpointConfig,
  createVlm,
  disposeVlm,
  isCheckpoint,
  loadCheckpoint,
  readCheckpointConfig,
  saveCheckpoint,
  sha256,
  tensorsToSt,
  type Vlm,
  writeFileAtomic,
} from './checkpoint.ts';
export { type GeneratedText, type GenerateRequest, generateText, type SampleOptions } from './generate.ts';
export { decodeImageRgb, imagesToFloat, loadImageRgb } from './image.ts';
export { responseLogprobs, type ScoredBatch, type ScoreItem } from './logprobs.ts';
export { hashString, Rng } from './rng.ts';
export { decodeSafetensors, encodeSafetensors, type StTensor } from './safetensors.ts';
export { initTf, type TfBackend, tf } from './tf.ts';
export { BOS, EOS, PAD, SEP, SPECIAL_TOKENS, UNK, WordTokenizer } from './tokenizer.ts';
export {
  decode,
  encodeImages,
  initWeights,
  mm,
  namedWeights,
  numPatches,
  parameterCount,
  tokenLogprobs,
  VlmConfig,
  type VlmWeights,
} from './vlm.ts';
