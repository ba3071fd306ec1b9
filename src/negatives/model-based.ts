import { ModelCapabilityError } from '../models/errors.ts';
import type { VisionLanguageModel } from '../models/types.ts';
import type { Message, Sample } from '../schema/index.ts';

/**
 * Negatives made by a model rather than by rules:
 * - image-free continuation (MPO's DropoutNTP, Wang et al. 2024): keep the first part of a good answer and let the
 *   model finish it WITHOUT the image, so the rest is driven by language priors alone;
 * - rewriting (HA-DPO, RE-ALIGN): ask any backend to rewrite a good answer with hallucinations, by a prompt template.
 */

/** The sample with every media part and media ref removed: y ~ π(·|x) with no visual input. */
export function withoutMedia(sample: Sample): Sample {
  const messages: Message[] = sample.messages.map((m) =>
    typeof m.content === 'string' ? m : { ...m, content: m.content.filter((p) => p.type === 'text') },
  );
  return { ...sample, messages, media: [] };
}

/** The first ⌈fraction·words⌉ words of an answer (at least one, at most all but one). */
export function truncateWords(text: string, fraction: number): string {
  const words = text.trim().split(/\s+/);
  const keep = Math.min(words.length - 1, Math.max(1, Math.ceil(words.length * fraction)));
  return words.slice(0, keep).join(' ');
}

/**
 * The request of an image-free continuation: the first `keepFraction` of the good answer's words as a final
 * assistant turn of the sample with its media removed (the backend continues it).
 */
export function continuationRequest(
  sample: Sample,
  good: string,
  keepFraction: number,
  id: string,
): { ask: Sample; prefix: string } {
  const prefix = truncateWords(good, keepFraction);
  const blind = withoutMedia(sample);
  return { prefix, ask: { ...blind, id, messages: [...blind.messages, { role: 'assistant', content: prefix }] } };
}

/** prefix + the model's continuation, with a space unless the continuation starts with one or with punctuation. */
export function joinContinuation(prefix: string, continuation: string): string {
  const joiner = continuation === '' || /^[\s.,;!?]/.test(continuation) ? '' : ' ';
  return `${prefix}${joiner}${continuation}`.trim();
}

export async function imageFreeContinuation(
  model: VisionLanguageModel,
  sample: Sample,
  good: string,
  opts: { keepFraction?: number; maxTokens?: number; seed?: number; temperature?: number } = {},
): Promise<{ text: string; prefix: string } | null> {
  if (!model.capabilities.prefill)
    throw new ModelCapabilityError(
      model.id,
      'prefill',
      'image-free continuation needs a backend that continues a final assistant message',
    );
  const { ask, prefix } = continuationRequest(sample, good, opts.keepFraction ?? 0.5, `${sample.id}#dropout`);
  const [r] = await model.generate([ask], {
    n: 1,
    temperature: opts.temperature ?? 0,
    maxTokens: opts.maxTokens ?? 48,
    seed: opts.seed ?? 0,
  });
  if (!r?.ok) return null;
  return { text: joinContinuation(prefix, r.generations[0]?.text ?? ''), prefix };
}

export const REWRITE_TEMPLATE = `Rewrite the following description of the image so that it mentions one object that is NOT in the image, keeping everything else and the same length. Reply with the rewritten description only.
Description: {answer}`;

/** The request of a rewrite: the template with `{answer}` filled, as a text-only user turn (the rewriter sees no image). */
export function rewriteRequest(sample: Sample, good: string, template: string, id: string): Sample {
  return { ...withoutMedia(sample), id, messages: [{ role: 'user', content: template.replace('{answer}', good) }] };
}

export async function rewriteWithHallucination(
  model: VisionLanguageModel,
  sample: Sample,
  good: string,
  opts: { template?: string; seed?: number; temperature?: number; maxTokens?: number } = {},
): Promise<string | null> {
  const s = rewriteRequest(sample, good, opts.template ?? REWRITE_TEMPLATE, `${sample.id}#rewrite`);
  const [r] = await model.generate([s], {
    n: 1,
    temperature: opts.temperature ?? 0.7,
    maxTokens: opts.maxTokens ?? 96,
    seed: opts.seed ?? 0,
  });
  const out = r?.ok ? r.generations[0]?.text.trim() : undefined;
  return out && out !== good.trim() ? out : null;
}
