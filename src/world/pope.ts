import { MmalignError } from '../util/errors.ts';
import { type Rng, streamRng } from './rng.ts';
import type { PerSceneTask, TaskContext, TaskItem } from './sample.ts';
import { type Scene, sceneCategories } from './scene.ts';
import { article, CATEGORIES, type Category } from './vocab.ts';

/**
 * POPE negatives, built as AoiDragon/POPE utils.py builds them (../shared/docs/benchmarks.md §1):
 * images with ≥ sampleNum distinct objects; per image the first sampleNum objects are `yes` questions, each followed
 * by one `no` question whose object is drawn
 *  - random: uniformly from all ground-truth objects (of the selected images), redrawn while it is in the image or
 *    already asked;
 *  - popular: the most frequent ground-truth object not in the image and not already asked;
 *  - adversarial: the object co-occurring most often with that positive, not in the image and not already asked;
 *  popular/adversarial fall back to the random draw when nothing qualifies. Counts and co-occurrences come from the
 * selected images; ties keep first-seen order (Python's stable sort over dict insertion order).
 * Deviation: the article is "an" before a vowel (the intent of `template.replace("a", "an")`, without its "imange" bug).
 */
export const POPE_STRATEGIES = ['random', 'popular', 'adversarial'] as const;
export type PopeStrategy = (typeof POPE_STRATEGIES)[number];

export interface PopeImage {
  id: string;
  /** Distinct object names in the image, in annotation order. */
  objects: readonly string[];
}

export interface PopeQuestion {
  image: string;
  object: string;
  label: 'yes' | 'no';
}

export const POPE_TEMPLATE = 'Is there a {} in the image?';

/**
 * Images the object statistics are computed over, at least (POPE uses 500). Small runs still draw their negatives
 * from a realistic frequency / co-occurrence table; only the first images' questions are emitted.
 */
export const POPE_MIN_IMAGES = 100;

export function popeQuestionText(object: string): string {
  return POPE_TEMPLATE.replace('a {}', `${article(object)} {}`).replace('{}', object);
}

/**
 * The answer a POPE record carries as its reference (what SFT trains on): the object, then yes or no ("square yes").
 * Scoring never depends on it (the label is `truth.label`, answers are read by the POPE parsers, which look for the
 * words yes / no), so this is a training-data choice, not a change of the benchmark. Why the object first: the
 * answer is then predicted at the position whose input is the object word, where the embedded model's FiLM image
 * summary multiplies that word's embedding (one step from image to answer); with a bare "yes" the decision sits at
 * <sep>, two attention hops from the image, and a 300k-parameter model stays at chance (measured in issue #3).
 */
export function popeAnswer(object: string, label: 'yes' | 'no'): string {
  return `${object} ${label}`;
}

/**
 * The `exist` task, existence questions to train on (POPE is the benchmark, not training data): yes or no with
 * probability ½, then the object uniformly among the categories drawn (yes) or not drawn (no). Why not train on
 * POPE's own questions: its popular / adversarial negatives are always frequent or co-occurring objects, so a
 * model trained on them learns "frequent object → no" from the question alone, the reverse of the bias POPE
 * measures (measured in issue #3: the recipe's SFT model said yes to 65% of absent rare objects and 0% of absent
 * moons). Here P(yes | object asked) follows how often the object is drawn, as in real instruction data.
 */
export const existTask: PerSceneTask = (scene, rng) => {
  const present = sceneCategories(scene);
  const absent = CATEGORIES.filter((c) => !present.includes(c));
  const label = absent.length === 0 || rng.chance(0.5) ? 'yes' : 'no';
  const object = label === 'yes' ? rng.pick(present) : rng.pick(absent);
  return {
    prompt: popeQuestionText(object),
    reference: popeAnswer(object, label),
    truth: { label, object, answer: label },
  };
};

/** generate_ground_truth_objects: object → number of images it appears in, insertion-ordered. */
export function popeObjectCounts(images: readonly PopeImage[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const im of images) for (const o of im.objects) counts.set(o, (counts.get(o) ?? 0) + 1);
  return counts;
}

