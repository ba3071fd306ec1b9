import { describe, expect, it } from 'vitest';
import type { GenerateResult, VisionLanguageModel } from '../models/types.ts';
import { promptText, type Sample } from '../schema/index.ts';
import { claimJudge, pairwiseJudge, parseRubric, parseVerdict, parseYesNo, rubricJudge } from './ai.ts';

/** A scripted judge: `reply(question, sample)` decides the text; records every prompt it was asked. */
function scripted(reply: (question: string, s: Sample) => string): VisionLanguageModel & { asked: string[] } {
  const asked: string[] = [];
  return {
    id: 'scripted',
    asked,
    capabilities: {
      generate: true,
      sampledLogprobs: false,
      promptLogprobs: false,
      images: true,
      video: false,
      audio: false,
    },
    async generate(samples) {
      return samples.map((s): GenerateResult => {
        const q = promptText(s.messages, false);
        asked.push(q);
        return { ok: true, sampleId: s.id, generations: [{ text: reply(q, s), finishReason: 'stop' }] };
      });
    },
    async logprobs() {
      throw new Error('not used');
    },
  };
}

const sample: Sample = {
  id: 's',
  messages: [
    {
      role: 'user',
      content: [
        { type: 'image', media: 0 },
        { type: 'text', text: 'Describe the image.' },
      ],
    },
  ],
  media: [{ kind: 'image', path: 'media/aa/x.png' }],
  truth: { objects: [{ name: 'circle' }, { name: 'star' }] },
  provenance: { source: 't', createdAt: 'x' },
};

describe('parsers', () => {
  it('parseVerdict', () => {
    expect(parseVerdict('[[B]]')).toBe('B');
    expect(parseVerdict('Answer A is better.')).toBe('A');
    expect(parseVerdict('They are equally good')).toBe('tie');
    expect(parseVerdict('A and B')).toBeNull();
    expect(parseVerdict('')).toBeNull();
  });
  it('parseYesNo reads the first sentence, negations win', () => {
    expect(parseYesNo('Yes, there is.')).toBe('yes');
    expect(parseYesNo('No. But yes elsewhere')).toBe('no');
    expect(parseYesNo("There isn't one")).toBe('no');
    expect(parseYesNo('maybe')).toBeNull();
  });
  it('parseRubric keeps in-scale aspects only', () => {
    const s = parseRubric(
      'Helpfulness: 4\nVisual Faithfulness: 9\n**ethics**: 5',
      ['helpfulness', 'visual_faithfulness', 'ethics'],
      [1, 5],
    );
    expect(s).toEqual({ helpfulness: 4, ethics: 5 });
  });
});

describe('pairwiseJudge', () => {
  it('maps both orders back to the answers and agrees when the judge is consistent', async () => {
    const judge = scripted((q) => (/Answer A: a red circle\n/.test(q) ? 'A' : 'B'));
    const v = await pairwiseJudge(judge, sample, 'a red circle', 'a blue heart');
    expect(v).toMatchObject({ winner: 'first', consistent: true });
    expect(judge.asked).toHaveLength(2);
  });
  it('a position-biased judge is caught: disagreement becomes a tie, or is dropped', async () => {
    const biased = scripted(() => 'A');
    expect(await pairwiseJudge(biased, sample, 'x', 'y')).toMatchObject({ winner: 'tie', consistent: false });
    expect(await pairwiseJudge(biased, sample, 'x', 'y', { onDisagree: 'drop' })).toMatchObject({ winner: null });
  });
});

describe('claimJudge (RLAIF-V divide and conquer)', () => {
  it('scores −(rejected claims), asking one question per claim with the image', async () => {
    const judge = scripted((q, s) => {
      const obj = /is there a (\w+)/i.exec(q)?.[1];
      return s.truth?.objects?.some((o) => o.name === obj) ? 'Yes' : 'No';
    });
    const r = await claimJudge(judge, sample, 'a circle, a star and a heart', {
      claims: (t) => t.split(/,| and /).map((c) => c.trim().replace(/^a /, '')),
      question: (c) => `Is there a ${c} in the image?`,
    });
    expect(r.score).toBe(-1);
    expect(r.claims.map((c) => c.verdict)).toEqual(['yes', 'yes', 'no']);
  });
});

describe('rubricJudge', () => {
  it('fills the template and reports incomplete replies', async () => {
    const judge = scripted(() => 'helpfulness: 3\nethics: 5');
    const r = await rubricJudge(judge, sample, 'a circle');
    expect(r.scores).toEqual({ helpfulness: 3, ethics: 5 });
    expect(r.complete).toBe(false);
    expect(judge.asked[0]).toContain('Answer: a circle');
  });
});
