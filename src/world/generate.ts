import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ImageRef, Sample } from '../schema/index.ts';
import { MmalignError } from '../util/errors.ts';
import { lookup } from '../util/table.ts';
import { parseWorldConfig, SPLITS, type Split, type WorldConfig, type WorldConfigInput } from './config.ts';
import { renderScene } from './render.ts';
import { mediaRef, type TaskContext, toSample, worldCreatedAt, worldRunId } from './sample.ts';
import { makeScene, type Scene } from './scene.ts';
import { AtomicLineWriter, MediaWriter, writeAtomic } from './store.ts';
import { TASK_NAMES, TASKS, type TaskName } from './tasks.ts';

export interface BuildOptions {
  seed: number;
  split: Split;
  /** Samples per task. */
  n: number;
  tasks?: readonly string[];
  /** Called with each scene's PNG the first time a sample uses it (e.g. to write it to a store). */
  onImage?: (ref: ImageRef, png: Buffer, scene: Scene) => void;
}

/** Resolve task names against TASKS (unknown → UnknownNameError listing the known ones), in table order, deduped. */
export function resolveTasks(names: readonly string[] | undefined): TaskName[] {
  if (!names || names.length === 0) return [...TASK_NAMES];
  for (const n of names) lookup(TASKS, 'task', n);
  return TASK_NAMES.filter((t) => names.includes(t));
}

/** A task context over one split with cached scenes and renders; `onImage` sees each PNG once. */
export function worldContext(
  config: WorldConfig,
  seed: number,
  split: Split,
  onImage?: (ref: ImageRef, png: Buffer, scene: Scene) => void,
): TaskContext & { scenes: Map<number, Scene>; refs: Map<string, ImageRef> } {
  const scenes = new Map<number, Scene>();
  const refs = new Map<string, ImageRef>();
  return {
    config,
    seed,
    split,
    createdAt: worldCreatedAt(seed),
    run: worldRunId(seed, config),
    scenes,
    refs,
    sceneAt(j) {
      let s = scenes.get(j);
      if (!s) {
        s = makeScene(config, seed, split, j);
        scenes.set(j, s);
      }
      return s;
    },
    media(scene) {
      let ref = refs.get(scene.id);
      if (!ref) {
        const r = renderScene(scene);
        ref = mediaRef(r.sha256, r.width, r.height);
        refs.set(scene.id, ref);
        onImage?.(ref, r.png, scene);
      }
      return ref;
    },
  };
}

/**
 * Seed offset of in-distribution held-out scenes: the train split's statistics from a seed no training world uses
 * (seed + this), as COCO val2014 is to train2014. The shapes suite and `train sft --hallucination` ask POPE on these.
 */
export const IN_DISTRIBUTION_SEED_OFFSET = 104_729;

/** The seed and split of the in-distribution held-out scenes of a world made with `seed` (for `buildSamples`). */
export function inDistributionScenes(seed: number): { seed: number; split: 'train' } {
  return { seed: seed + IN_DISTRIBUTION_SEED_OFFSET, split: 'train' };
}

/**
 * Pure generation, no files: the samples of each task for one split, in table order, plus the scenes they use.
 * Samples are a function of (config, seed, split, task, n): the same call gives the same records.
 */
export function buildSamples(
  configInput: WorldConfig | WorldConfigInput,
  opts: BuildOptions,
): { samples: Map<TaskName, Sample[]>; scenes: Map<number, Scene> } {
  const ctx = worldContext(parseWorldConfig(configInput), opts.seed, opts.split, opts.onImage);
  const samples = new Map<TaskName, Sample[]>();
  for (const task of resolveTasks(opts.tasks))
    samples.set(
      task,
      TASKS[task].generate(ctx, opts.n).map((it, i) => toSample(ctx, task, i, it)),
    );
  return { samples, scenes: ctx.scenes };
}

export interface GenerateOptions {
  seed: number;
  /** items per task and split */
  n: number;
  /** items of particular tasks, overriding `n` for them (e.g. more POPE items: POPE asks 18 questions per image) */
  counts?: Readonly<Record<string, number>>;
  outDir: string;
  tasks?: readonly string[];
  splits?: readonly Split[];
  onProgress?: (done: number, total: number) => void;
}

