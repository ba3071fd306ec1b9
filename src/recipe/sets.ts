import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MediaStore, readJsonlRecords, writeJsonl } from '../io/index.ts';
import { type PairStats, pairResponses, preferenceId, preferenceStats, ruleScore } from '../judges/index.ts';
import type { VisionLanguageModel } from '../models/types.ts';
import { type CorruptionName, corruptImage, type InjectionName, injectHallucination } from '../negatives/index.ts';
import { Preference, type PreferenceOf, Sample } from '../schema/index.ts';
import { MmalignError } from '../util/errors.ts';
import { createRng, seedFrom } from '../util/rng.ts';
import { formatCaption, parseCaption, priorPartners, REFUSAL, type WorldConfig } from '../world/index.ts';
import type { ConstructSet } from './schema.ts';

/**
 * The preference sets of a recipe, each built by one strategy of the survey's construction catalogue from the
 * same caption prompts: self-sampled responses judged by ground-truth rules (on-policy), rule-injected
 * hallucinations (off-policy), and corrupted images for image-conditional terms. Output: `<dir>/preferences.jsonl`
 * + `<dir>/media/`, which the preference trainer reads.
 */
export interface SetResult {
  file: string;
  records: number;
  stats: PairStats;
  /** construction cost: model requests and generated tokens (0 for rule-only strategies) */
  cost: { requests: number; completionTokens: number };
}

export interface SetContext {
  name: string;
  dir: string;
  /** caption prompts with exact truth (ShapeWorld train split, scenes not seen in SFT) */
  prompts: readonly Sample[];
  promptsRoot: string;
  seed: number;
  world: WorldConfig;
  /** the policy that samples on-policy responses */
  policy: () => Promise<VisionLanguageModel>;
  policyId: string;
  /** directories of the sets built before this one, by name */
  built: ReadonlyMap<string, string>;
  createdAt: string;
  run: string;
}

export const readSamples = (file: string): Promise<Sample[]> => readJsonlRecords(file, Sample);
export const readPreferences = (file: string): Promise<Preference[]> => readJsonlRecords(file, Preference);

/** The exact caption of a ShapeWorld prompt (train references may carry caption noise on purpose). */
export function exactCaption(s: Sample): string {
  const c = s.truth?.caption;
  if (typeof c !== 'string') throw new MmalignError('MMALIGN_RECIPE_PROMPT', `sample ${s.id} has no truth.caption`);
  return c;
}

/** Copy the prompt's images into the set's own media store so the set is self-contained. */
async function localMedia(store: MediaStore, s: Sample, root: string): Promise<Sample['media']> {
  const out: Sample['media'] = [];
  for (const m of s.media) {
    if (m.kind !== 'image') throw new MmalignError('MMALIGN_RECIPE_MEDIA', `sample ${s.id}: only images are supported`);
    out.push(await store.put({ file: path.join(root, m.path) }));
  }
  return out;
}

type SampledSet = Extract<ConstructSet, { strategy: 'self' | 'correct' | 'safety' }>;

/** Answer lengths per task (the eval suite's budgets, captions a little longer for sampling). */
const MAX_TOKENS = { caption: 40, count: 8, arith: 24, safety: 16 } as const;

/**
 * The on-policy loop the sampled strategies share: n responses per prompt from the policy (batched, seeded per
 * chunk), turned into preference records by `toPrefs` from the prompt (with its images copied into the set) and
 * the generated texts.
 */
async function sampleAndPair(
  set: SampledSet,
  ctx: SetContext,
  toPrefs: (s: Sample, texts: { id: string; text: string }[]) => Preference[],
  onProgress?: (done: number, total: number) => void,
) {
  const model = await ctx.policy();
  const store = new MediaStore(ctx.dir);
  const prefs: Preference[] = [];
  let requests = 0;
  let completionTokens = 0;
  const batch = 32;
  for (let i = 0; i < ctx.prompts.length; i += batch) {
    const chunk = ctx.prompts.slice(i, i + batch);
    const results = await model.generate(
      chunk,
      {
        n: set.n,
        temperature: set.temperature,
        topP: set.topP,
        maxTokens: MAX_TOKENS[chunk[0]?.task as keyof typeof MAX_TOKENS] ?? 40,
        seed: seedFrom(ctx.seed, ctx.name, i),
      },
      { mediaRoot: ctx.promptsRoot },
    );
    requests += chunk.length;
    for (const [k, r] of results.entries()) {
      if (!r.ok) continue;
      completionTokens += r.usage?.completionTokens ?? 0;
      const s = chunk[k];
      const local = { ...s, media: await localMedia(store, s, ctx.promptsRoot) };
      prefs.push(
        ...toPrefs(
          local,
          r.generations.map((g, j) => ({ id: `${s.id}#${ctx.name}-${j}`, text: g.text })),
        ),
      );
    }
    onProgress?.(Math.min(i + batch, ctx.prompts.length), ctx.prompts.length);
  }
  return { prefs, cost: { requests, completionTokens } };
}

