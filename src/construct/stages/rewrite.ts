import { z } from 'zod';
import { REWRITE_TEMPLATE, rewriteRequest } from '../../negatives/model-based.ts';
import { defineStage } from '../stage.ts';
import { modelNegativeStage } from './negative.ts';

/**
 * Model-based hallucination rewriting (HA-DPO, RE-ALIGN): any backend rewrites a good answer by a prompt template
 * (`{answer}` is replaced by it) so that it hallucinates. The rewriter sees text only, as in HA-DPO. A reply equal
 * to the good answer is no negative and is dropped; a failed request is a failed item (retried on rerun).
 */
const Params = z.strictObject({
  model: z.string().min(1),
  template: z
    .string()
    .includes('{answer}', { message: 'the template must contain {answer}' })
    .default(REWRITE_TEMPLATE),
  temperature: z.number().min(0).default(0.7),
  maxTokens: z.number().int().positive().default(96),
  from: z.string().optional(),
  maxGood: z.number().int().positive().default(1),
});

export const rewriteStage = defineStage({
  description: 'model-based hallucination rewriting of good answers through any backend (prompt template)',
  output: 'response',
  needsInput: true,
  params: Params,
  create: (p, ctx) =>
    modelNegativeStage(p, ctx, {
      type: 'rewrite',
      request: (sample) => (good, g) => ({
        ask: rewriteRequest(sample, good.text, p.template, `${sample.id}#rewrite${g}`),
        finish: (reply) => {
          const text = reply.trim();
          return text && text !== good.text.trim() ? { text } : null;
        },
      }),
    }),
});