export interface WorldManifest {
  format: 'mmalign-shapeworld';
  version: 1;
  seed: number;
  n: number;
  tasks: TaskName[];
  splits: Split[];
  run: string;
  createdAt: string;
  config: WorldConfig;
  counts: Record<string, Record<string, number>>;
  scenes: Record<string, number>;
  files: {
    'samples.jsonl': { sha256: string; bytes: number; lines: number };
    media: { images: number; sha256: string };
  };
}

/**
 * Write a world to `outDir`: `samples.jsonl` (every task and split, in split → task table → index order; each record
 * has `task` and `split`), `media/<sha[0:2]>/<sha>.png`, and `world.json` (config, seed, counts, sha256 of outputs).
 * `world.json` is removed first and written last, and samples.jsonl is renamed into place, so an interrupted run
 * never leaves a directory that looks complete.
 */
export function generateWorld(configInput: WorldConfig | WorldConfigInput, opts: GenerateOptions): WorldManifest {
  const config = parseWorldConfig(configInput);
  const tasks = resolveTasks(opts.tasks);
  const splits = [...(opts.splits ?? ['train'])].filter((s, i, a) => a.indexOf(s) === i);
  for (const s of splits) lookup(Object.fromEntries(SPLITS.map((x) => [x, x])), 'split', s);
  try {
    mkdirSync(opts.outDir, { recursive: true });
  } catch (e) {
    throw new MmalignError('MMALIGN_OUT_DIR', `cannot create output directory ${opts.outDir}: ${(e as Error).message}`);
  }
  const manifestPath = path.join(opts.outDir, 'world.json');
  rmSync(manifestPath, { force: true });
  const media = new MediaWriter(opts.outDir);
  const imagePaths = new Set<string>();
  const out = new AtomicLineWriter(path.join(opts.outDir, 'samples.jsonl'));
  const hash = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  const taskCounts = opts.counts ?? {};
  for (const [task, c] of Object.entries(taskCounts)) {
    lookup(TASKS, 'task', task);
    if (!Number.isInteger(c) || c <= 0)
      throw new MmalignError('MMALIGN_BAD_COUNT', `counts.${task} must be a positive integer, got ${c}`);
  }
  const nOf = (task: string) => taskCounts[task] ?? opts.n;
  const total = splits.length * tasks.reduce((a, t) => a + nOf(t), 0);
  const counts: Record<string, Record<string, number>> = {};
  const sceneCounts: Record<string, number> = {};
  try {
    for (const split of splits) {
      counts[split] = {};
      // One task at a time keeps memory to one task's records; scenes and renders are shared by the split's tasks.
      const ctx = worldContext(config, opts.seed, split, (ref, png) => {
        media.write(ref.path, png);
        imagePaths.add(ref.path);
      });
      for (const task of tasks) {
        const items = TASKS[task].generate(ctx, nOf(task));
        items.forEach((it, i) => {
          const line = JSON.stringify(toSample(ctx, task, i, it));
          out.write(line);
          hash.update(line).update('\n');
          bytes += Buffer.byteLength(line) + 1;
          lines++;
          opts.onProgress?.(lines, total);
        });
        counts[split][task] = items.length;
      }
      sceneCounts[split] = ctx.refs.size;
    }
    out.commit();
  } catch (e) {
    out.abort();
    throw e;
  }
  const mediaHash = createHash('sha256');
  for (const p of [...imagePaths].sort()) mediaHash.update(`${p}\n`);
  const manifest: WorldManifest = {
    format: 'mmalign-shapeworld',
    version: 1,
    seed: opts.seed,
    n: opts.n,
    tasks,
    splits,
    run: worldRunId(opts.seed, config),
    createdAt: worldCreatedAt(opts.seed),
    config,
    counts,
    scenes: sceneCounts,
    files: {
      'samples.jsonl': { sha256: hash.digest('hex'), bytes, lines },
      media: { images: imagePaths.size, sha256: mediaHash.digest('hex') },
    },
  };
  writeAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