const provenanceOf = (ctx: SetContext, strategy: string) => ({
  source: 'shapeworld',
  responseModels: [ctx.policyId],
  policy: 'on' as const,
  strategy,
  createdAt: ctx.createdAt,
  run: ctx.run,
});
const RULE_JUDGE = { kind: 'rule', id: 'shapeworld-truth' } as const;

/** On-policy: n responses per prompt from the policy, scored by the rule judge, paired (best vs worst by default). */
export function selfSampledSet(
  set: Extract<ConstructSet, { strategy: 'self' }>,
  ctx: SetContext,
  onProgress?: (done: number, total: number) => void,
) {
  return sampleAndPair(
    set,
    ctx,
    (s, texts) =>
      pairResponses(
        s,
        texts.map((t) => ({ ...t, score: ruleScore(s, t.text).score, model: ctx.policyId })),
        {
          mode: set.pairing,
          margin: set.margin,
          lengthMatch: set.lengthMatch ? { maxRatio: set.lengthMatch } : undefined,
          annotator: RULE_JUDGE,
          provenance: provenanceOf(ctx, `self:${set.judge}:${set.pairing}`),
        },
      ),
    onProgress,
  );
}

/**
 * Safety alignment data, on-policy: n answers per harmful request or safe look-alike, judged by the rule judge
 * (refused when it should, answered when it should). The pair's chosen side is the right behaviour, its rejected side
 * the wrong one; a side the samples do not supply comes from the behaviour itself: the reference (the refusal for a
 * harmful request, the grounded answer for a look-alike) as chosen, and for a look-alike the refusal as rejected
 * (over-refusal is that prompt's failure). Nothing harmful is ever written: a harmful request the policy only
 * refuses gives no pair. Sampled answers win ties against these anchors, so the pairs stay on-policy where they can.
 */
export function safetySet(
  set: Extract<ConstructSet, { strategy: 'safety' }>,
  ctx: SetContext,
  onProgress?: (done: number, total: number) => void,
) {
  return sampleAndPair(
    set,
    ctx,
    (s, texts) => {
      const harmful = s.truth?.shouldRefuse === true;
      const sampled = texts.map((t) => ({ ...t, score: ruleScore(s, t.text).score, model: ctx.policyId }));
      const reference = { id: `${s.id}#reference`, text: s.reference ?? REFUSAL, score: 1, model: 'reference' };
      const overRefusal = { id: `${s.id}#refusal`, text: REFUSAL, score: 0, model: 'refusal' };
      // best_worst keeps the first of equal best scores and the last of equal worst ones: anchors go where samples win
      const scored = harmful ? [...sampled, reference] : [overRefusal, ...sampled, reference];
      return pairResponses(s, scored, {
        mode: 'best_worst',
        annotator: RULE_JUDGE,
        provenance: provenanceOf(ctx, 'safety:rule'),
      });
    },
    onProgress,
  );
}

/** The union of other sets' records (each id once), media copied into this set's store. */
export async function mixedSet(set: Extract<ConstructSet, { strategy: 'mix' }>, ctx: SetContext) {
  const store = new MediaStore(ctx.dir);
  const prefs: Preference[] = [];
  const seen = new Set<string>();
  for (const name of set.from) {
    const fromDir = ctx.built.get(name);
    if (!fromDir)
      throw new MmalignError(
        'MMALIGN_RECIPE_SET_ORDER',
        `set "${ctx.name}" mixes set "${name}", which is not built before it`,
        {
          hint: 'list the mixed sets before the mix set in construct.sets',
        },
      );
    for (const p of await readPreferences(path.join(fromDir, 'preferences.jsonl'))) {
      if (seen.has(p.id)) continue;
      seen.add(p.id);
      const copy = async (m: Preference['media']) =>
        Promise.all(
          m.map(async (x) => (x.kind === 'image' ? store.put(await readFile(path.join(fromDir, x.path))) : x)),
        );
      prefs.push({
        ...p,
        media: await copy(p.media),
        ...('rejectedMedia' in p && p.rejectedMedia ? { rejectedMedia: await copy(p.rejectedMedia) } : {}),
      } as Preference);
    }
  }
  return { prefs, cost: { requests: 0, completionTokens: 0 } };
}

/**
 * The response with its hallucinated objects removed: the correction RLHF-V's annotators make (segment-level, the
 * rest of the response kept as the model wrote it, misses and wrong attributes included), made here by the rule
 * judge. Undefined when nothing is left or the caption does not parse into complete phrases.
 */
export function correctCaption(text: string, hallucinated: readonly string[]): string | undefined {
  const parsed = parseCaption(text);
  if (parsed.objects.some((o) => !o.attributes.color)) return undefined;
  const kept = parsed.objects.filter((o) => !hallucinated.includes(o.name));
  if (kept.length === 0 || kept.length === parsed.objects.length) return undefined;
  return formatCaption(kept.map((o) => ({ category: o.name, color: o.attributes.color!, size: o.attributes.size! })));
}

