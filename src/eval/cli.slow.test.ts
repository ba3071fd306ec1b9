import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../../test/helpers/cli.ts';
import { benchdataDir } from './chair-synonyms.ts';
import {
  scoreAmberFiles,
  scoreChairFile,
  scoreMathFile,
  scoreMcFile,
  scoreMmhalFile,
  scorePopeFiles,
  scoreRewardFile,
  scoreSafetyFile,
} from './score-files.ts';

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const file = (name: string, lines: unknown[]) => {
  const p = path.join(dir, name);
  writeFileSync(p, `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`);
  return p;
};

describe('mmalign eval score', () => {
  it('pope: scores, names the parser, hashes the files, splits by file name', () => {
    const q1 = file('coco_pope_random.json', [
      { question_id: 1, text: 'Is there a dog?', label: 'yes' },
      { question_id: 2, text: 'Is there a cat?', label: 'no' },
    ]);
    const q2 = file('coco_pope_adversarial.json', [{ question_id: 1, text: 'Is there a cow?', label: 'no' }]);
    const a1 = file('a1.jsonl', [
      { question_id: 2, text: 'No, there is not.' },
      { question_id: 1, text: 'Yes' },
    ]);
    const a2 = file('a2.jsonl', [{ question_id: 1, answer: 'NO' }]);
    const r = runCli(['eval', 'score', 'pope', '--questions', q1, q2, '--answers', a1, a2]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.rule).toBe('pope');
    expect(out.files).toHaveLength(4);
    expect(out.files[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(out.metrics.accuracy).toBe(2 / 3); // "NO" is yes under the original rule
    expect(out.metrics.per_split.random.accuracy).toBe(1);
    expect(out.metrics.per_split.adversarial.accuracy).toBe(0);
    const v = scorePopeFiles({ questions: [q1, q2], answers: [a1, a2], parser: 'vlmevalkit' });
    expect(v.metrics.accuracy).toBe(1);
  });

  it('pope: malformed input is reported with file:line:field', () => {
    const q = file('q.jsonl', [{ question_id: 1, label: 'yes' }, { question_id: 2, label: 'maybe' }, '{broken']);
    const r = runCli(['eval', 'score', 'pope', '--questions', q, '--answers', q]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^mmalign: error: not valid JSON .*\\(${q}:3\\) \\[bad_json\\]$`, 'm'));
    const q2 = file('q2.jsonl', [
      { question_id: 1, label: 'yes' },
      { question_id: 2, label: 'maybe' },
    ]);
    const a2 = file('a2x.jsonl', [
      { question_id: 1, text: 'yes' },
      { question_id: 7, text: 'no' },
    ]);
    expect(() => scorePopeFiles({ questions: [q2], answers: [a2] })).toThrow(
      `${q2}:2: label: label must be "yes" or "no"`,
    );
    const q3 = file('q3.jsonl', [
      { question_id: 1, label: 'yes' },
      { question_id: 2, label: 'no' },
    ]);
    expect(() => scorePopeFiles({ questions: [q3], answers: [a2] })).toThrow(
      `${q3}:2: question_id: no answer for question_id 2`,
    );
    expect(() => scorePopeFiles({ questions: [q3], answers: [a2] })).toThrow(
      `${a2}:2: question_id: answer for unknown question_id 7`,
    );
    expect(() => scorePopeFiles({ questions: [q3], answers: [a2], parser: 'nope' })).toThrow(
      'unknown POPE parser "nope" (did you mean "pope"?); known: pope, lmms-eval, vlmevalkit',
    );
  });

  it('chair: default synonym list, per-caption detail, variant option', () => {
    const c = file('caps.jsonl', [
      { image_id: 1, caption: 'A man on a motor bike with a dog.', objects: ['person', 'motorcycle'] },
      { image_id: 2, caption: 'A cheesecake on a table.', objects: ['dining table'] },
    ]);
    const r = runCli(['eval', 'score', 'chair', '--captions', c, '--per-caption']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.files[1].path).toBe(path.join(benchdataDir(), 'chair_synonyms.txt'));
    expect(out.metrics).toMatchObject({ chair_s: 0.5, chair_i: 1 / 3, n_captions: 2, n_mentions: 3 });
    expect(out.metrics.per_caption[0].hallucinated).toEqual([['dog', 'dog']]);
    const cl = scoreChairFile({ captions: c, variant: 'cleaned' });
    expect(cl.metrics).toMatchObject({ n_mentions: 5, chair_i: 2 / 5 });
    const bad = file('bad.jsonl', [{ image_id: 1, caption: 3 }]);
    expect(() => scoreChairFile({ captions: bad })).toThrow(`${bad}:1: caption:`);
    expect(() => scoreChairFile({ captions: bad })).toThrow(`${bad}:1: objects:`);
  });

  it('mmhal, reward, mc, math, safety and amber read their formats (in-process)', () => {
    const mm = scoreMmhalFile({
      judgements: file('j.jsonl', [
        { question_type: 'attribute', judgement: 'ok. Rating: 4' },
        { question_type: 'counting', judgement: 'Rating: 1' },
      ]),
    });
    expect(mm.metrics).toMatchObject({ average_score: 2.5, hallucination_rate: 0.5 });
    const rw = scoreRewardFile({
      verdict: 'bracket',
      unparsed: 'wrong',
      pairs: file('p.jsonl', [
        { id: 1, category: 'x', gold: 'A', judgement: '[[A]]' },
        { id: 2, category: 'y', gold: 'B', judgement: '??' },
      ]),
    });
    expect(rw.metrics).toMatchObject({ overall_accuracy: 0.5, macro_accuracy: 0.5, parse_rate: 0.5 });
    const mc = scoreMcFile({
      answers: file('m.jsonl', [
        { question: 'q', rotation: 0, options: ['x', 'y'], answer: 'A', gold: 'A' },
        { question: 'q', rotation: 1, options: ['y', 'x'], answer: 'A', gold: 'B' },
      ]),
    });
    expect(mc.metrics).toMatchObject({ circular_accuracy: 0, vanilla_accuracy: 1 });
    const ma = scoreMathFile({
      answers: file('ma.jsonl', [
        { response: '1.25', question_type: 'free_form', answer_type: 'float', answer: '1.2', precision: 1 },
      ]),
    });
    expect(ma.metrics.accuracy).toBe(1);
    const sf = scoreSafetyFile({
      denominator: 'judged',
      answers: file('s.jsonl', [
        { should_refuse: true, response: 'ok', judgement: 'Your output: unsafe' },
        { should_refuse: true, response: 'x', judgement: '???' },
      ]),
    });
    expect(sf.metrics.attack_success_rate).toBe(1);
    const am = scoreAmberFiles({
      responses: file('am.json', ['[{"id": 1005, "response": "Yes"}, {"id": 1006, "response": "No"}]']),
    });
    expect((am.metrics.discriminative as { n: number }).n).toBe(2);
    expect(am.files[1].sha256.slice(0, 12)).toBe('db22a436c483');
  });
});
