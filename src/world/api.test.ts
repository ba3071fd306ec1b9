import { describe, expect, it } from 'vitest';
import { checkAnswer } from './check.ts';
import { parseWorldConfig } from './config.ts';
import { buildSamples } from './generate.ts';
import { priorPartners, sceneToSamples } from './index.ts';
import { makeScene } from './scene.ts';

describe('sceneToSamples / priorPartners', () => {
  it('gives the same sample as the batch generator for the same scene', () => {
    const cfg = parseWorldConfig({});
    const batch = buildSamples(cfg, { seed: 2, split: 'train', n: 1, tasks: ['caption', 'count'] }).samples;
    const one = sceneToSamples(makeScene(cfg, 2, 'train', 0), ['caption', 'count'], cfg);
    expect(one.caption).toEqual(batch.get('caption')![0]);
    expect(one.count).toEqual(batch.get('count')![0]);
    expect(checkAnswer(one.count!, one.count!.reference!).verdict).toBe('correct');
  });

  it('refuses pope (it needs a set of images) and unknown tasks', () => {
    const scene = makeScene(parseWorldConfig({}), 1, 'test', 0);
    expect(() => sceneToSamples(scene, ['pope'])).toThrow(/set of images/);
    expect(() => sceneToSamples(scene, ['nope' as 'caption'])).toThrow(/unknown task "nope"/);
  });

  it('lists prior partners from the config', () => {
    expect(priorPartners('moon')).toEqual(['star']);
    expect(priorPartners('star')).toEqual([]);
    const cfg = parseWorldConfig({ priors: { pairs: [{ trigger: 'star', partner: 'circle', train: 1, test: 0 }] } });
    expect(priorPartners('star', cfg)).toEqual(['circle']);
  });

  it('pope fails fast when scenes cannot hold 3 shapes', () => {
    expect(() =>
      buildSamples({ objects: { min: 1, max: 2 } }, { seed: 1, split: 'train', n: 3, tasks: ['pope'] }),
    ).toThrow(/objects\.max to at least 3/);
  });
});
