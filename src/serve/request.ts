import { z } from 'zod';

/**
 * The request body `mmalign serve` accepts on `/v1/chat/completions`: OpenAI's fields that matter for sampling,
 * plus vLLM's extra parameters for prompt log-probs. Keys it does not know are ignored (OpenAI clients send many,
 * e.g. `user`, `presence_penalty`), as OpenAI-compatible servers do.
 */

const TextPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const ImagePart = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.union([z.string(), z.looseObject({ url: z.string(), detail: z.string().optional() })]),
});
const Part = z.discriminatedUnion('type', [TextPart, ImagePart], {
  error: 'content parts must be {type:"text"} or {type:"image_url"} (audio/video/files are not supported)',
});

export const WireRequestMessage = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant'], {
    error: 'role must be system, developer, user or assistant (tool messages are not supported)',
  }),
  content: z.union([z.string(), z.array(Part)]),
});
export type WireRequestMessage = z.infer<typeof WireRequestMessage>;

export const ChatCompletionRequest = z.looseObject({
  model: z.string().optional(),
  messages: z.array(WireRequestMessage).min(1, 'messages must hold at least one message'),
  n: z.number().int().min(1).max(64).default(1),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).lte(1).optional(),
  seed: z.number().int().optional(),
  max_tokens: z.number().int().positive().optional(),
  max_completion_tokens: z.number().int().positive().optional(),
  stop: z
    .union([z.string(), z.array(z.string()).max(16)])
    .nullable()
    .optional(),
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
  /** vLLM extension: log-probs of the prompt tokens. mmalign serve scores the final assistant message only. */
  prompt_logprobs: z.number().int().min(0).nullable().optional(),
  add_generation_prompt: z.boolean().optional(),
  continue_final_message: z.boolean().optional(),
  echo: z.boolean().optional(),
  stream: z.boolean().nullable().optional(),
  tools: z.array(z.unknown()).nullable().optional(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

/** zod issues → one line a problem, `field.path: message`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 8)
    .map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`)
    .join('; ');
}
