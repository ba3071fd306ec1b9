import { z } from 'zod';
import { ModelCapabilityError } from '../../models/errors.ts';
import { truncateWords, withoutMedia } from '../../negatives/model-based.ts';
import type { Response, Sample } from '../../schema/index.ts';
import { defineStage } from '../stage.ts';
import { checkStageNames } from './common.ts';
import { type NegItem, negativeResponse, planNegatives, referenceResponse } from './negative.ts';
import { derivedSeed } from './responses.ts';

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
      async run(item: { key: string; data: NegItem }, env) {
        const { sample, goods } = item.data;
        const m = await env.model(p.model);
        const records: Response[] = p.from || !goods.length ? [] : [referenceResponse(sample, env)];
        let requests = 0;
        for (const [g, good] of goods.entries()) {
          const prefix = truncateWords(good.text, p.keepFraction);
          const blind = withoutMedia(sample);
          const ask: Sample = {
            ...blind,
            id: `${sample.id}#dropout${g}`,
            messages: [...blind.messages, { role: 'assistant', content: prefix }],
          };
          const [r] = await m.model.generate(
            [ask],
            {
              n: 1,
              temperature: p.temperature,
              maxTokens: p.maxTokens,
              seed: derivedSeed(env.seed, sample.id, 'dropout', String(g)),
            },
            { signal: env.signal },
          );
          if (!r.ok) return { ok: false, error: r.error };
          requests++;
          const cont = r.generations[0]?.text ?? '';
          const joiner = cont === '' || /^[\s.,;!?]/.test(cont) ? '' : ' ';
          const text = `${prefix}${joiner}${cont}`.trim();
          if (text === good.text.trim()) continue;
          records.push(
            negativeResponse(sample, env, {
              id: `${sample.id}/dropout/${g}`,
              text,
              model: p.model,
              strategy: 'dropout',
              visual: 'none',
              good,
              extra: { prefix, modelId: m.model.id },
            }),
          );
        }
        return { ok: true, records, usage: { requests, promptTokens: 0, completionTokens: 0 } };
      },
      async concurrency(env) {
        return (await env.model(p.model)).capacity;
      },
    };
  },
});
