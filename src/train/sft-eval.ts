import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readJsonl } from '../io/jsonl.ts';
import { decodeImageRgb, generateText, loadImageRgb, responseLogprobs, tf, type Vlm } from '../nn/index.ts';
import { promptText, Sample } from '../schema/index.ts';
import { DEFAULT_PRIORS, type PriorPair, parseWorldConfig } from '../world/config.ts';
import {
  buildSamples,
  compareCaption,
  inDistributionScenes,
  parseCaption,
  popeQuestionText,
  readYesNo,
} from '../world/index.ts';
import { resolveSamplesFile, sampleImagePath } from './data.ts';

/**
 * A quick hallucination check of a trained embedded model on ShapeWorld held-out samples, computed with plain
 * code (the eval module brings the reference-exact CHAIR/POPE scorers):
 * - captions (greedy): object recall = Σ|said ∩ drawn| / Σ|drawn|; CHAIR-i = hallucinated mentions / mentions;
 *   CHAIR-s = captions with ≥ 1 hallucination / captions; well-formed share (a broken caption can look "clean").
 * - prior pull: P(partner named | its trigger drawn, partner not drawn) against two controls, the same partner
 *   categories when their trigger is absent, and categories with no prior link at all; two-proportion z-tests.
 * - POPE (greedy yes/no): accuracy, F1 (yes = positive) and yes-ratio per negative-sampling split.
 */

export interface Rate {
  hits: number;
  n: number;
  rate: number;
}

export interface HallucinationReport {
  /**
   * How much the image helps: mean NLL per reference-caption token with another sample's image minus with its own
   * image (nats). ≈ 0 means a blind model that captions from the language prior alone.
   */
  imageGainNats: number;
  captions: {
    n: number;
    recall: number;
    chairI: number;
    chairS: number;
    wellFormed: number;
    exact: number;
    /** P(partner named | trigger drawn, partner not drawn) */
    partner: Rate;
    /** P(partner category named | its trigger not drawn, it not drawn) */
    partnerWithoutTrigger: Rate;
    /** P(category with no prior link named | not drawn) */
    control: Rate;
    /** z of partner vs control (two-proportion, pooled) and its one-sided p */
    zPartnerVsControl: number;
    pPartnerVsControl: number;
    zPartnerVsNoTrigger: number;
    pPartnerVsNoTrigger: number;
    examples: { id: string; said: string; truth: string; hallucinated: string[] }[];
  };
  pope: Record<string, { n: number; accuracy: number; f1: number; yesRatio: number; unparseable: number }>;
  /**
   * The co-occurrence prior in yes/no form, on the caption images: P(yes to "Is there a {partner}?" | its trigger
   * drawn, it not drawn) vs P(yes | an object with no prior link, not drawn). POPE's adversarial split asks about the
   * objects co-occurring most in the evaluated images, which in the counterfactual test split are not the training
   * priors; this asks about the priors themselves.
   */
  yesNoPrior: { partner: Rate; control: Rate; z: number; p: number };
}

const rate = (hits: number, n: number): Rate => ({ hits, n, rate: n ? hits / n : Number.NaN });

/** Pooled two-proportion z statistic and its one-sided p-value (a > b). */
export function twoProportionZ(a: Rate, b: Rate): { z: number; p: number } {
  const pooled = (a.hits + b.hits) / (a.n + b.n);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n));
  const z = se > 0 ? (a.rate - b.rate) / se : 0;
  return { z, p: 0.5 * erfc(z / Math.SQRT2) };
}

/** Complementary error function (Numerical Recipes erfcc, |error| < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export interface EvalSample {
  sample: Sample;
  image: Uint8Array | null;
}

/** Samples of `tasks` in `split` with their decoded images, and the world's priors (from world.json if present). */
export async function loadWorldEval(
  dirOrFile: string,
  opts: {
    imageSize: number;
    split: string;
    tasks: readonly string[] /** per task; per split for pope */;
    limitPerTask?: number;
  },
): Promise<{ samples: EvalSample[]; priors: PriorPair[] }> {
  const { file, root } = await resolveSamplesFile(dirOrFile);
  const perTask = new Map<string, number>();
  const samples: EvalSample[] = [];
  for await (const e of readJsonl(file)) {
    if (!e.ok) continue;
    const r = Sample.safeParse(e.value);
    if (!r.success) continue;
    const s = r.data;
    if (s.split !== opts.split || !s.task || !opts.tasks.includes(s.task)) continue;
    // POPE is limited per negative-sampling split, so random / popular / adversarial are all represented
    const popeSplit = (s.truth as Record<string, unknown> | undefined)?.split;
    const key = s.task === 'pope' ? `pope:${String(popeSplit)}` : s.task;
    const k = perTask.get(key) ?? 0;
    if (opts.limitPerTask !== undefined && k >= opts.limitPerTask) continue;
    perTask.set(key, k + 1);
    const img = sampleImagePath(s);
    if (img === 'multi') continue;
    samples.push({ sample: s, image: img ? await loadImageRgb(path.resolve(root, img), opts.imageSize) : null });
  }
  let priors = DEFAULT_PRIORS;
  try {
    const world = JSON.parse(await readFile(path.join(root, 'world.json'), 'utf8')) as {
      config?: { priors?: { pairs?: PriorPair[] } };
    };
    priors = world.config?.priors?.pairs ?? priors;
  } catch {
    // no world.json: the default priors
  }
  return { samples, priors };
}

