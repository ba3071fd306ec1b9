import type { Rng } from './rng.ts';
import type { Draft, PerSceneTask } from './sample.ts';
import { uniqueDescription } from './sample.ts';
import type { Scene, SceneObject } from './scene.ts';
import { CATEGORIES, CATEGORY_INFO, type Category, COLORS } from './vocab.ts';

/** Objects of the scene in a random order (so the first that fits a question is a fair draw). */
function shuffled(scene: Scene, rng: Rng): SceneObject[] {
  return rng.shuffle(scene.objects);
}

/** Attribute questions: the color, size or shape of one uniquely described object. */
export const attributeTask: PerSceneTask = (scene, rng) => {
  const kinds = rng.shuffle(['color', 'size', 'shape'] as const);
  for (const kind of kinds)
    for (const o of shuffled(scene, rng)) {
      if (kind === 'shape') {
        const sameColor = scene.objects.filter((p) => p.color === o.color);
        if (sameColor.length !== 1) continue;
        return {
          prompt: `What shape is the ${o.color} object?`,
          reference: o.category,
          truth: { attribute: 'shape', target: o.id, answer: o.category },
        };
      }
      const desc = uniqueDescription(scene, o, kind);
      if (!desc) continue;
      const answer = kind === 'color' ? o.color : o.size;
      return {
        prompt: `What ${kind} is the ${desc}?`,
        reference: answer,
        truth: { attribute: kind, target: o.id, answer },
      };
    }
  return null;
};

/**
 * Counting: shapes of one category (present, or absent with answer 0: a prior partner when its trigger is drawn,
 * which probes the prior), shapes of one color, or all shapes.
 */
export const countTask: PerSceneTask = (scene, rng, ctx) => {
  const form = rng.weighted([0.6, 0.25, 0.15]);
  let prompt: string;
  let answer: number;
  let target: string;
  if (form === 0) {
    const present = [...new Set(scene.objects.map((o) => o.category))];
    const partners = ctx.config.priors.pairs
      .filter((p) => present.includes(p.trigger) && !present.includes(p.partner))
      .map((p) => p.partner);
    const absent = CATEGORIES.filter((c) => !present.includes(c));
    const cat: Category = rng.chance(0.7)
      ? rng.pick(present)
      : partners.length && rng.chance(0.5)
        ? rng.pick(partners)
        : rng.pick(absent.length ? absent : present);
    answer = scene.objects.filter((o) => o.category === cat).length;
    prompt = `How many ${CATEGORY_INFO[cat].plural} are there?`;
    target = cat;
  } else if (form === 1) {
    const color = rng.chance(0.75) ? rng.pick(scene.objects).color : rng.pick(COLORS);
    answer = scene.objects.filter((o) => o.color === color).length;
    prompt = `How many ${color} shapes are there?`;
    target = color;
  } else {
    answer = scene.objects.length;
    prompt = 'How many shapes are there?';
    target = 'shape';
  }
  return { prompt, reference: String(answer), truth: { target, answer } };
};

export const RELATIONS = ['to the left of', 'to the right of', 'above', 'below'] as const;
export type Relation = (typeof RELATIONS)[number];

/** Whether `a` stands in `rel` to `b`, by grid cells; undefined when the axis does not separate them. */
export function relationHolds(a: SceneObject, b: SceneObject, rel: Relation): boolean | undefined {
  const horizontal = rel === 'to the left of' || rel === 'to the right of';
  const da = horizontal ? a.cell[1] - b.cell[1] : a.cell[0] - b.cell[0];
  if (da === 0) return undefined;
  return rel === 'to the left of' || rel === 'above' ? da < 0 : da > 0;
}

/** Spatial: "Is the A to the left of the B?" (yes/no, balanced) or "Where is the A?" (a position by thirds). */
export const spatialTask: PerSceneTask = (scene, rng) => {
  const objs = shuffled(scene, rng);
  if (rng.chance(0.7) && objs.length >= 2) {
    const wantYes = rng.chance(0.5);
    for (const a of objs)
      for (const b of objs) {
        if (a === b) continue;
        const da = uniqueDescription(scene, a);
        const db = uniqueDescription(scene, b);
        if (!da || !db) continue;
        for (const rel of rng.shuffle(RELATIONS)) {
          const holds = relationHolds(a, b, rel);
          if (holds === undefined || holds !== wantYes) continue;
          const answer = holds ? 'yes' : 'no';
          return {
            prompt: `Is the ${da} ${rel} the ${db}?`,
            reference: answer,
            truth: { relation: rel, subject: a.id, object: b.id, answer },
          } satisfies Draft;
        }
      }
  }
  for (const a of objs) {
    const d = uniqueDescription(scene, a);
    if (!d) continue;
    return { prompt: `Where is the ${d}?`, reference: a.position, truth: { target: a.id, answer: a.position } };
  }
  return null;
};
