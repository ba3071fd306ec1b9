import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { GenerateParams } from '../../models/types.ts';
import { withoutMedia } from '../../negatives/model-based.ts';
import type { Response, Sample } from '../../schema/index.ts';
import { MmalignError, RecordValidationError } from '../../util/errors.ts';
import { defineStage, type WorkItem } from '../stage.ts';

/**
 * Responses y ~ π(·|I, x): n samples per prompt from each model of a pool (any backend), with per-model sampling
 * defaults that stage params override. A model marked `policy: true` in the config yields on-policy responses;
 * the others off-policy (the survey's distinction, kept in provenance). One work item per (sample, model).
 * The request seed is derived from (seed, sample id, model), so a redone item asks for the same draw.
 */
const Params = z.strictObject({
  models: z.array(z.string().min(1)).min(1),
  n: z.number().int().positive().default(1),
  temperature: z.number().min(0).optional(),
  topP: z.number().gt(0).lte(1).optional(),
  maxTokens: z.number().int().positive().optional(),
  stop: z.array(z.string()).optional(),
  logprobs: z.boolean().default(false),
  /** base seed; default the config's seed. `false` sends none (for servers that reject it). */
  seed: z.union([z.number().int(), z.literal(false)]).optional(),
  /**
   * `none`: ask without the visual input, y ~ π(·|x) (a blind negative). Samples made by a `corrupt` stage are
   * always asked with their corrupted image and recorded as responses to the ORIGINAL sample with
   * `visual: corrupted` (y_neg | x, I_neg), so judges and pairing see them beside the clean ones.
   */
  visual: z.enum(['given', 'none']).optional(),
});

interface Item {
  sample: Sample;
  model: string;
}

export function derivedSeed(base: number, ...parts: string[]): number {
  const h = createHash('sha256')
    .update([base, ...parts].join('\u0000'))
    .digest();
  return h.readUInt32BE(0) & 0x7fffffff;
}

export const responsesStage = defineStage({
  description: 'sample n responses per prompt from one model or a pool (on/off-policy in provenance)',
  output: 'response',
  needsInput: true,
  params: Params,
  create(p, ctx) {
    for (const m of p.models)
      if (!Object.hasOwn(ctx.models, m))
        throw new MmalignError(
          'MMALIGN_CONFIG',
          `responses: unknown model "${m}"; models of this config: ${Object.keys(ctx.models).join(', ') || 'none'}`,
        );
    const input = ctx.input!;
    const fingerprint = {
      ...p,
      models: p.models.map((m) => {
        const c = ctx.models[m];
        return {
          name: m,
          spec: c.spec,
          temperature: c.temperature,
          topP: c.topP,
          maxTokens: c.maxTokens,
          policy: c.policy,
        };
      }),
    };
    return {
      name: ctx.name,
      type: 'responses',
      output: 'response',
      input,
      fingerprint,
      models: p.models,
      async count(env) {
        return (await env.countInput(input)) * p.models.length;
      },
      async *plan(env): AsyncGenerator<WorkItem<Item>> {
        for await (const rec of env.readInput(input)) {
          // records of an earlier stage were validated by the runner when written; re-parsing each with zod would
          // cost more than the HTTP request (bench/construct.ts), so check only that it is a Sample at all
          const v = rec.value as Sample;
          if (typeof v?.id !== 'string' || !Array.isArray(v.messages) || !v.provenance)
            throw new RecordValidationError(
              [
                {
                  code: 'not_a_sample',
                  message: 'expected a Sample record',
                  file: rec.file,
                  line: rec.line,
                  path: '(record)',
                },
              ],
              'responses reads the Samples of a source stage',
            );
          const r = { data: { ...v, media: v.media ?? [] } };
          for (const model of p.models) yield { key: `${r.data.id}|${model}`, data: { sample: r.data, model } };
        }
      },
      async run(item, env) {
        const { sample, model: name } = item.data;
        const m = await env.model(name);
        const params: GenerateParams = { ...m.defaults, n: p.n, logprobs: p.logprobs || undefined };
        if (p.temperature !== undefined) params.temperature = p.temperature;
        if (p.topP !== undefined) params.topP = p.topP;
        if (p.maxTokens !== undefined) params.maxTokens = p.maxTokens;
        if (p.stop) params.stop = p.stop;
        const base = p.seed === undefined ? env.seed : p.seed;
        if (base !== false) params.seed = derivedSeed(base, sample.id, name);
        const negOf = sample.provenance.extra?.negOf;
        const blind = p.visual === 'none';
        const asked = blind ? withoutMedia(sample) : sample;
        const [r] = await m.model.generate([asked], params, { mediaRoot: env.mediaRoot, signal: env.signal });
        if (!r.ok) return { ok: false, error: r.error };
        const recorded = {
          temperature: params.temperature,
          topP: params.topP,
          maxTokens: params.maxTokens,
          seed: params.seed,
          n: p.n,
          stop: params.stop,
        };
        const records: Response[] = r.generations.map((g, i) => ({
          id: `${sample.id}/${name}/${i}`,
          sampleId: typeof negOf === 'string' ? negOf : sample.id,
          text: g.text,
          model: name,
          params: Object.fromEntries(Object.entries(recorded).filter(([, v]) => v !== undefined)),
          ...(g.logprobs ? { logprobs: g.logprobs } : {}),
          visual: blind ? 'none' : typeof negOf === 'string' ? 'corrupted' : 'clean',
          finishReason: g.finishReason,
          provenance: {
            source: sample.provenance.source,
            responseModels: [name],
            policy: m.config.policy ? 'on' : 'off',
            strategy: blind
              ? 'sample:blind'
              : typeof negOf === 'string'
                ? `sample:${sample.provenance.strategy}`
                : 'sample',
            createdAt: env.now(),
            run: env.runId,
            extra: { modelId: m.model.id },
          },
        }));
        return {
          ok: true,
          records,
          usage: {
            requests: 1,
            promptTokens: r.usage?.promptTokens ?? 0,
            completionTokens: r.usage?.completionTokens ?? 0,
          },
        };
      },
      async concurrency(env) {
        let total = 0;
        for (const name of p.models) total += (await env.model(name)).capacity;
        return total;
      },
    };
  },
});
