import { ruleScore } from '../../judges/rule.ts';
import type { Provenance, Response, Sample } from '../../schema/index.ts';
import type { ResolvedModel, Stage, StageBuildContext, StageEnv, WorkItem, WorkOutcome } from '../stage.ts';
import { checkStageNames, goodAnswers, groupBy, readResponses, readSamples, requireFinished } from './common.ts';
import { derivedSeed } from './responses.ts';

/**
 * What the negative stages (inject, rewrite, dropout) share: they read the Samples of their input and make a
 * rejected answer from a GOOD answer of each sample: its exact reference (ShapeWorld truth caption), or (with
 * `from: <responses stage>`) the sampled responses the rule judge grades fully correct. The good answer itself is
 * emitted too when it is the reference (id `<sample>/reference`), so judges and pairing see both sides; several
 * negative stages emit the same reference record and the judge keeps one per id.
 */
export interface NegItem {
  sample: Sample;
  goods: { text: string; responseId?: string }[];
}

export function isCorrect(s: Sample, text: string): boolean {
  const r = ruleScore(s, text);
  return r.verdict === 'correct' && r.hallucinated.length === 0 && r.missed.length === 0;
}

export async function* planNegatives(
  env: StageEnv,
  ctx: StageBuildContext,
  from: string | undefined,
  maxGood: number,
): AsyncGenerator<WorkItem<NegItem>> {
  if (from) await requireFinished(env, ctx.name, [from]);
  const samples = await readSamples(env, ctx.input!, ctx.name);
  const byS = from ? groupBy(await readResponses(env, [from], ctx.name), (r) => r.sampleId) : undefined;
  for (const sample of samples.values()) {
    if (sample.provenance.extra?.negOf !== undefined) continue;
    const goods = goodAnswers(sample, byS ? (byS.get(sample.id) ?? []) : undefined, isCorrect).slice(0, maxGood);
    yield { key: sample.id, data: { sample, goods } };
  }
}

export function referenceResponse(sample: Sample, env: StageEnv): Response {
  const exact = sample.truth?.caption;
  return {
    id: `${sample.id}/reference`,
    sampleId: sample.id,
    text: typeof exact === 'string' ? exact : (sample.reference ?? ''),
    model: 'reference',
    visual: 'clean',
    provenance: { source: sample.provenance.source, strategy: 'reference', createdAt: env.now(), run: env.runId },
  };
}

export function negativeResponse(
  sample: Sample,
  env: StageEnv,
  f: {
    id: string;
    text: string;
    model: string;
    strategy: string;
    visual?: Response['visual'];
    good: { text: string; responseId?: string };
    extra?: Record<string, unknown>;
    policy?: Provenance['policy'];
  },
): Response {
  return {
    id: f.id,
    sampleId: sample.id,
    text: f.text,
    model: f.model,
    visual: f.visual ?? 'clean',
    provenance: {
      source: sample.provenance.source,
      strategy: f.strategy,
      ...(f.policy ? { policy: f.policy } : {}),
      createdAt: env.now(),
      run: env.runId,
      extra: { goodText: f.good.text, ...(f.good.responseId ? { goodResponseId: f.good.responseId } : {}), ...f.extra },
    },
  };
}

/**
 * The loop of the model-based negative stages (rewrite, dropout): one request per good answer of the item; `finish`
 * turns the reply into the rejected text (null = no negative, e.g. the model echoed the good answer); the reference
 * is emitted first when the goods are references; usage is summed; a failed request fails the whole item.
 */
export async function askForNegatives(
  item: WorkItem<NegItem>,
  env: StageEnv,
  o: {
    model: string;
    from?: string;
    strategy: string;
    temperature: number;
    maxTokens: number;
    visual?: Response['visual'];
    request: NegativeRequest;
  },
): Promise<WorkOutcome> {
  const { sample, goods } = item.data;
  const m = await env.model(o.model);
  const records: Response[] = o.from || !goods.length ? [] : [referenceResponse(sample, env)];
  const usage = { requests: 0, promptTokens: 0, completionTokens: 0 };
  for (const [g, good] of goods.entries()) {
    const { ask, finish } = o.request(good, g);
    const [r] = await m.model.generate(
      [ask],
      {
        n: 1,
        temperature: o.temperature,
        maxTokens: o.maxTokens,
        seed: derivedSeed(env.seed, sample.id, o.strategy, String(g)),
      },
      { mediaRoot: env.mediaRoot, signal: env.signal },
    );
    if (!r.ok) return { ok: false, error: r.error };
    usage.requests++;
    usage.promptTokens += r.usage?.promptTokens ?? 0;
    usage.completionTokens += r.usage?.completionTokens ?? 0;
    const made = finish(r.generations[0]?.text ?? '');
    if (!made) continue;
    records.push(
      negativeResponse(sample, env, {
        id: `${sample.id}/${o.strategy}/${g}`,
        text: made.text,
        model: o.model,
        strategy: o.strategy,
        visual: o.visual,
        good,
        extra: { ...made.extra, modelId: m.model.id },
      }),
    );
  }
  return { ok: true, records, usage };
}

type NegativeRequest = (
  good: NegItem['goods'][number],
  g: number,
) => { ask: Sample; finish: (reply: string) => { text: string; extra?: Record<string, unknown> } | null };

/**
 * The stage of a model-based negative strategy (rewrite, dropout): one request per good answer to `p.model`, as
 * many in flight as the model takes. `check` may refuse the model before anything is planned.
 */
export function modelNegativeStage(
  p: { model: string; from?: string; maxGood: number; temperature: number; maxTokens: number },
  ctx: StageBuildContext,
  o: {
    type: string;
    visual?: Response['visual'];
    check?: (m: ResolvedModel) => void;
    request: (sample: Sample) => NegativeRequest;
  },
): Stage<NegItem> {
  checkStageNames(ctx, [p.model]);
  const input = ctx.input!;
  return {
    name: ctx.name,
    type: o.type,
    output: 'response',
    input,
    fingerprint: { ...p, spec: ctx.models[p.model].spec },
    models: [p.model],
    count: (env) => env.countInput(input),
    async *plan(env) {
      if (o.check) o.check(await env.model(p.model));
      yield* planNegatives(env, ctx, p.from, p.maxGood);
    },
    run: (item, env) =>
      askForNegatives(item, env, { ...p, strategy: o.type, visual: o.visual, request: o.request(item.data.sample) }),
    async concurrency(env) {
      return (await env.model(p.model)).capacity;
    },
  };
}
