import type { VisionLanguageModel } from '../../models/types.ts';

/**
 * MODEL strings of `eval run` (--model, --judge, --reference): an embedded checkpoint folder or an OpenAI-compatible
 * endpoint, in the forms of the models registry (src/models/registry.ts MODEL_SPEC_FORMS). Imported lazily so the
 * scorers never pull in tfjs or HTTP code.
 */
export async function resolveEvalModel(
  spec: string,
  opts: { concurrency?: number } = {},
): Promise<VisionLanguageModel> {
  const { resolveModel } = await import('../../models/registry.ts');
  return resolveModel(spec, { concurrency: opts.concurrency });
}
