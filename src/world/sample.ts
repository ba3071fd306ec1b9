import { createHash } from 'node:crypto';
import type { ImageRef, Sample, TruthObject } from '../schema/index.ts';
import type { Split, WorldConfig } from './config.ts';
import { renderScene } from './render.ts';
import type { Rng } from './rng.ts';
import type { Scene, SceneObject } from './scene.ts';
import type { Size } from './vocab.ts';

/** What every task generator gets: the world, its seed and split, and how a scene becomes a media reference. */
export interface TaskContext {
  config: WorldConfig;
  seed: number;
  split: Split;
  /** Provenance fields, fixed per run so output files are byte-identical for a seed. */
  createdAt: string;
  run: string;
  /** Scene j of this split (cached by the caller; scenes past n are drawn when a task skips scenes). */
  sceneAt(j: number): Scene;
  media(scene: Scene): ImageRef;
}

/** A task item before it becomes a Sample: prompt, reference answer, task-specific truth. */
export interface Draft {
  prompt: string;
  reference: string;
  truth: Record<string, unknown>;
  tags?: string[];
}

export interface TaskItem {
  scene: Scene;
  draft: Draft;
}

/** A task that asks one question per scene; it returns null when the scene cannot support its question. */
export type PerSceneTask = (scene: Scene, rng: Rng, ctx: TaskContext) => Draft | null;

/** Provenance time derived from the seed (2025-01-01 + seed seconds, wrapped at one year): deterministic output. */
export function worldCreatedAt(seed: number): string {
  return new Date(Date.UTC(2025, 0, 1) + ((seed >>> 0) % 31_536_000) * 1000).toISOString();
}

export function worldRunId(seed: number, config: WorldConfig): string {
  const h = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 8);
  return `world-s${seed}-${h}`;
}

/** The media reference a scene gets in the content-addressed store: `media/<sha[0:2]>/<sha>.png`. */
export function sceneImageRef(scene: Scene): ImageRef {
  const r = renderScene(scene);
  return mediaRef(r.sha256, r.width, r.height);
}

export function mediaRef(sha256: string, width: number, height: number): ImageRef {
  return { kind: 'image', path: `media/${sha256.slice(0, 2)}/${sha256}.png`, sha256, width, height };
}

function evidenceWords(o: SceneObject): string {
  const e = [
    o.evidence.tiny ? 'tiny' : '',
    o.evidence.lowContrast ? 'low_contrast' : '',
    o.evidence.occluder ? 'occluded' : '',
  ]
    .filter(Boolean)
    .join(',');
  return e || 'clear';
}

/**
 * Exact ground truth of a scene's objects: name = category; attributes color, size, position, evidence
 * ("clear" or a comma list of tiny / low_contrast / occluded), visible (share of mask pixels not occluded),
 * prior (the trigger that pulled this object in); box = tight [x, y, w, h] of the drawn mask.
 */
export function truthObjects(scene: Scene): TruthObject[] {
  return scene.objects.map((o) => ({
    name: o.category,
    attributes: {
      color: o.color,
      size: o.size,
      position: o.position,
      evidence: evidenceWords(o),
      visible: (o.visiblePixels / o.pixels).toFixed(2),
      ...(o.viaPrior ? { prior: o.viaPrior } : {}),
    },
    box: o.box,
    media: 0,
  }));
}

export function toSample(ctx: TaskContext, task: string, index: number, item: TaskItem): Sample {
  const { scene, draft } = item;
  return {
    id: `sw${ctx.seed}-${ctx.split}-${task}-${index}`,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image', media: 0 },
          { type: 'text', text: draft.prompt },
        ],
      },
    ],
    media: [ctx.media(scene)],
    reference: draft.reference,
    truth: { objects: truthObjects(scene), scene: scene.id, ...draft.truth },
    task,
    split: ctx.split,
    tags: [task, ...(draft.tags ?? [])],
    provenance: { source: 'shapeworld', createdAt: ctx.createdAt, run: ctx.run },
  };
}

/**
 * The shortest phrase that names exactly one object of the scene, from the words allowed (e.g. without "color"
 * when the question asks for the color): "circle", "red circle", "small red circle". Null if none is unique.
 */
export function uniqueDescription(
  scene: Scene,
  o: SceneObject,
  omit: 'color' | 'size' | 'none' = 'none',
): string | null {
  const forms: { color: boolean; size: boolean }[] = [
    { color: false, size: false },
    ...(omit !== 'color' ? [{ color: true, size: false }] : []),
    ...(omit !== 'size' ? [{ color: false, size: true }] : []),
    ...(omit === 'none' ? [{ color: true, size: true }] : []),
  ];
  for (const f of forms) {
    const same = scene.objects.filter(
      (p) => p.category === o.category && (!f.color || p.color === o.color) && (!f.size || p.size === o.size),
    );
    if (same.length === 1) return [f.size ? o.size : '', f.color ? o.color : '', o.category].filter(Boolean).join(' ');
  }
  return null;
}

export function countWord(n: number, singular: string, plural: string): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

export const SIZE_ORDER: readonly Size[] = ['small', 'medium', 'large'];
