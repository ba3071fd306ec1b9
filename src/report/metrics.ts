import { z } from 'zod';

/**
 * metrics.json: one evaluation run, with what makes its numbers reproducible (sha256 of every benchmark file, the
 * scoring rule, judge id + prompt hash, decoding settings, seeds, mmalign version) and the per-item values the
 * compare command needs for paired tests. The HTML report is a pure function of this object.
 */

const Interval = z.object({ low: z.number(), high: z.number(), level: z.number(), resamples: z.number() });
export type IntervalJson = z.infer<typeof Interval>;

const Num = z.number().nullable();

export const BenchmarkEntry = z.object({
  /** unique in the run, e.g. "pope/adversarial" */
  id: z.string(),
  /** key of the BENCHMARKS table */
  benchmark: z.string(),
  dimension: z.string(),
  title: z.string(),
  /** scoring rule / parser used */
  rule: z.string(),
  headline: z.object({
    name: z.string(),
    value: Num,
    ci: Interval.nullable().optional(),
    lowerIsBetter: z.boolean().optional(),
    /** the figure's full scale (1 for fractions, 100 for percentages, 6 for MMHal ratings) */
    scale: z.number().default(1),
  }),
  metrics: z.record(z.string(), z.unknown()),
  /** anti-gaming figures shown next to the headline: parse rate, recall / coverage, mean length */
  guards: z.record(z.string(), Num),
  n: z.number(),
  /** per-item values for paired tests: `metric` names what the values are (1/0 correctness, or a score) */
  items: z.object({ metric: z.string(), ids: z.array(z.string()), values: z.array(Num) }).optional(),
  note: z.string().optional(),
});
export type BenchmarkEntry = z.infer<typeof BenchmarkEntry>;
export type BenchmarkEntryInput = z.input<typeof BenchmarkEntry>;

export const RunMetrics = z.object({
  schema: z.literal('mmalign.eval/1'),
  mmalign_version: z.string(),
  created_at: z.string(),
  suite: z.string(),
  model: z.object({ spec: z.string(), id: z.string() }),
  judge: z
    .object({ spec: z.string(), id: z.string(), prompts: z.record(z.string(), z.string()) })
    .nullable()
    .optional(),
  decoding: z.record(z.string(), z.record(z.string(), z.unknown())),
  seeds: z.record(z.string(), z.number()),
  files: z.array(z.object({ path: z.string(), sha256: z.string(), role: z.string().optional() })),
  benchmarks: z.array(BenchmarkEntry),
  timings: z.record(z.string(), z.number()).optional(),
  notes: z.array(z.string()).optional(),
});
export type RunMetrics = z.infer<typeof RunMetrics>;
export type RunMetricsInput = z.input<typeof RunMetrics>;
