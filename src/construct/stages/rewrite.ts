import { z } from 'zod';
import { REWRITE_TEMPLATE, rewriteRequest } from '../../negatives/model-based.ts';
import { defineStage } from '../stage.ts';
import { checkStageNames } from './common.ts';
import { askForNegatives, type NegItem, planNegatives } from './negative.ts';

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
      run: (item: { key: string; data: NegItem }, env) =>
        askForNegatives(item, env, {
          ...p,
          strategy: 'rewrite',
          request: (good, g) => ({
            ask: rewriteRequest(item.data.sample, good.text, p.template, `${item.data.sample.id}#rewrite${g}`),
            finish: (reply) => {
              const text = reply.trim();
              return text && text !== good.text.trim() ? { text } : null;
            },
          }),
        }),
      async concurrency(env) {
        return (await env.model(p.model)).capacity;
      },
    };
  },
});
