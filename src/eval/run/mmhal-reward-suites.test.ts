import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/cli.ts';
import type { LogprobsResult } from '../../models/types.ts';
import { promptText, type Sample } from '../../schema/index.ts';
import { mmhalJudgePrompt } from '../mmhal.ts';
import { runSuite } from './runner.ts';
import { ScriptedModel } from './scripted-model.ts';

/** MMHal answers from a table; as a judge, a rating picked from words of the rated answer. */
class MmhalScripted extends ScriptedModel {
  prompts: string[] = [];
  images: string[] = [];
  override answer(s: Sample): string {
    const p = promptText(s.messages, false);
    this.prompts.push(p);
    if (s.task === 'mmhal') {
      this.images.push(s.media[0]?.kind === 'image' ? s.media[0].path : '');
      return ANSWERS[p] ?? '';
    }
    const resp = p.split('### LMM Response to Evaluate\n')[1] ?? '';
    if (resp.includes('yellow')) return 'Matches the image.\nRating: 6';
    if (resp.includes('three')) return 'There are two dogs.\nRating: 1';
    return 'Either Rating: 2 or rating: 4'; // two ratings: the reference scores 0
  }
}
const ANSWERS: Record<string, string> = {
  'What color is the cap?': 'The cap is yellow.',
  'How many dogs are there?': 'There are three dogs.',
  'What color is the car?': 'It is red.',
};

/** Log-prob = −length of the response, so the shorter answer wins and equal lengths tie. */
class LengthScorer extends ScriptedModel {
  seen: string[] = [];
  override async logprobs(s: Sample, response: string): Promise<LogprobsResult> {
    this.seen.push(
      `${promptText(s.messages, false)}|${s.media[0]?.kind === 'image' ? path.basename(s.media[0].path) : ''}`,
    );
    return { tokens: [], total: -response.length };
  }
}

