import type { Sample, Segment } from '../schema/index.ts';
import { createRng, seedFrom } from '../util/rng.ts';
import {
  CATEGORIES,
  type CaptionObject,
  type Category,
  COLORS,
  type Color,
  formatCaption,
  parseCaption,
  phrase,
} from '../world/index.ts';

/**
 * Rule-based hallucination injection into a correct ShapeWorld caption (HA-DPO / POVID style negatives with exact
 * ground truth). Each strategy swaps ONE object phrase of the good caption, so chosen and rejected have the same
 * number of objects and nearly the same length (insertion-only negatives teach "longer is worse" instead of
 * grounding); `mode: 'insert'` adds the phrase instead, for studying exactly that shortcut.
 * The changed span is returned as an RLHF-V segment (rejected text [start, end) → correction), for dense_dpo / fdpo.
 */
export const INJECTIONS = {
  cooccur: 'name the prior partner of a drawn trigger object that is absent (language-prior hallucination)',
  popular: 'name the most frequent category (in the given counts) that is absent',
  random: 'name a random absent category',
  attribute: 'change the color of one drawn object',
  count: 'repeat one drawn object (one more than there are)',
} as const;
export type InjectionName = keyof typeof INJECTIONS;
export const INJECTION_NAMES = Object.keys(INJECTIONS) as InjectionName[];

export interface Injected {
  text: string;
  strategy: InjectionName;
  /** the category (or attribute) the rejected text wrongly adds */
  hallucinated: string;
  segments: Segment[];
}

export interface InjectOptions {
  seed: number;
  mode?: 'substitute' | 'insert';
  /** trigger → partners, for `cooccur` (ShapeWorld: priorPartners) */
  partners?: (c: Category) => readonly Category[];
  /** category frequencies over the data set, for `popular` */
  counts?: ReadonlyMap<string, number>;
}

/** Where each phrase of formatCaption(objects) starts and ends. */
function phraseSpans(objects: readonly CaptionObject[]): { start: number; end: number }[] {
  const text = formatCaption(objects);
  const spans: { start: number; end: number }[] = [];
  let from = 0;
  for (const o of objects) {
    const p = phrase(o);
    const start = text.indexOf(p, from);
    spans.push({ start, end: start + p.length });
    from = start + p.length;
  }
  return spans;
}

/**
 * Inject one hallucination into `good`, a well-formed caption of `sample`. Returns null when the strategy has
 * nothing to work with (no trigger present, every category drawn, malformed caption...).
 */
export function injectHallucination(
  sample: Sample,
  good: string,
  strategy: InjectionName,
  opts: InjectOptions,
): Injected | null {
  const parsed = parseCaption(good);
  if (!parsed.wellFormed || parsed.objects.length === 0) return null;
  const objects: CaptionObject[] = parsed.objects.map((o) => ({
    category: o.name,
    color: (o.attributes.color ?? 'red') as Color,
    size: o.attributes.size ?? 'medium',
  }));
  if (formatCaption(objects) !== good.trim()) return null;
  const drawn = new Set<string>((sample.truth?.objects ?? []).map((o) => o.name));
  for (const o of objects) drawn.add(o.category);
  const absent = CATEGORIES.filter((c) => !drawn.has(c));
  const rng = createRng(seedFrom(opts.seed, sample.id, strategy));
  const mode = opts.mode ?? 'substitute';

  let target: number; // index of the phrase to replace (or insert after)
  let fake: CaptionObject;
  let hallucinated: string;
  switch (strategy) {
    case 'cooccur': {
      const options: [number, Category][] = [];
      objects.forEach((o, i) => {
        for (const p of opts.partners?.(o.category) ?? []) if (!drawn.has(p)) options.push([i, p]);
      });
      if (!options.length) return null;
      const [trig, partner] = rng.pick(options);
      // replace a phrase other than the trigger, so the trigger that "explains" the hallucination stays
      const others = objects.map((_, i) => i).filter((i) => i !== trig);
      target = mode === 'insert' || !others.length ? trig : rng.pick(others);
      if (mode === 'substitute' && !others.length) return null;
      fake = { category: partner, color: rng.pick(COLORS), size: 'medium' };
      hallucinated = partner;
      break;
    }
    case 'popular':
    case 'random': {
      if (!absent.length) return null;
      let cat: Category;
      if (strategy === 'popular') {
        const ranked = [...absent].sort((a, b) => (opts.counts?.get(b) ?? 0) - (opts.counts?.get(a) ?? 0));
        cat = ranked[0];
      } else cat = rng.pick(absent);
      target = rng.int(objects.length);
      fake = { category: cat, color: rng.pick(COLORS), size: 'medium' };
      hallucinated = cat;
      break;
    }
    case 'attribute': {
      target = rng.int(objects.length);
      const o = objects[target];
      const color = rng.pick(COLORS.filter((c) => c !== o.color));
      fake = { ...o, color };
      hallucinated = `${color} ${o.category}`;
      break;
    }
    case 'count': {
      if (objects.length < 2 && mode === 'substitute') return null;
      const copy = rng.int(objects.length);
      const others = objects.map((_, i) => i).filter((i) => i !== copy);
      target = mode === 'insert' ? copy : rng.pick(others);
      fake = { ...objects[copy] };
      hallucinated = `extra ${objects[copy].category}`;
      break;
    }
  }
  const rejected = [...objects];
  if (mode === 'insert') rejected.splice(target + 1, 0, fake);
  else rejected[target] = fake;
  const text = formatCaption(rejected);
  if (text === good.trim()) return null;
  const at = mode === 'insert' ? target + 1 : target;
  const span = phraseSpans(rejected)[at];
  const goodSpans = phraseSpans(objects);
  const correction = mode === 'insert' ? '' : good.trim().slice(goodSpans[target].start, goodSpans[target].end);
  const tag = strategy === 'attribute' ? 'attribute' : strategy === 'count' ? 'count' : 'object';
  return {
    text,
    strategy,
    hallucinated,
    segments: [{ start: span.start, end: span.end, text: text.slice(span.start, span.end), correction, tag }],
  };
}