/**
 * POPE as the shapes suite asks it, for the world a data folder was generated from (its world.json: config and seed):
 * `perSplit` questions per negative-sampling split on the world's in-distribution held-out scenes
 * (`inDistributionScenes`), rendered in memory. Null when the folder has no world.json.
 */
export async function inDistributionPope(
  dirOrFile: string,
  opts: { imageSize: number; perSplit: number },
): Promise<{ samples: EvalSample[]; seed: number } | null> {
  const { root } = await resolveSamplesFile(dirOrFile);
  let world: { config?: unknown; seed?: number };
  try {
    world = JSON.parse(await readFile(path.join(root, 'world.json'), 'utf8'));
  } catch {
    return null;
  }
  if (typeof world.seed !== 'number') return null;
  const scenes = inDistributionScenes(world.seed);
  const pngs = new Map<string, Buffer>();
  const built = buildSamples(parseWorldConfig(world.config ?? {}, path.join(root, 'world.json')), {
    ...scenes,
    n: 3 * opts.perSplit,
    tasks: ['pope'],
    onImage: (ref, png) => pngs.set(ref.path, png),
  });
  const samples: EvalSample[] = [];
  for (const sample of built.samples.get('pope') ?? []) {
    const file = sampleImagePath(sample);
    const png = typeof file === 'string' ? pngs.get(file) : undefined;
    samples.push({ sample, image: png ? await decodeImageRgb(png, opts.imageSize, sample.id) : null });
  }
  return { samples, seed: scenes.seed };
}

