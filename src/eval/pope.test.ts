import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchdataDir } from './chair-synonyms.ts';
import { judgePope, popeWords, scorePope } from './pope.ts';
import { processPunctuation, yornExtract } from './yorn.ts';

describe('POPE original rule (AoiDragon/POPE evaluate.py)', () => {
  const pred = (a: string) => judgePope('pope', 'yes', a).pred;
  it('is case-sensitive on No/not/no, so "NO" and "Not" score as yes', () => {
    expect(pred('No')).toBe('no');
    expect(pred('no')).toBe('no');
    expect(pred('NO')).toBe('yes');
    expect(pred('Not sure')).toBe('yes');
    expect(pred('It is not there')).toBe('no');
  });
  it('treats contractions, empty answers and unknown words as yes', () => {
    expect(pred("I don't think so")).toBe('yes');
    expect(pred('cannot tell')).toBe('yes');
    expect(pred('')).toBe('yes');
    expect(judgePope('pope', 'yes', '').parsed).toBe(false);
  });
  it('keeps only the text before the first "." — a decimal cuts the sentence', () => {
    expect(popeWords('The value is 1.5 no')).toEqual(['The', 'value', 'is', '1']);
    expect(pred('The value is 1.5 no')).toBe('yes');
    expect(pred('Yes. There is no dog')).toBe('yes');
  });
  it('splits on single spaces only: a newline glues words', () => {
    expect(popeWords('No\nThere is nothing')).toEqual(['No\nThere', 'is', 'nothing']);
    expect(pred('No\nThere is nothing')).toBe('yes');
    expect(pred('No, there is not.')).toBe('no');
    expect(popeWords('Yes, and no')).toEqual(['Yes', 'and', 'no']);
  });
  it('computes P/R/F1 with yes as the positive class and null where the reference divides by zero', () => {
    const r = scorePope(
      [
        { label: 'yes', answer: 'Yes' },
        { label: 'yes', answer: 'No' },
        { label: 'no', answer: 'Yes' },
        { label: 'no', answer: 'no' },
        { label: 'no', answer: 'No.' },
      ],
      'pope',
    );
    expect([r.tp, r.fn, r.fp, r.tn]).toEqual([1, 1, 1, 2]);
    expect(r.accuracy).toBe(3 / 5);
    expect(r.precision).toBe(1 / 2);
    expect(r.recall).toBe(1 / 2);
    expect(r.f1).toBe(0.5);
    expect(r.yes_ratio).toBe(2 / 5);
    const allNo = scorePope([{ label: 'yes', answer: 'no' }], 'pope');
    expect(allNo.precision).toBeNull();
    expect(allNo.f1).toBeNull();
  });
  it('reports per-split metrics when items carry a category', () => {
    const r = scorePope([
      { label: 'yes', answer: 'Yes', category: 'random' },
      { label: 'no', answer: 'Yes', category: 'adversarial' },
      { label: 'no', answer: 'No', category: 'adversarial' },
    ]);
    expect(Object.keys(r.per_split ?? {})).toEqual(['adversarial', 'random']);
    expect(r.per_split?.adversarial.accuracy).toBe(0.5);
    expect(r.per_split?.random.accuracy).toBe(1);
  });
});

describe('lmms-eval rule', () => {
  it('needs an exact yes/no after lower().strip(); others are wrong and outside FN; yes_ratio = ground-truth yes', () => {
    const r = scorePope(
      [
        { label: 'yes', answer: ' YES ' },
        { label: 'yes', answer: 'yes.' },
        { label: 'yes', answer: 'no' },
        { label: 'no', answer: 'No' },
      ],
      'lmms-eval',
    );
    expect(r.accuracy).toBe(2 / 4);
    expect(r.recall).toBe(1 / 2); // tp 1, fn 1 ("yes." is not an FN)
    expect(r.precision).toBe(1);
    expect(r.yes_ratio).toBe(3 / 4);
    expect(r.pred_yes_ratio).toBe(1 / 4);
    expect(r.parse_rate).toBe(3 / 4);
  });
});

