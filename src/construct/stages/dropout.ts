import { z } from 'zod';
import { ModelCapabilityError } from '../../models/errors.ts';
import { continuationRequest, joinContinuation } from '../../negatives/model-based.ts';
import { defineStage } from '../stage.ts';
import { modelNegativeStage } from './negative.ts';

/**
 * Image-free continuation (MPO's DropoutNTP, Wang et al. 2024): keep the first `keepFraction` of a good answer's
 * words and let the model finish it WITHOUT the image, so the rest follows language priors. The backend must
 * continue a final assistant message (`capabilities.prefill`); without it the stage stops at once with a
 * capability error naming the model, rather than producing answers to a different question.
 */
const Params = z.strictObject({
  model: z.string().min(1),
  keepFraction: z.number().gt(0).lt(1).default(0.5),
  temperature: z.number().min(0).default(0),
  maxTokens: z.number().int().positive().default(48),
  from: z.string().optional(),
  maxGood: z.number().int().positive().default(1),
});

export const dropoutStage = defineStage({
  description: 'image-free continuation of good answers (MPO DropoutNTP); needs a backend with prefill',
  output: 'response',
  needsInput: true,
  params: Params,
  create: (p, ctx) =>
    modelNegativeStage(p, ctx, {
      type: 'dropout',
      visual: 'none',
      check: (m) => {
        if (!m.model.capabilities.prefill)
          throw new ModelCapabilityError(
            m.model.id,
            'prefill',
            `stage "${ctx.name}": image-free continuation needs a backend that continues a final assistant message; model "${p.model}" (${m.config.spec}) does not. Remove the stage or use a backend with prefill`,
          );
      },
      request: (sample) => (good, g) => {
        const { ask, prefix } = continuationRequest(sample, good.text, p.keepFraction, `${sample.id}#dropout${g}`);
        return {
          ask,
          finish: (reply) => {
            const text = joinContinuation(prefix, reply);
            return text === good.text.trim() ? null : { text, extra: { prefix } };
          },
        };
      },
    }),
});