export function evaluateHallucination(
  m: Vlm,
  samples: readonly EvalSample[],
  priors: readonly PriorPair[],
): HallucinationReport {
  const captions = samples.filter((s) => s.sample.task === 'caption');
  const pope = samples.filter((s) => s.sample.task === 'pope');
  const gen = (xs: readonly EvalSample[], maxTokens: number) =>
    generateText(
      m,
      xs.map((s) => ({ image: s.image, prompt: promptText(s.sample.messages, false), key: s.sample.id })),
      { temperature: 0, maxTokens },
    ).map((g) => g[0]?.text ?? '');

  const partnerOf = new Map(priors.map((p) => [p.trigger as string, p.partner as string]));
  const linked = new Set(priors.flatMap((p) => [p.trigger as string, p.partner as string]));
  const allCategories = new Set<string>();
  for (const s of samples) for (const o of s.sample.truth?.objects ?? []) allCategories.add(o.name);
  const controls = [...allCategories].filter((c) => !linked.has(c));

  let drawn = 0;
  let recalled = 0;
  let mentions = 0;
  let halluc = 0;
  let captionsWithHalluc = 0;
  let wellFormed = 0;
  let exact = 0;
  const partner = { hits: 0, n: 0 };
  const noTrigger = { hits: 0, n: 0 };
  const control = { hits: 0, n: 0 };
  const examples: HallucinationReport['captions']['examples'] = [];
  const texts = gen(captions, 40);
  captions.forEach((s, i) => {
    const text = texts[i] ?? '';
    const truth = s.sample.truth?.objects ?? [];
    const parsed = parseCaption(text);
    const cmp = compareCaption(truth, parsed.objects);
    const present = new Set(truth.map((o) => o.name));
    const said = new Set<string>(parsed.objects.map((o) => o.name));
    drawn += present.size;
    recalled += [...present].filter((c) => said.has(c)).length;
    mentions += parsed.objects.length;
    halluc += parsed.objects.filter((o) => !present.has(o.name)).length;
    if (cmp.hallucinated.length) captionsWithHalluc++;
    if (parsed.wellFormed) wellFormed++;
    if (cmp.exact) exact++;
    for (const [trigger, p] of partnerOf) {
      if (present.has(p)) continue;
      const bucket = present.has(trigger) ? partner : noTrigger;
      bucket.n++;
      if (said.has(p)) bucket.hits++;
    }
    for (const c of controls) {
      if (present.has(c)) continue;
      control.n++;
      if (said.has(c)) control.hits++;
    }
    if (examples.length < 8 && cmp.hallucinated.length) {
      examples.push({
        id: s.sample.id,
        said: text,
        truth: String(s.sample.truth?.caption ?? ''),
        hallucinated: cmp.hallucinated,
      });
    }
  });
  // image gain: teacher-forced NLL of each reference caption with its own image vs the next sample's image
  let own = 0;
  let swapped = 0;
  let tokens = 0;
  for (let i = 0; i < captions.length; i += 64) {
    const chunk = captions.slice(i, i + 64);
    const rows = chunk.map((s) => ({
      prompt: promptText(s.sample.messages, false),
      response: String(s.sample.reference ?? ''),
    }));
    const sums = tf.tidy(() => {
      const a = responseLogprobs(
        m,
        rows.map((r, k) => ({ ...r, image: chunk[k]?.image ?? null })),
      );
      const b = responseLogprobs(
        m,
        rows.map((r, k) => ({ ...r, image: chunk[(k + 1) % chunk.length]?.image ?? null })),
      );
      return tf.stack([tf.sum(a.tokenLogps), tf.sum(b.tokenLogps), tf.sum(a.mask)]);
    });
    const [x, y, n] = sums.dataSync();
    sums.dispose();
    own += x as number;
    swapped += y as number;
    tokens += n as number;
  }
  const pr = rate(partner.hits, partner.n);
  const cr = rate(control.hits, control.n);
  const nr = rate(noTrigger.hits, noTrigger.n);
  const vsControl = twoProportionZ(pr, cr);
  const vsNoTrigger = twoProportionZ(pr, nr);

  // yes/no about absent prior partners of drawn triggers vs absent unlinked objects, on the caption images
  const probes: { s: EvalSample; object: string; kind: 'partner' | 'control' }[] = [];
  for (const s of captions) {
    const present = new Set((s.sample.truth?.objects ?? []).map((o) => o.name));
    for (const [trigger, p] of partnerOf)
      if (present.has(trigger) && !present.has(p)) probes.push({ s, object: p, kind: 'partner' });
    for (const c of controls) if (!present.has(c)) probes.push({ s, object: c, kind: 'control' });
  }
  const probeAnswers = generateText(
    m,
    probes.map((q) => ({ image: q.s.image, prompt: popeQuestionText(q.object), key: `${q.s.sample.id}?${q.object}` })),
    { temperature: 0, maxTokens: 3 },
  ).map((g) => readYesNo(g[0]?.text ?? ''));
  const yes = { partner: { hits: 0, n: 0 }, control: { hits: 0, n: 0 } };
  probes.forEach((q, i) => {
    yes[q.kind].n++;
    if (probeAnswers[i] === 'yes') yes[q.kind].hits++;
  });
  const yesPartner = rate(yes.partner.hits, yes.partner.n);
  const yesControl = rate(yes.control.hits, yes.control.n);
  const yesZ = twoProportionZ(yesPartner, yesControl);

  const popeOut: HallucinationReport['pope'] = {};
  const answers = gen(pope, 3);
  const bySplit = new Map<string, { truth: string; said: string | undefined }[]>();
  pope.forEach((s, i) => {
    const split = String((s.sample.truth as Record<string, unknown> | undefined)?.split ?? 'all');
    const list = bySplit.get(split) ?? [];
    list.push({ truth: String(s.sample.truth?.label ?? s.sample.truth?.answer), said: readYesNo(answers[i] ?? '') });
    bySplit.set(split, list);
  });
  for (const [split, list] of bySplit) {
    const tp = list.filter((x) => x.truth === 'yes' && x.said === 'yes').length;
    const fp = list.filter((x) => x.truth === 'no' && x.said === 'yes').length;
    const fn = list.filter((x) => x.truth === 'yes' && x.said !== 'yes').length;
    const correct = list.filter((x) => x.said === x.truth).length;
    popeOut[split] = {
      n: list.length,
      accuracy: correct / list.length,
      f1: tp ? (2 * tp) / (2 * tp + fp + fn) : 0,
      yesRatio: list.filter((x) => x.said === 'yes').length / list.length,
      unparseable: list.filter((x) => x.said === undefined).length,
    };
  }

  return {
    imageGainNats: tokens ? (own - swapped) / tokens : Number.NaN,
    captions: {
      n: captions.length,
      recall: drawn ? recalled / drawn : Number.NaN,
      chairI: mentions ? halluc / mentions : Number.NaN,
      chairS: captions.length ? captionsWithHalluc / captions.length : Number.NaN,
      wellFormed: captions.length ? wellFormed / captions.length : Number.NaN,
      exact: captions.length ? exact / captions.length : Number.NaN,
      partner: pr,
      partnerWithoutTrigger: nr,
      control: cr,
      zPartnerVsControl: vsControl.z,
      pPartnerVsControl: vsControl.p,
      zPartnerVsNoTrigger: vsNoTrigger.z,
      pPartnerVsNoTrigger: vsNoTrigger.p,
      examples,
    },
    pope: popeOut,
    yesNoPrior: { partner: yesPartner, control: yesControl, z: yesZ.z, p: yesZ.p },
  };
}
