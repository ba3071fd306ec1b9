import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { initTf } from '../nn/index.ts';
import { runInLanes } from './lanes.ts';
import type { MethodContext } from './methods.ts';
import { loadRecipe } from './schema.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const t = tempDir('mmalign-lanes-');
afterAll(() => t.cleanup());
beforeAll(async () => {
  await initTf();
});

describe('runInLanes', () => {
  it("a method that fails on a lane fails the run with the lane's error code and message", async () => {
    const recipe = loadRecipe(path.join(ROOT, 'recipes/shapes-hallucination.yaml'), { quick: true });
    // no preference set built: both methods stop on their missing set, each on its own lane
    const ctx: MethodContext = {
      recipe,
      out: t.dir,
      createdAt: '2025-01-01T00:00:00.000Z',
      sft: { key: 'none', checkpoint: path.join(t.dir, 'no-checkpoint') },
      sftWorld: path.join(t.dir, 'no-world'),
      captions: { root: path.join(t.dir, 'no-prompts'), stage: 'none' },
      tasks: null,
      sets: {},
    };
    const stages: string[] = [];
    await expect(
      runInLanes(ctx, ['sft_chosen', 'dpo_injected'], 2, { stage: (name, state) => stages.push(`${name} ${state}`) }),
    ).rejects.toMatchObject({
      code: 'MMALIGN_RECIPE_SET',
      message: expect.stringMatching(/^method (sft_chosen|dpo_injected): set injected was not built/),
    });
    expect(stages.some((s) => /^align-(sft_chosen|dpo_injected) start$/.test(s))).toBe(true);
  });
});