describe('eval run --suite mmhal / reward (file-based)', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  const png = PNG.sync.write(new PNG({ width: 4, height: 4 }));
  for (const f of ['df62a56f.jpg', 'b2.png', 'c3.jpg', 'a.png', 'b.png']) writeFileSync(path.join(dir, f), png);
  const template = path.join(dir, 'response_template.json');
  writeFileSync(
    template,
    JSON.stringify([
      {
        question_type: 'attribute',
        question_topic: 'outdoor',
        image_id: 'df62a56f',
        image_src: 'https://example.org/x/df62a56f.jpg',
        image_content: ['Fire hydrant', 'Cap'],
        question: 'What color is the cap?',
        gt_answer: 'The cap is yellow.',
        model_answer: '',
      },
      {
        question_type: 'counting',
        image_id: 'b2',
        image_content: ['Dog'],
        question: 'How many dogs are there?',
        gt_answer: 'Two dogs.',
      },
      {
        question_type: 'attribute',
        image_src: 'c3.jpg',
        image_content: ['Car'],
        question: 'What color is the car?',
        gt_answer: 'Blue.',
      },
    ]),
  );

  it('mmhal: greedy answers, judged with the MMHal rubric, ratings parsed as the reference', async () => {
    const model = new MmhalScripted();
    const judge = new MmhalScripted();
    const run = () =>
      runSuite({
        suite: 'mmhal',
        modelSpec: 'scripted',
        model,
        judgeSpec: 'scripted-judge',
        judge,
        out: path.join(dir, 'mmhal-run'),
        data: [template],
        images: dir,
        resamples: 50,
      });
    const r = await run();
    const e = r.metrics.benchmarks.find((b) => b.id === 'mmhal');
    // scores 6, 1, 0 (two ratings → 0): mean 7/3, hallucination rate (score < 3) 2/3, informativeness (3+1+0)/3/3
    expect(e?.headline.value).toBeCloseTo(7 / 3, 12);
    expect(e?.metrics.hallucination_rate).toBeCloseTo(2 / 3, 12);
    expect(e?.metrics.informativeness).toBeCloseTo(4 / 9, 12);
    expect(e?.metrics.per_type).toEqual({
      attribute: { average_score: 3, hallucination_rate: 0.5, n: 2 },
      counting: { average_score: 1, hallucination_rate: 1, n: 1 },
    });
    expect(e?.guards.parse_rate).toBeCloseTo(2 / 3, 12);
    expect(e?.items?.values).toEqual([6, 1, 0]);
    expect(model.prompts).toEqual(Object.keys(ANSWERS));
    expect(model.images.map((p) => path.basename(p))).toEqual(['df62a56f.jpg', 'b2.png', 'c3.jpg']);
    expect(judge.prompts[1]).toBe(
      mmhalJudgePrompt({
        imageContents: ['Dog'],
        question: 'How many dogs are there?',
        reference: 'Two dogs.',
        response: 'There are three dogs.',
      }),
    );
    expect(r.metrics.judge?.id).toBe('scripted');
    expect(r.metrics.decoding.mmhal).toMatchObject({ temperature: 0 });
    // a second run into the same folder comes entirely from the caches
    const calls = [model.calls, judge.calls];
    const again = await run();
    expect([model.calls, judge.calls]).toEqual(calls);
    expect(again.metrics.benchmarks[0].headline.value).toBe(e?.headline.value);
  });

  it('mmhal: refuses to run without --judge, before generating anything', async () => {
    const model = new MmhalScripted();
    await expect(
      runSuite({
        suite: 'mmhal',
        modelSpec: 's',
        model,
        out: path.join(dir, 'mmhal-nojudge'),
        data: [template],
        images: dir,
      }),
    ).rejects.toThrow(/needs a judge: pass --judge MODEL/);
    expect(model.calls).toBe(0);
  });

  it('reward: log-prob implicit reward on mixed pair layouts; accuracy, macro, ACC+', async () => {
    const pairs = path.join(dir, 'pairs.jsonl');
    const lines = [
      { id: 1, query: 'Q1', image: 'a.png', chosen: 'ok', rejected: 'long wrong', category: 'hallucination' },
      { id: 2, query: 'Q1', image: 'a.png', chosen: 'much longer good', rejected: 'bad', category: 'hallucination' },
      { id: 3, prompt: 'Q3', image: 'b.png', response: ['bbbb', 'aa'], human_ranking: [1, 0], category: 'reasoning' },
      { id: 4, Text: 'Q4', Image: 'b.png', Output1: 'xyz', Output2: 'abc', Better: 'Output1', category: 'reasoning' },
      { id: 5, query: 'Q5', image: 'a.png', response_a: 'long answer here', response_b: 'short', gold: 'B' },
    ];
    writeFileSync(pairs, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const model = new LengthScorer();
    const r = await runSuite({
      suite: 'reward',
      modelSpec: 'scripted',
      model,
      out: path.join(dir, 'reward-run'),
      data: [pairs],
      images: dir,
      resamples: 50,
    });
    const e = r.metrics.benchmarks.find((b) => b.id === 'reward');
    // right, wrong (longer chosen), right, tie (= wrong), right
    expect(e?.items?.values).toEqual([1, 0, 1, 0, 1]);
    expect(e?.headline.value).toBeCloseTo(0.6, 12);
    // hallucination 1/2, reasoning 1/2, all (no category) 1 → macro 2/3
    expect(e?.metrics.macro_accuracy).toBeCloseTo(2 / 3, 12);
    // items: {1, 2} on a.png+Q1 (one wrong), {3}, {4} (tie), {5} → 2 of 4 all right
    expect(e?.metrics.acc_plus).toBe(0.5);
    expect(e?.metrics.ties).toBe(1);
    expect(e?.metrics.n_items).toBe(4);
    expect(model.seen.slice(0, 2)).toEqual(['Q1|a.png', 'Q1|a.png']);
    expect((r.metrics.notes ?? []).join(' ')).toMatch(/generative judge/);
  });

  it('reward: a VL-RewardBench pair without human_ranking names the file and line', async () => {
    const pairs = path.join(dir, 'bad-pairs.jsonl');
    writeFileSync(
      pairs,
      `${JSON.stringify({ id: 1, query: 'Q', image: 'a.png', chosen: 'a', rejected: 'b' })}\n${JSON.stringify({ id: 2, query: 'Q', image: 'a.png', response: ['a', 'b'] })}\n`,
    );
    await expect(
      runSuite({
        suite: 'reward',
        modelSpec: 's',
        model: new LengthScorer(),
        out: path.join(dir, 'bad'),
        data: [pairs],
        images: dir,
      }),
    ).rejects.toThrow(/bad-pairs\.jsonl:2: human_ranking/);
  });
});
