import { z } from 'zod';
import { ModelCapabilityError } from '../../models/errors.ts';
import { continuationRequest, joinContinuation } from '../../negatives/model-based.ts';
import { defineStage } from '../stage.ts';
import { checkStageNames } from './common.ts';
import { askForNegatives, type NegItem, planNegatives } from './negative.ts';

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
  create(p, ctx) {
    checkStageNames(ctx, [p.model]);
    const input = ctx.input!;
    return {
      name: ctx.name,
      type: 'dropout',
      output: 'response',
      input,
      fingerprint: { ...p, spec: ctx.models[p.model].spec },
      models: [p.model],
      count: (env) => env.countInput(input),
      async *plan(env) {
        const m = await env.model(p.model);
        if (!m.model.capabilities.prefill)
          throw new ModelCapabilityError(
            m.model.id,
            'prefill',
            `stage "${ctx.name}": image-free continuation needs a backend that continues a final assistant message; model "${p.model}" (${m.config.spec}) does not. Remove the stage or use a backend with prefill`,
          );
        yield* planNegatives(env, ctx, p.from, p.maxGood);
      },
      run: (item: { key: string; data: NegItem }, env) =>
        askForNegatives(item, env, {
          ...p,
          strategy: 'dropout',
          visual: 'none',
          request: (good, g) => {
            const { ask, prefix } = continuationRequest(
              item.data.sample,
              good.text,
              p.keepFraction,
              `${item.data.sample.id}#dropout${g}`,
            );
            return {
              ask,
              finish: (reply) => {
                const text = joinContinuation(prefix, reply);
                return text === good.text.trim() ? null : { text, extra: { prefix } };
              },
            };
          },
        }),
      async concurrency(env) {
        return (await env.model(p.model)).capacity;
      },
    };
  },
});
