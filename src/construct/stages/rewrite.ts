import { z } from 'zod';
import { REWRITE_TEMPLATE, withoutMedia } from '../../negatives/model-based.ts';
import type { Response, Sample } from '../../schema/index.ts';
import { defineStage } from '../stage.ts';
import { checkStageNames } from './common.ts';
import { type NegItem, negativeResponse, planNegatives, referenceResponse } from './negative.ts';
import { derivedSeed } from './responses.ts';

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
  create(p, ctx) {
    checkStageNames(ctx, [p.model]);
    const input = ctx.input!;
    return {
      name: ctx.name,
      type: 'rewrite',
      output: 'response',
      input,
      fingerprint: { ...p, spec: ctx.models[p.model].spec },
      models: [p.model],
      count: (env) => env.countInput(input),
      plan: (env) => planNegatives(env, ctx, p.from, p.maxGood),
      async run(item: { key: string; data: NegItem }, env) {
        const { sample, goods } = item.data;
        const m = await env.model(p.model);
        const records: Response[] = p.from || !goods.length ? [] : [referenceResponse(sample, env)];
        let requests = 0;
        let promptTokens = 0;
        let completionTokens = 0;
        for (const [g, good] of goods.entries()) {
          const ask: Sample = {
            ...withoutMedia(sample),
            id: `${sample.id}#rewrite${g}`,
            messages: [{ role: 'user', content: p.template.replace('{answer}', good.text) }],
          };
          const [r] = await m.model.generate(
            [ask],
            {
              n: 1,
              temperature: p.temperature,
              maxTokens: p.maxTokens,
              seed: derivedSeed(env.seed, sample.id, 'rewrite', String(g)),
            },
            { mediaRoot: env.mediaRoot, signal: env.signal },
          );
          if (!r.ok) return { ok: false, error: r.error };
          requests++;
          promptTokens += r.usage?.promptTokens ?? 0;
          completionTokens += r.usage?.completionTokens ?? 0;
          const text = r.generations[0]?.text.trim() ?? '';
          if (!text || text === good.text.trim()) continue;
          records.push(
            negativeResponse(sample, env, {
              id: `${sample.id}/rewrite/${g}`,
              text,
              model: p.model,
              strategy: 'rewrite',
              good,
              extra: { modelId: m.model.id },
            }),
          );
        }
        return { ok: true, records, usage: { requests, promptTokens, completionTokens } };
      },
      async concurrency(env) {
        return (await env.model(p.model)).capacity;
      },
    };
  },
});