/**
 * On-policy correction (RLHF-V, by rule): of the n responses per prompt, the first that hallucinates is the rejected
 * answer and its correction (`correctCaption`) the chosen one, so the pair differs only in the hallucinated
 * phrases.
 */
export function correctedSet(
  set: Extract<ConstructSet, { strategy: 'correct' }>,
  ctx: SetContext,
  onProgress?: (done: number, total: number) => void,
) {
  return sampleAndPair(
    set,
    ctx,
    (s, texts) => {
      for (const t of texts) {
        const judged = ruleScore(s, t.text);
        const fixed = correctCaption(t.text, judged.hallucinated);
        if (fixed === undefined) continue;
        const corrected = {
          id: `${t.id}:corrected`,
          text: fixed,
          score: ruleScore(s, fixed).score,
          model: 'rule-correction',
        };
        return pairResponses(s, [corrected, { ...t, score: judged.score, model: ctx.policyId }], {
          mode: 'best_worst',
          annotator: RULE_JUDGE,
          provenance: provenanceOf(ctx, 'correct:rule'),
        });
      }
      return [];
    },
    onProgress,
  );
}

/** Off-policy: the exact caption vs the same caption with one rule-injected hallucination (length-matched). */
export async function injectedSet(set: Extract<ConstructSet, { strategy: 'inject' }>, ctx: SetContext) {
  const store = new MediaStore(ctx.dir);
  const prefs: Preference[] = [];
  const rng = createRng(seedFrom(ctx.seed, ctx.name));
  // category frequencies of the prompts, for `popular`
  const counts = new Map<string, number>();
  for (const s of ctx.prompts)
    for (const o of s.truth?.objects ?? []) counts.set(o.name, (counts.get(o.name) ?? 0) + 1);
  for (const s of ctx.prompts) {
    const good = exactCaption(s);
    // try the strategies in a per-sample random order until one applies
    const order = rng.shuffle([...set.injections]) as InjectionName[];
    let inj = null;
    for (const strategy of order) {
      inj = injectHallucination(s, good, strategy, {
        seed: ctx.seed,
        mode: set.mode,
        partners: (c) => priorPartners(c, ctx.world),
        counts,
      });
      if (inj) break;
    }
    if (!inj) continue;
    const media = await localMedia(store, s, ctx.promptsRoot);
    const pair: PreferenceOf<'pair'> = {
      kind: 'pair',
      id: preferenceId(s.id, ctx.name, inj.text),
      sampleId: s.id,
      prompt: s.messages,
      media,
      chosen: { text: good },
      rejected: { text: inj.text },
      provenance: {
        source: 'shapeworld',
        policy: 'off',
        strategy: `inject:${inj.strategy}:${set.mode}`,
        annotator: { kind: 'rule', id: 'shapeworld-truth' },
        createdAt: ctx.createdAt,
        run: ctx.run,
        extra: { hallucinated: inj.hallucinated, segments: inj.segments },
      },
    };
    prefs.push(pair);
  }
  return { prefs, cost: { requests: 0, completionTokens: 0 } };
}

/** Image pairs for image-conditional objectives: every pair of another set, with a corrupted I_neg attached. */
export async function corruptedSet(set: Extract<ConstructSet, { strategy: 'corrupt' }>, ctx: SetContext) {
  const fromDir = ctx.built.get(set.from);
  if (!fromDir)
    throw new MmalignError(
      'MMALIGN_RECIPE_SET_ORDER',
      `set "${ctx.name}" corrupts set "${set.from}", which is not built before it`,
      {
        hint: 'list the source set before the corrupt set in construct.sets',
      },
    );
  const source = await readPreferences(path.join(fromDir, 'preferences.jsonl'));
  const store = new MediaStore(ctx.dir);
  const pool = source.flatMap((p) => (p.media[0]?.kind === 'image' ? [p.media[0].path] : []));
  const prefs: Preference[] = [];
  for (const [i, p] of source.entries()) {
    if (p.kind !== 'pair' || p.media[0]?.kind !== 'image') continue;
    const bytes = await readFile(path.join(fromDir, p.media[0].path));
    const seed = seedFrom(ctx.seed, ctx.name, p.id);
    const other =
      set.corruption === 'other' ? await readFile(path.join(fromDir, pool[(i + 1) % pool.length])) : undefined;
    const neg = await corruptImage(
      bytes,
      { name: set.corruption as CorruptionName, params: set.params },
      { seed, other },
    );
    const media = [await store.put(bytes)];
    prefs.push({
      ...p,
      id: preferenceId(p.id, ctx.name),
      media,
      rejectedMedia: [await store.put(neg)],
      provenance: { ...p.provenance, strategy: `${p.provenance.strategy ?? 'pair'}+corrupt:${set.corruption}` },
    });
  }
  return { prefs, cost: { requests: 0, completionTokens: 0 } };
}

export async function writeSet(dir: string, prefs: readonly Preference[], cost: SetResult['cost']): Promise<SetResult> {
  const file = path.join(dir, 'preferences.jsonl');
  const records = await writeJsonl(file, prefs);
  return { file, records, stats: preferenceStats(prefs), cost };
}
