export { ModelCapabilityError } from './errors.ts';
export { OpenAIBackend, type OpenAIBackendOptions, type UsageTotals } from './openai.ts';
export { DEFAULT_RETRY, type EndpointConfig, EndpointPool, type RetryPolicy, Semaphore } from './openai-dispatch.ts';
export { MODEL_SPEC_FORMS, type ResolveOptions, resolveModel } from './registry.ts';
export type * from './types.ts';
