import { describe, expect, it } from 'vitest';
import type { Sample } from '../schema/index.ts';
import { ruleScore } from './rule.ts';

const caption: Sample = {
  id: 'c',
  messages: [{ role: 'user', content: 'Describe the image.' }],
  media: [],
  task: 'caption',
  truth: {
    objects: [
      { name: 'circle', attributes: { color: 'red', size: 'small' } },
      { name: 'star', attributes: { color: 'blue', size: 'medium' } },
    ],
    caption: 'a small red circle and a blue star.',
  },
  provenance: { source: 'shapeworld', createdAt: 'x' },
};

describe('ruleScore', () => {
  it('orders captions: exact > omission > hallucination > malformed', () => {
    const exact = ruleScore(caption, 'a small red circle and a blue star.');
    const omit = ruleScore(caption, 'a small red circle.');
    const hall = ruleScore(caption, 'a small red circle, a blue star and a green moon.');
    const broken = ruleScore(caption, '');
    expect(exact).toMatchObject({ score: 0, verdict: 'correct' });
    expect(omit).toMatchObject({ score: -1, missed: ['star'] });
    expect(hall).toMatchObject({ score: -2, hallucinated: ['moon'] });
    expect(broken.score).toBeLessThan(hall.score);
  });
  it('grades a wrong color or an extra copy (categories right) below exact, above an omission', () => {
    const color = ruleScore(caption, 'a small green circle and a blue star.');
    const count = ruleScore(caption, 'a small red circle and a small red circle.');
    expect(color).toMatchObject({ score: -1, verdict: 'incorrect', hallucinated: [], missed: [] });
    // the copy replaced the star: the star is missed (−1), no inexact penalty on top
    expect(count).toMatchObject({ score: -1, missed: ['star'] });
    expect(ruleScore(caption, 'a small red circle, a small red circle and a blue star.')).toMatchObject({ score: -1 });
  });
  it('falls back to the reference answer outside ShapeWorld', () => {
    const s: Sample = {
      ...caption,
      task: undefined,
      reference: 'Two cats.',
      provenance: { source: 'file', createdAt: 'x' },
    };
    expect(ruleScore(s, 'two  cats').score).toBe(1);
    expect(ruleScore(s, 'three cats').score).toBe(0);
  });
});
