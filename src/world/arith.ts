import type { PerSceneTask } from './sample.ts';
import { countWord } from './sample.ts';
import { CATEGORIES, CATEGORY_INFO, type Category } from './vocab.ts';

const name = (c: Category, n: number) => countWord(n, c, CATEGORY_INFO[c].plural);
const there = (n: number) => (n === 1 ? 'There is' : 'There are');

/**
 * Arithmetic over counts with one verifiable integer answer (for GRPO-style verifiers). The reference is a short
 * worked solution ending in "The answer is N." (checkAnswer reads that phrase, else the last number).
 * Forms: sum of two categories; difference (larger minus smaller, never negative); total after removing a category;
 * count after adding k of a category; product of two counts.
 */
export const arithTask: PerSceneTask = (scene, rng) => {
  const count = (c: Category) => scene.objects.filter((o) => o.category === c).length;
  const present = [...new Set(scene.objects.map((o) => o.category))];
  const any = () => (rng.chance(0.8) ? rng.pick(present) : rng.pick(CATEGORIES));
  const form = rng.int(0, 4);
  const a = any();
  let b = any();
  for (let i = 0; i < 5 && b === a; i++) b = any();
  if (b === a) b = CATEGORIES[(CATEGORIES.indexOf(a) + 1) % CATEGORIES.length];
  const ca = count(a);
  const cb = count(b);
  const pa = CATEGORY_INFO[a].plural;
  const pb = CATEGORY_INFO[b].plural;
  let prompt: string;
  let expression: string;
  let answer: number;
  let facts: string;
  if (form === 0) {
    prompt = `How many ${pa} and ${pb} are there in total?`;
    facts = `${there(ca)} ${name(a, ca)} and ${name(b, cb)}.`;
    expression = `${ca} + ${cb}`;
    answer = ca + cb;
  } else if (form === 1) {
    const [hi, lo] = ca >= cb ? [a, b] : [b, a];
    const [chi, clo] = ca >= cb ? [ca, cb] : [cb, ca];
    prompt = `How many more ${CATEGORY_INFO[hi].plural} than ${CATEGORY_INFO[lo].plural} are there?`;
    facts = `${there(chi)} ${name(hi, chi)} and ${name(lo, clo)}.`;
    expression = `${chi} - ${clo}`;
    answer = chi - clo;
  } else if (form === 2) {
    const total = scene.objects.length;
    prompt = `If all ${pa} are removed, how many shapes are left?`;
    facts = `${there(total)} ${countWord(total, 'shape', 'shapes')} and ${name(a, ca)}.`;
    expression = `${total} - ${ca}`;
    answer = total - ca;
  } else if (form === 3) {
    const k = rng.int(1, 3);
    prompt = `If ${k} more ${k === 1 ? a : pa} ${k === 1 ? 'is' : 'are'} added, how many ${pa} are there?`;
    facts = `${there(ca)} ${name(a, ca)}.`;
    expression = `${ca} + ${k}`;
    answer = ca + k;
  } else {
    prompt = `What is the number of ${pa} times the number of ${pb}?`;
    facts = `${there(ca)} ${name(a, ca)} and ${name(b, cb)}.`;
    expression = `${ca} * ${cb}`;
    answer = ca * cb;
  }
  return {
    prompt,
    reference: `${facts} ${expression} = ${answer}. The answer is ${answer}.`,
    truth: { answer, expression, form: ['sum', 'difference', 'remove', 'add', 'product'][form] },
  };
};
