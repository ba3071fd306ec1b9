import type { PerSceneTask } from './sample.ts';
import { uniqueDescription } from './sample.ts';
import { CATEGORIES, CATEGORY_INFO, type Category, COLORS } from './vocab.ts';

export const MC_LETTERS = ['A', 'B', 'C', 'D'] as const;

/** "Question\nA. x\nB. y\nC. z\nD. w\nAnswer with the letter." */
export function mcPrompt(question: string, choices: readonly string[]): string {
  return `${question}\n${choices.map((c, i) => `${MC_LETTERS[i]}. ${c}`).join('\n')}\nAnswer with the letter.`;
}

/**
 * Multiple choice with 4 options and one correct: which shape is in the image (distractors absent shapes, prior
 * partners of drawn triggers first, the adversarial choice), the color of a described object, or a count.
 */
export const mcTask: PerSceneTask = (scene, rng, ctx) => {
  const form = rng.weighted([0.5, 0.3, 0.2]);
  let question: string;
  let correct: string;
  let distractors: string[];
  let kind: string;
  const present = new Set<Category>(scene.objects.map((o) => o.category));
  if (form === 1) {
    const o = rng.shuffle(scene.objects).find((p) => uniqueDescription(scene, p, 'color'));
    if (!o) return null;
    question = `What color is the ${uniqueDescription(scene, o, 'color')}?`;
    correct = o.color;
    distractors = rng.shuffle(COLORS.filter((c) => c !== o.color)).slice(0, 3);
    kind = 'color';
  } else if (form === 2) {
    const o = rng.pick(scene.objects);
    const n = scene.objects.filter((p) => p.category === o.category).length;
    question = `How many ${CATEGORY_INFO[o.category].plural} are there?`;
    correct = String(n);
    distractors = rng.shuffle([0, 1, 2, 3, 4, 5, 6].filter((k) => k !== n).map(String)).slice(0, 3);
    kind = 'count';
  } else {
    const absent = CATEGORIES.filter((c) => !present.has(c));
    if (absent.length < 3) return null;
    const partners = ctx.config.priors.pairs
      .filter((p) => present.has(p.trigger) && !present.has(p.partner))
      .map((p) => p.partner);
    correct = rng.pick([...present]);
    distractors = [...rng.shuffle(partners), ...rng.shuffle(absent.filter((c) => !partners.includes(c)))].slice(0, 3);
    question = 'Which shape is in the image?';
    kind = 'shape';
  }
  const choices = rng.shuffle([correct, ...distractors]);
  const letter = MC_LETTERS[choices.indexOf(correct)];
  return {
    prompt: mcPrompt(question, choices),
    reference: letter,
    truth: { question, choices, answer: letter, answerText: correct, kind },
  };
};
