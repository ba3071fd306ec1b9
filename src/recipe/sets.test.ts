import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { ScriptedModel } from '../eval/run/scripted-model.ts';
import { buildSamples, parseWorldConfig } from '../world/index.ts';
import { correctCaption, correctedSet } from './sets.ts';

describe('correctCaption (RLHF-V-style correction by rule)', () => {
  it('removes the hallucinated objects and keeps the rest as written, errors included', () => {
    // the green star is not in the image (hallucinated); the blue heart is drawn red (kept: not a hallucination)
    expect(correctCaption('a large blue heart, a green star and a small red ring.', ['star'])).toBe(
      'a large blue heart and a small red ring.',
    );
    expect(correctCaption('a red moon and a yellow star.', ['star'])).toBe('a red moon.');
  });

  it('gives nothing to pair when nothing is hallucinated, everything is, or a phrase is incomplete', () => {
    expect(correctCaption('a red moon.', [])).toBeUndefined();
    expect(correctCaption('a red moon.', ['moon'])).toBeUndefined();
    expect(correctCaption('a red moon and a star.', ['moon'])).toBeUndefined();
  });
});

describe('correctedSet', () => {
  const tmp = tempDir('mmalign-sets-');
  afterAll(() => tmp.cleanup());

  it('pairs each hallucinating answer (rejected) with its correction (chosen), and skips exact answers', async () => {
    const root = path.join(tmp.dir, 'prompts');
    const world = parseWorldConfig({});
    const prompts = buildSamples(world, {
      seed: 5,
      split: 'test',
      n: 6,
      tasks: ['caption'],
      onImage: (ref, png) => {
        mkdirSync(path.dirname(path.join(root, ref.path)), { recursive: true });
        writeFileSync(path.join(root, ref.path), png);
      },
    }).samples.get('caption')!;
    // the scripted model answers the exact caption for even items and appends "and a red star." for odd ones
    const model = new ScriptedModel();
    const { prefs, cost } = await correctedSet(
      { strategy: 'correct', n: 1, temperature: 1, topP: 1 },
      {
        name: 'corr',
        dir: path.join(tmp.dir, 'set'),
        prompts,
        promptsRoot: root,
        seed: 1,
        world,
        policy: async () => model,
        policyId: 'scripted',
        built: new Map(),
        createdAt: '2025-01-01T00:00:00.000Z',
        run: 'test/1',
      },
    );
    expect(cost.requests).toBe(6);
    const hallucinating = prompts.filter((s) => {
      const said = model.answer(s);
      return said !== s.truth?.caption && !String(s.truth?.caption).includes('star');
    });
    expect(hallucinating.length).toBeGreaterThan(0);
    expect(prefs.map((p) => p.sampleId)).toEqual(hallucinating.map((s) => s.id));
    for (const p of prefs) {
      if (p.kind !== 'pair') throw new Error(`expected pairs, got ${p.kind}`);
      const s = prompts.find((x) => x.id === p.sampleId)!;
      expect(p.chosen.text).toBe(s.truth?.caption);
      expect(p.rejected.text).toBe(model.answer(s));
      // rule judge: 2 for the hallucinated star + 3 because "… and … and a red star." is not the canonical list
      expect(p.margin).toBe(5);
      expect(p.provenance.strategy).toBe('correct:rule');
    }
  });
});
