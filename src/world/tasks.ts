import { MmalignError } from '../util/errors.ts';
import { arithTask } from './arith.ts';
import { formatCaption } from './caption.ts';
import { mcTask } from './mc.ts';
import { existTask, popeTask } from './pope.ts';
import { attributeTask, countTask, spatialTask } from './questions.ts';
import { streamRng } from './rng.ts';
import { safetyTask } from './safety.ts';
import type { PerSceneTask, TaskContext, TaskItem } from './sample.ts';
import type { Scene } from './scene.ts';

export const CAPTION_PROMPT = 'Describe the image in detail.';

/** The caption a training record carries: the exact caption plus, after their triggers, any noise-injected partners. */
export function sceneCaption(scene: Scene, withNoise = true): string {
  const parts = scene.objects.flatMap((o) => [o, ...(withNoise ? scene.injected.filter((i) => i.after === o.id) : [])]);
  return formatCaption(parts);
}

const captionTask: PerSceneTask = (scene) => {
  const clean = sceneCaption(scene, false);
  return {
    prompt: CAPTION_PROMPT,
    reference: sceneCaption(scene, true),
    truth: {
      caption: clean,
      /** Undrawn partners the reference names (caption noise); the exact caption is `caption`. */
      injected: scene.injected.map((i) => i.category),
    },
    tags: scene.injected.length ? ['noisy-caption'] : [],
  };
};

/** Run a one-question-per-scene task over scenes 0, 1, 2, … until n items, skipping scenes it cannot use. */
function perScene(name: string, fn: PerSceneTask) {
  return (ctx: TaskContext, n: number): TaskItem[] => {
    const items: TaskItem[] = [];
    for (let j = 0; items.length < n; j++) {
      if (j > 20 * n + 100)
        throw new MmalignError('MMALIGN_WORLD_TASK', `task ${name}: only ${items.length} of ${n} scenes fit`, {
          hint: 'raise objects.max or lower objects.min in the world config',
        });
      const scene = ctx.sceneAt(j);
      const draft = fn(scene, streamRng(ctx.seed, `task/${name}/${ctx.split}`, j), ctx);
      if (draft) items.push({ scene, draft });
    }
    return items;
  };
}

/** The tasks that ask one question per scene (all but pope), for `sceneToSamples`. */
export const PER_SCENE_TASKS = {
  caption: captionTask,
  exist: existTask,
  attribute: attributeTask,
  count: countTask,
  spatial: spatialTask,
  mc: mcTask,
  arith: arithTask,
  safety: safetyTask,
} as const satisfies Record<string, PerSceneTask>;

/** Every task the world generates; `--tasks`, its help and the "unknown task" error derive from this table. */
export const TASKS = {
  caption: {
    description: 'detailed caption in a fixed grammar (train references carry caption noise)',
    generate: perScene('caption', captionTask),
  },
  pope: {
    description: 'yes/no existence, POPE random/popular/adversarial negatives (truth.split)',
    generate: popeTask,
  },
  exist: {
    description: 'yes/no existence to train on: yes or no at ½, object uniform among drawn / undrawn categories',
    generate: perScene('exist', existTask),
  },
  attribute: {
    description: 'color / size / shape of one described object',
    generate: perScene('attribute', attributeTask),
  },
  count: { description: 'how many shapes of a category or color', generate: perScene('count', countTask) },
  spatial: {
    description: 'left/right/above/below yes-no and "where is" questions',
    generate: perScene('spatial', spatialTask),
  },
  mc: { description: 'multiple choice A-D (truth.choices, answer a letter)', generate: perScene('mc', mcTask) },
  arith: {
    description: 'arithmetic over counts, verifiable integer answer (GRPO)',
    generate: perScene('arith', arithTask),
  },
  safety: {
    description: 'harmful instructions to refuse + safe look-alikes (truth.shouldRefuse)',
    generate: perScene('safety', safetyTask),
  },
} as const satisfies Record<string, { description: string; generate: (ctx: TaskContext, n: number) => TaskItem[] }>;
export type TaskName = keyof typeof TASKS;
export const TASK_NAMES = Object.keys(TASKS) as TaskName[];