describe('VLMEvalKit YOrN extraction', () => {
  // expected values printed by the reference functions run in python3 (see pope_ref.py in the report).
  it.each([
    ['NO', 'No'],
    ['Not sure', 'Unknown'],
    ["don't", 'Unknown'],
    ['1.5 no', 'No'],
    ['', 'Unknown'],
    ['No\nThere', 'No'],
    ['Yes, there is.', 'Yes'],
    ['yes-no', 'Unknown'],
    ['yes/no', 'Unknown'],
    ['no, 3,000 yes', 'Unknown'],
    ['(yes)', 'Yes'],
    ['yes.no', 'Unknown'],
    ['It is 2.5 no', 'No'],
  ])('%j → %s', (text, want) => expect(yornExtract(text)).toBe(want));
  it('reproduces process_punctuation, including the 32-period limit', () => {
    expect(processPunctuation('no, 3,000 yes')).toBe('no 3000 yes');
    expect(processPunctuation('(yes)')).toBe(' yes ');
    expect(processPunctuation('a.'.repeat(40))).toBe(`${'a'.repeat(33)}${'.a'.repeat(7)}.`);
  });
  it('counts Unknown as a negative prediction (an FN on positives)', () => {
    const r = scorePope(
      [
        { label: 'yes', answer: 'maybe' },
        { label: 'yes', answer: 'yes' },
      ],
      'vlmevalkit',
    );
    expect(r.recall).toBe(0.5);
    expect(r.accuracy).toBe(0.5);
  });
});

describe('POPE on the adversarial COCO file with synthetic answers', () => {
  const POOL = [
    'Yes',
    'No',
    'yes',
    'no',
    'NO',
    'Not sure',
    "I don't think so",
    'Yes, there is one in the image.',
    'No, there is not.',
    'There is no such object in the image.',
    '',
    'Yes\nThere is',
    'No\nThere is nothing',
    'The value is 1.5 no',
    'yes.',
    'Unknown',
    'There are 2. No',
    'I cannot tell',
    'no, definitely not',
    'Yes!',
    ' yes ',
    'No.',
    'Yes, and no.',
    '(yes)',
    'not',
  ];
  const lines = readFileSync(path.join(benchdataDir(), 'coco_pope_adversarial.json'), 'utf8').trim().split('\n');
  const qs = lines.map((l) => JSON.parse(l) as { question_id: number; label: 'yes' | 'no' });
  const items = qs.map((q) => {
    const k =
      (Math.floor(((q.question_id * 1103515245 + 12345) % 2147483648) / 65536) + (q.label === 'yes' ? 11 : 0)) %
      POOL.length;
    return { label: q.label, answer: POOL[k] };
  });
  // Independent computation: the three reference rules re-implemented in python3 (/tmp pope_ref.py) over the same
  // answers printed these values.
  it('has the file as documented: 3000 questions, half yes', () => {
    expect(qs.length).toBe(3000);
    expect(qs.filter((q) => q.label === 'yes').length).toBe(1500);
  });
  it('pope rule', () => {
    const r = scorePope(items, 'pope');
    expect([r.tp, r.fp, r.tn, r.fn]).toEqual([1022, 1019, 481, 478]);
    expect(r.accuracy).toBe(0.501);
    expect(r.precision).toBe(0.5007349338559529);
    expect(r.recall).toBe(0.6813333333333333);
    expect(r.f1).toBe(0.5772380683422762);
    expect(r.yes_ratio).toBe(0.6803333333333333);
  });
  it('lmms-eval rule', () => {
    const r = scorePope(items, 'lmms-eval');
    expect(r.accuracy).toBe(0.121);
    expect(r.precision).toBe(0.4986225895316804);
    expect(r.recall).toBe(0.5013850415512465);
    expect(r.f1).toBe(0.5);
    expect(r.yes_ratio).toBe(0.5);
  });
  it('vlmevalkit rule', () => {
    const r = scorePope(items, 'vlmevalkit');
    expect(r.accuracy).toBe(0.3616666666666667);
    expect(r.precision).toBe(0.5015576323987538);
    expect(r.recall).toBe(0.322);
    expect(r.f1).toBe(0.39220462850182697);
    expect(r.unknown).toBe(836);
  });
});
