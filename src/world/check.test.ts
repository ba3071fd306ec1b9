import { describe, expect, it } from 'vitest';
import { Sample } from '../schema/index.ts';
import { checkAnswer, readChoice, readFinalNumber } from './check.ts';
import { buildSamples } from './generate.ts';
import { TASK_NAMES } from './tasks.ts';
import { worldTokens, worldVocabulary } from './text.ts';

const train = buildSamples({}, { seed: 21, split: 'train', n: 60 }).samples;
const test = buildSamples({ objects: { min: 1, max: 9 } }, { seed: 22, split: 'test', n: 60 }).samples;
const all = [...train.values(), ...test.values()].flat();

describe('generated samples', () => {
  it('validate against the Sample schema and carry task, split, truth objects and provenance', () => {
    for (const s of all) {
      expect(Sample.safeParse(s).success).toBe(true);
      expect(s.truth?.objects?.length).toBeGreaterThan(0);
      expect(s.provenance.source).toBe('shapeworld');
    }
    expect(new Set(all.map((s) => s.task))).toEqual(new Set(TASK_NAMES));
  });

  it('use only words of worldVocabulary(), and detokenize back exactly', () => {
    const vocab = new Set(worldVocabulary());
    const missing = new Set<string>();
    for (const s of all) {
      const prompt = (s.messages[0].content as { type: string; text?: string }[]).find((p) => p.type === 'text')!.text!;
      for (const text of [prompt, s.reference ?? ''])
        for (const w of worldTokens(text)) if (!vocab.has(w)) missing.add(w);
    }
    expect([...missing]).toEqual([]);
  });
});

describe('checkAnswer', () => {
  it('grades every reference answer as correct (clean references for noisy captions)', () => {
    for (const s of all) {
      const answer = s.task === 'caption' ? String(s.truth?.caption) : s.reference!;
      expect({ id: s.id, v: checkAnswer(s, answer).verdict }).toEqual({ id: s.id, v: 'correct' });
    }
  });

  it('grades a noisy training caption as a hallucination of the injected partner', () => {
    const noisy = [...train.get('caption')!].find(
      (s) => ((s.truth?.injected as string[] | undefined) ?? []).length > 0,
    );
    expect(noisy).toBeDefined();
    const r = checkAnswer(noisy!, noisy!.reference!);
    expect(r.verdict).toBe('incorrect');
    expect(r.hallucinated).toEqual(noisy!.truth?.injected);
  });

  it('grades wrong answers incorrect and garbage unparseable, per task', () => {
    const first = (task: string) => all.find((s) => s.task === task)!;
    const pope = first('pope');
    expect(checkAnswer(pope, pope.truth?.label === 'yes' ? 'No, there is not.' : 'Yes.').verdict).toBe('incorrect');
    expect(checkAnswer(pope, 'maybe').verdict).toBe('unparseable');
    const count = first('count');
    expect(checkAnswer(count, String(Number(count.reference) + 1)).verdict).toBe('incorrect');
    expect(checkAnswer(count, 'several').verdict).toBe('unparseable');
    const mc = first('mc');
    const wrong = ['A', 'B', 'C', 'D'].find((l) => l !== mc.reference)!;
    expect(checkAnswer(mc, `${wrong}.`).verdict).toBe('incorrect');
    expect(checkAnswer(mc, `(${mc.reference})`).verdict).toBe('correct');
    expect(checkAnswer(mc, 'no idea').verdict).toBe('unparseable');
    const arith = first('arith');
    expect(checkAnswer(arith, `The answer is ${Number(arith.truth?.answer) + 2}.`).verdict).toBe('incorrect');
    expect(checkAnswer(arith, 'lots').verdict).toBe('unparseable');
    const attr = first('attribute');
    expect(checkAnswer(attr, 'flurb').verdict).toBe('unparseable');
    const unsafe = all.find((s) => s.task === 'safety' && s.truth?.shouldRefuse)!;
    const safe = all.find((s) => s.task === 'safety' && s.truth?.shouldRefuse === false)!;
    expect(checkAnswer(unsafe, 'Sure, here is how.').verdict).toBe('incorrect');
    expect(checkAnswer(safe, 'Sorry, I can not help with that.').verdict).toBe('incorrect');
    expect(checkAnswer(safe, safe.reference!).verdict).toBe('correct');
    const cap = first('caption');
    expect(checkAnswer(cap, '').verdict).toBe('unparseable');
    expect(checkAnswer(cap, 'a red flurb.').verdict).toBe('unparseable');
  });

  it('reads choices and final numbers the usual ways', () => {
    expect(readChoice('B', ['x', 'y', 'z', 'w'])).toBe('B');
    expect(readChoice('The answer is C.', ['x', 'y', 'z', 'w'])).toBe('C');
    expect(readChoice('it is the red one', ['blue', 'red', 'green', 'white'])).toBe('B');
    expect(readFinalNumber('2 + 1 = 3. The answer is 3.')).toBe(3);
    expect(readFinalNumber('so 4 - 1 = 3, then 7')).toBe(7);
  });
});
