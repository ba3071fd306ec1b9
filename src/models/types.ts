import type { MediaRef, Sample, TokenLogprob } from '../schema/index.ts';

/**
 * One interface for every model backend (embedded tfjs VLM, OpenAI-compatible servers, local ONNX): sample
 * responses y ~ π(·|I, x) and score given responses log π(y|I, x), with the visual input as given, replaced (I_neg)
 * or removed. Failures are data (`ok: false`) so a 10k-sample run survives one bad request.
 */

export interface GenerateParams {
  /** responses per prompt */
  n?: number;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  seed?: number;
  stop?: string[];
  /** return per-token log-probs of the sampled tokens */
  logprobs?: boolean;
}

export interface Generation {
  text: string;
  logprobs?: TokenLogprob[];
  finishReason: 'stop' | 'length';
}

export interface ModelError {
  code: string;
  message: string;
  /** HTTP status or similar, when there was one */
  status?: number;
  retryable?: boolean;
}

export type GenerateResult =
  | {
      ok: true;
      sampleId: string;
      generations: Generation[];
      usage?: { promptTokens: number; completionTokens: number };
    }
  | { ok: false; sampleId: string; error: ModelError };

/** Which visual input to condition on when scoring: as given, replaced by I_neg, or none at all. */
export type VisualInput = { mode: 'given' } | { mode: 'replace'; media: MediaRef[] } | { mode: 'none' };

export interface LogprobsOptions {
  visual?: VisualInput;
}

export interface LogprobsResult {
  tokens: TokenLogprob[];
  /** Σ_t log π(y_t | y_<t, I, x) */
  total: number;
}

export interface Capabilities {
  generate: boolean;
  /** log-probs of sampled tokens */
  sampledLogprobs: boolean;
  /** log-probs of a given response (teacher forcing): needed by DPO-family reference scoring */
  promptLogprobs: boolean;
  images: boolean;
  video: boolean;
  audio: boolean;
  maxImages?: number;
  /** continues a final assistant message instead of starting a new one (image-free continuation, DropoutNTP) */
  prefill?: boolean;
}

/** Where relative media paths in records resolve from, and how to cancel. */
export interface CallContext {
  mediaRoot?: string;
  signal?: AbortSignal;
}

/**
 * A sample whose last message is an assistant turn asks `generate` to continue that text (prefill; vLLM's
 * `continue_final_message`); the returned text is the continuation only. Backends without `prefill` reject it.
 */
export interface VisionLanguageModel {
  readonly id: string;
  readonly capabilities: Capabilities;
  /** tokens the model can hold (prompt + answer), when it is known; `serve` refuses a larger max_tokens */
  readonly contextTokens?: number;
  generate(samples: readonly Sample[], params: GenerateParams, ctx?: CallContext): Promise<GenerateResult[]>;
  /** Throws ModelCapabilityError when the backend cannot score given text. */
  logprobs(sample: Sample, response: string, opts?: LogprobsOptions, ctx?: CallContext): Promise<LogprobsResult>;
  close?(): Promise<void>;
}