/** compute_co_occurrence: object → the others, by descending co-occurrence count (stable). */
export function popeCoOccurrence(images: readonly PopeImage[]): Map<string, string[]> {
  const co = new Map<string, Map<string, number>>();
  for (const im of images)
    for (const o of im.objects) {
      const row = co.get(o) ?? new Map<string, number>();
      co.set(o, row);
      for (const other of im.objects) if (other !== o) row.set(other, (row.get(other) ?? 0) + 1);
    }
  const sorted = new Map<string, string[]>();
  for (const [o, row] of co)
    sorted.set(
      o,
      [...row.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k),
    );
  return sorted;
}

export function popeQuestions(
  images: readonly PopeImage[],
  strategy: PopeStrategy,
  rng: Rng,
  sampleNum = 3,
): PopeQuestion[] {
  const counts = popeObjectCounts(images);
  const gtList = [...counts.keys()];
  const byFrequency = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const coOccur = popeCoOccurrence(images);
  const out: PopeQuestion[] = [];
  for (const im of images) {
    if (im.objects.length < sampleNum)
      throw new MmalignError('MMALIGN_POPE_IMAGE', `image ${im.id} has ${im.objects.length} objects < ${sampleNum}`);
    const history: string[] = [];
    const excluded = (o: string) => history.includes(o) || im.objects.includes(o);
    const randomNegative = () => {
      if (gtList.every(excluded))
        throw new MmalignError('MMALIGN_POPE_EXHAUSTED', `no object left to ask about for image ${im.id}`, {
          hint: 'use fewer objects per scene or more categories',
        });
      let o = rng.pick(gtList);
      while (excluded(o)) o = rng.pick(gtList);
      return o;
    };
    for (let i = 0; i < sampleNum; i++) {
      const pos = im.objects[i];
      history.push(pos);
      out.push({ image: im.id, object: pos, label: 'yes' });
      let neg: string | undefined;
      if (strategy === 'popular') neg = byFrequency.find((o) => !excluded(o));
      else if (strategy === 'adversarial') neg = (coOccur.get(pos) ?? []).find((o) => !excluded(o));
      neg ??= randomNegative();
      history.push(neg);
      out.push({ image: im.id, object: neg, label: 'no' });
    }
  }
  return out;
}

/**
 * The `pope` task: n questions split evenly over the three strategies (random first), all over the same images
 * (POPE asks its three files about the same 500 images). Images = the first scenes of the split with ≥ 3 distinct
 * shapes, as many as the largest strategy needs (6 questions per image) and at least POPE_MIN_IMAGES.
 */
export function popeTask(ctx: TaskContext, n: number): TaskItem[] {
  const sampleNum = 3;
  if (ctx.config.objects.max < sampleNum)
    throw new MmalignError('MMALIGN_POPE_SCENES', `pope needs scenes with ≥ ${sampleNum} shapes`, {
      hint: `raise objects.max to at least ${sampleNum} (it is ${ctx.config.objects.max})`,
    });
  const quota = POPE_STRATEGIES.map((_, s) => Math.floor(n / 3) + (s < n % 3 ? 1 : 0));
  const need = Math.max(POPE_MIN_IMAGES, Math.ceil(Math.max(...quota) / (2 * sampleNum)));
  const scenes: Scene[] = [];
  for (let j = 0; scenes.length < need; j++) {
    if (j > 100 * (need + 10))
      throw new MmalignError('MMALIGN_POPE_SCENES', `too few scenes with ≥ ${sampleNum} distinct shapes`, {
        hint: `raise objects.max to at least ${sampleNum}`,
      });
    const s = ctx.sceneAt(j);
    if (sceneCategories(s).length >= sampleNum) scenes.push(s);
  }
  const byId = new Map(scenes.map((s) => [s.id, s]));
  const images: PopeImage[] = scenes.map((s) => ({ id: s.id, objects: sceneCategories(s) }));
  const items: TaskItem[] = [];
  POPE_STRATEGIES.forEach((strategy, s) => {
    const qs = popeQuestions(images, strategy, streamRng(ctx.seed, `pope/${ctx.split}/${strategy}`), sampleNum);
    for (const q of qs.slice(0, quota[s]))
      items.push({
        scene: byId.get(q.image)!,
        draft: {
          prompt: popeQuestionText(q.object),
          reference: popeAnswer(q.object, q.label),
          truth: { label: q.label, split: strategy, object: q.object as Category, answer: q.label },
          tags: [`pope:${strategy}`],
        },
      });
  });
  return items;
}
