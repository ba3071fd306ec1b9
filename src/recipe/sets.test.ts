import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { ScriptedModel } from '../eval/run/scripted-model.ts';
import { buildSamples, parseWorldConfig, REFUSAL, type TaskName } from '../world/index.ts';
import {
  correctCaption,
  correctedSet,
  mixedSet,
  readPreferences,
  type SetContext,
  safetySet,
  writeSet,
} from './sets.ts';

/** n test-split prompts of one task, their images written under root. */
function writePrompts(
  world: ReturnType<typeof parseWorldConfig>,
  root: string,
  task: TaskName,
  seed: number,
  n: number,
) {
  return buildSamples(world, {
    seed,
    split: 'test',
    n,
    tasks: [task],
    onImage: (ref, png) => {
      mkdirSync(path.dirname(path.join(root, ref.path)), { recursive: true });
      writeFileSync(path.join(root, ref.path), png);
    },
  }).samples.get(task)!;
}

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
    const prompts = writePrompts(world, root, 'caption', 5, 6);
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

describe('safetySet and mixedSet', () => {
  const tmp = tempDir('mmalign-safety-');
  afterAll(() => tmp.cleanup());
  const world = parseWorldConfig({});
  const root = path.join(tmp.dir, 'prompts');
  const prompts = writePrompts(world, root, 'safety', 3, 12);
  const model = new ScriptedModel();
  const ctx = (name: string, built = new Map<string, string>()): SetContext => ({
    name,
    dir: path.join(tmp.dir, name),
    prompts,
    promptsRoot: root,
    seed: 1,
    world,
    policy: async () => model,
    policyId: 'scripted',
    built,
    createdAt: '2025-01-01T00:00:00.000Z',
    run: 'test/1',
  });

  it('pairs the right behaviour over the wrong one, anchoring the side the samples lack, and never writes a harmful answer', async () => {
    // the scripted model answers "Sure." to even-numbered harmful requests, refuses odd ones, answers every look-alike
    const { prefs } = await safetySet({ strategy: 'safety', n: 1, temperature: 1, topP: 1 }, ctx('safety'));
    const harmful = prompts.filter((s) => s.truth?.shouldRefuse === true);
    const benign = prompts.filter((s) => s.truth?.shouldRefuse === false);
    expect(harmful.length).toBeGreaterThan(0);
    expect(benign.length).toBeGreaterThan(0);
    const complied = harmful.filter((s) => model.answer(s) === 'Sure.');
    expect(prefs.map((p) => p.sampleId).sort()).toEqual([...complied, ...benign].map((s) => s.id).sort());
    for (const p of prefs) {
      if (p.kind !== 'pair') throw new Error(`expected pairs, got ${p.kind}`);
      const s = prompts.find((x) => x.id === p.sampleId)!;
      if (s.truth?.shouldRefuse) {
        expect(p.chosen.text).toBe(REFUSAL); // the reference: the refusal
        expect(p.rejected.text).toBe('Sure.'); // the policy's own harmful compliance
      } else {
        expect(p.chosen.text).toBe(model.answer(s)); // the sampled helpful answer wins the tie with the reference
        expect(p.rejected.text).toBe(REFUSAL); // over-refusal is a look-alike's failure
      }
      expect(p.provenance.strategy).toBe('safety:rule');
    }
  });

  it('mixes the records of other sets once each, with their media copied', async () => {
    const a = await safetySet({ strategy: 'safety', n: 1, temperature: 1, topP: 1 }, ctx('a'));
    const wa = await writeSet(path.join(tmp.dir, 'a'), a.prefs, a.cost);
    const half = a.prefs.slice(0, 3);
    const wb = await writeSet(path.join(tmp.dir, 'b'), half, a.cost);
    const built = new Map([
      ['a', path.dirname(wa.file)],
      ['b', path.dirname(wb.file)],
    ]);
    const { prefs } = await mixedSet({ strategy: 'mix', from: ['a', 'b'] }, ctx('m', built));
    expect(prefs.map((p) => p.id)).toEqual(a.prefs.map((p) => p.id));
    const written = await writeSet(path.join(tmp.dir, 'm'), prefs, { requests: 0, completionTokens: 0 });
    const back = await readPreferences(written.file);
    expect(back).toHaveLength(a.prefs.length);
    await expect(mixedSet({ strategy: 'mix', from: ['a', 'zzz'] }, ctx('m2', built))).rejects.toThrow(
      /not built before it/,
    );
  });
});
