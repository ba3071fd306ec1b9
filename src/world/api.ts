import type { Sample } from '../schema/index.ts';
import { MmalignError } from '../util/errors.ts';
import { lookup } from '../util/table.ts';
import { DEFAULT_WORLD_CONFIG, type WorldConfig } from './config.ts';
import { worldContext } from './generate.ts';
import { streamRng } from './rng.ts';
import { toSample } from './sample.ts';
import type { Scene } from './scene.ts';
import { PER_SCENE_TASKS, TASKS, type TaskName } from './tasks.ts';
import type { Category } from './vocab.ts';

/** The partners a category pulls in under the config's priors (empty if it is no trigger). */
export function priorPartners(category: Category, config: WorldConfig = DEFAULT_WORLD_CONFIG): Category[] {
  return config.priors.pairs.filter((p) => p.trigger === category).map((p) => p.partner);
}

/**
 * One sample per per-scene task for a single scene (pope needs a set of images: use buildSamples). Returns null for
 * a task whose question the scene cannot support (e.g. no uniquely described object).
 */
export function sceneToSamples(
  scene: Scene,
  tasks: readonly TaskName[],
  config: WorldConfig = DEFAULT_WORLD_CONFIG,
): Partial<Record<TaskName, Sample | null>> {
  const ctx = worldContext(config, scene.seed, scene.split);
  ctx.scenes.set(scene.index, scene);
  const out: Partial<Record<TaskName, Sample | null>> = {};
  for (const task of tasks) {
    lookup(TASKS, 'task', task);
    if (task === 'pope')
      throw new MmalignError('MMALIGN_WORLD_TASK', 'pope questions need a set of images', {
        hint: 'use buildSamples(config, {tasks: ["pope"], ...})',
      });
    const fn = PER_SCENE_TASKS[task];
    const draft = fn(scene, streamRng(scene.seed, `task/${task}/${scene.split}`, scene.index), ctx);
    out[task] = draft ? toSample(ctx, task, scene.index, { scene, draft }) : null;
  }
  return out;
}
