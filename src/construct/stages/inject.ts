import { z } from 'zod';
import { INJECTION_NAMES, type InjectionName, injectHallucination } from '../../negatives/inject.ts';
import type { Response } from '../../schema/index.ts';
import type { Category } from '../../world/index.ts';
import { priorPartners } from '../../world/index.ts';
import { defineStage } from '../stage.ts';
import { readSamples } from './common.ts';
import { isCorrect, type NegItem, negativeResponse, planNegatives, referenceResponse } from './negative.ts';

/**
 * Rule-based hallucination injection from ShapeWorld truth (HA-DPO / POVID-style negatives with exact labels):
 * one rejected caption per (good answer, strategy), the swapped phrase kept as an RLHF-V segment in
 * `provenance.extra.segments` so the pair stage can emit segment corrections. Substitution (length-matched) is the
 * default; `mode: insert` adds a phrase instead, to study the length shortcut. Strategies that have nothing to
 * work with for a scene (no trigger drawn, ...) produce nothing for it, which is counted in the summary.
 */
const Params = z.strictObject({
  strategies: z
    .array(z.enum(INJECTION_NAMES as [InjectionName, ...InjectionName[]]))
    .min(1)
    .default([...INJECTION_NAMES]),
  mode: z.enum(['substitute', 'insert']).default('substitute'),
  /** a responses stage whose rule-correct answers are the good answers; default: the exact reference */
  from: z.string().optional(),
  /** good answers per sample to inject into */
  maxGood: z.number().int().positive().default(1),
  seed: z.number().int().optional(),
});

export const injectStage = defineStage({
  description:
    'rule-based hallucination injection into good ShapeWorld captions (cooccur/popular/random/attribute/count)',
  output: 'response',
  needsInput: true,
  params: Params,
  create(p, ctx) {
    const input = ctx.input!;
    let counts: Map<string, number> | undefined;
    return {
      name: ctx.name,
      type: 'inject',
      output: 'response',
      input,
      fingerprint: p,
      models: [],
      async count(env) {
        return env.countInput(input);
      },
      async *plan(env) {
        // category frequencies over the data set, for `popular` (POPE's popular split)
        counts = new Map();
        for (const s of (await readSamples(env, input, ctx.name)).values())
          for (const o of s.truth?.objects ?? []) counts.set(o.name, (counts.get(o.name) ?? 0) + 1);
        yield* planNegatives(env, ctx, p.from, p.maxGood);
      },
      async run(item: { key: string; data: NegItem }, env) {
        const { sample, goods } = item.data;
        const records: Response[] = p.from || !goods.length ? [] : [referenceResponse(sample, env)];
        goods.forEach((good, g) => {
          if (!isCorrect(sample, good.text)) return;
          for (const strategy of p.strategies) {
            const r = injectHallucination(sample, good.text, strategy, {
              seed: p.seed ?? env.seed,
              mode: p.mode,
              partners: (c: Category) => priorPartners(c),
              counts,
            });
            if (!r) continue;
            records.push(
              negativeResponse(sample, env, {
                id: `${sample.id}/inject:${strategy}/${g}`,
                text: r.text,
                model: 'rule:inject',
                strategy: `inject:${strategy}`,
                good,
                extra: { hallucinated: r.hallucinated, segments: r.segments, mode: p.mode },
              }),
            );
          }
        });
        return { ok: true, records };
      },
      async concurrency() {
        return 16;
      },
    };
  },
});
