import path from 'node:path';
import type { CallContext, GenerateParams, VisionLanguageModel } from '../../models/types.ts';
import { nowIso } from '../../schema/helpers.ts';
import type { Sample } from '../../schema/index.ts';
import type { WorldConfig } from '../../world/index.ts';
import type { BootstrapOptions } from '../stats.ts';
import { cacheKey, JsonlCache } from './cache.ts';

/**
 * What a suite gets from the runner: cached generation / scoring / judging against the models of the run.
 * Every request is keyed by (model id, prompt, media sha256, decoding params), so a resumed run redoes nothing.
 */

export interface GenOutcome {
  ok: boolean;
  text: string;
  finishReason?: string;
  error?: string;
}

export interface SuiteContext {
  seed: number;
  limit?: number;
  /** items of particular tasks of the `shapes` suite, overriding `limit` for them (e.g. a larger POPE) */
  limits?: Readonly<Record<string, number>>;
  /** ShapeWorld knobs of the `shapes` suite (default: the world's defaults); must match the training world */
  world?: WorldConfig;
  outDir: string;
  boot: BootstrapOptions;
  log(line: string): void;
  model: VisionLanguageModel;
  generate(label: string, samples: readonly Sample[], params: GenerateParams): Promise<Map<string, GenOutcome>>;
  /** Σ log π(response | I, x) under the evaluated model, or null when the backend cannot score given text. */
  logprob(sample: Sample, response: string): Promise<number | null>;
  judge?: { id: string; ask(prompt: string, params?: GenerateParams): Promise<GenOutcome> };
  reference?: {
    id: string;
    generate(label: string, samples: readonly Sample[], params: GenerateParams): Promise<Map<string, GenOutcome>>;
  };
}

const mediaKey = (s: Sample) => s.media.map((m) => ('sha256' in m ? (m.sha256 ?? m.path) : m.path));

export function makeGenerator(
  model: VisionLanguageModel,
  cache: JsonlCache<GenOutcome>,
  call: CallContext,
  log: (line: string) => void,
  batch = 16,
) {
  return async function generate(
    label: string,
    samples: readonly Sample[],
    params: GenerateParams,
  ): Promise<Map<string, GenOutcome>> {
    const out = new Map<string, GenOutcome>();
    // identical requests (same prompt, image and params: e.g. a POPE question asked in two splits) are sent once
    const pending = new Map<string, { s: Sample; ids: string[] }>();
    for (const s of samples) {
      const key = cacheKey(['gen', model.id, s.messages, mediaKey(s), params]);
      const hit = cache.get(key);
      if (hit) out.set(s.id, hit);
      else {
        const p = pending.get(key);
        if (p) p.ids.push(s.id);
        else pending.set(key, { s, ids: [s.id] });
      }
    }
    const todo = [...pending].map(([key, v]) => ({ key, ...v }));
    if (todo.length === 0) {
      log(`${label}: ${samples.length} responses from cache`);
      return out;
    }
    const t0 = Date.now();
    for (let i = 0; i < todo.length; i += batch) {
      const chunk = todo.slice(i, i + batch);
      const res = await model.generate(
        chunk.map((c) => c.s),
        { ...params, n: 1 },
        call,
      );
      res.forEach((r, k) => {
        const g: GenOutcome = r.ok
          ? { ok: true, text: r.generations[0]?.text ?? '', finishReason: r.generations[0]?.finishReason }
          : { ok: false, text: '', error: `${r.error.code}: ${r.error.message}` };
        // errors are not cached: a resumed run retries them
        if (g.ok) cache.put(chunk[k].key, g);
        for (const id of chunk[k].ids) out.set(id, g);
      });
      const done = Math.min(i + batch, todo.length);
      log(
        `${label}: ${done}/${todo.length} requests done (${((Date.now() - t0) / 1000).toFixed(1)} s)${samples.length > todo.length ? `, ${samples.length - todo.length} cached or shared` : ''}`,
      );
    }
    return out;
  };
}

export function textSample(id: string, prompt: string): Sample {
  return {
    id,
    messages: [{ role: 'user', content: prompt }],
    media: [],
    provenance: { source: 'mmalign-eval', createdAt: nowIso() },
  };
}

export function buildContext(o: {
  seed: number;
  limit?: number;
  limits?: Readonly<Record<string, number>>;
  world?: WorldConfig;
  outDir: string;
  boot: BootstrapOptions;
  log: (line: string) => void;
  /** called for every request written to a cache */
  onCached?: () => void;
  model: VisionLanguageModel;
  judge?: VisionLanguageModel;
  reference?: VisionLanguageModel;
}): SuiteContext {
  const call: CallContext = { mediaRoot: o.outDir };
  const gcache = new JsonlCache<GenOutcome>(path.join(o.outDir, 'responses.jsonl'), o.onCached);
  const lcache = new JsonlCache<number | null>(path.join(o.outDir, 'logprobs.jsonl'), o.onCached);
  const jcache = new JsonlCache<GenOutcome>(path.join(o.outDir, 'judgements.jsonl'), o.onCached);
  const model = o.model;
  const ctx: SuiteContext = {
    seed: o.seed,
    limit: o.limit,
    limits: o.limits,
    world: o.world,
    outDir: o.outDir,
    boot: o.boot,
    log: o.log,
    model,
    generate: makeGenerator(model, gcache, call, o.log),
    async logprob(sample, response) {
      if (!model.capabilities.promptLogprobs) return null;
      const key = cacheKey(['lp', model.id, sample.messages, mediaKey(sample), response]);
      const hit = lcache.get(key);
      if (hit !== undefined) return hit;
      const r = await model.logprobs(sample, response, { visual: { mode: 'given' } }, call);
      lcache.put(key, r.total);
      return r.total;
    },
  };
  if (o.judge) {
    const judge = o.judge;
    ctx.judge = {
      id: judge.id,
      async ask(prompt, params = { temperature: 0, maxTokens: 512 }) {
        const key = cacheKey(['judge', judge.id, prompt, params]);
        const hit = jcache.get(key);
        if (hit) return hit;
        const [r] = await judge.generate([textSample(`judge-${key}`, prompt)], params, call);
        const g: GenOutcome = r.ok
          ? { ok: true, text: r.generations[0]?.text ?? '' }
          : { ok: false, text: '', error: r.error.message };
        if (g.ok) jcache.put(key, g);
        return g;
      },
    };
  }
  if (o.reference) {
    const ref = o.reference;
    ctx.reference = { id: ref.id, generate: makeGenerator(ref, gcache, call, o.log) };
  }
  return ctx;
}
