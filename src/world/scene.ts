import type { Split, WorldConfig } from './config.ts';
import { type Rng, streamRng } from './rng.ts';
import { SHAPE_MASKS } from './shapes.ts';
import {
  CATEGORIES,
  type Category,
  COLORS,
  type Color,
  type Position,
  positionName,
  SIZE_RADIUS,
  SIZES,
  type Size,
} from './vocab.ts';

export type Box = [x: number, y: number, w: number, h: number];

/** Why an object is hard to see: drawn tiny, dimmed toward the background, or partly covered by a gray block. */
export interface Evidence {
  tiny: boolean;
  lowContrast: boolean;
  /** The occluding block, in pixels, drawn over the object. */
  occluder?: Box;
}

export interface SceneObject {
  /** Index in the scene; objects are in reading order (grid row, then column), the order captions use. */
  id: number;
  category: Category;
  color: Color;
  size: Size;
  /** Centre and drawn radius in pixels. */
  cx: number;
  cy: number;
  radius: number;
  cell: [row: number, col: number];
  /** Thirds of the image the centre falls in ("top left" … "bottom right"). */
  position: Position;
  /** Tight pixel box of the drawn mask (before occlusion). */
  box: Box;
  /** Mask pixels, and how many of them stay visible after occlusion. */
  pixels: number;
  visiblePixels: number;
  evidence: Evidence;
  /** Set when the object was drawn because its trigger (this category) is in the scene. */
  viaPrior?: Category;
}

/** A gray background mark: a short line or a speck. */
export interface ClutterMark {
  kind: 'line' | 'speck';
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  gray: number;
}

/** Caption noise: an undrawn partner that the training caption names right after object `after`. */
export interface InjectedObject {
  category: Category;
  color: Color;
  size: Size;
  after: number;
}

export interface Scene {
  id: string;
  split: Split;
  index: number;
  seed: number;
  imageSize: number;
  objects: SceneObject[];
  clutter: ClutterMark[];
  injected: InjectedObject[];
  /** Seed of the pixel-noise stream used by the renderer. */
  noiseSeed: number;
  /** Render settings copied from the config, so `renderScene(scene)` needs nothing else. */
  noise: number;
  contrast: number;
}

export const BACKGROUND_RGB = [62, 62, 68] as const;

/** Pixel indices (y * S + x) covered by a shape mask centred at (cx, cy) with radius r. */
export function rasterize(category: Category, cx: number, cy: number, r: number, size: number): number[] {
  const mask = SHAPE_MASKS[category];
  const out: number[] = [];
  const x0 = Math.max(0, Math.floor(cx - r - 1));
  const x1 = Math.min(size - 1, Math.ceil(cx + r + 1));
  const y0 = Math.max(0, Math.floor(cy - r - 1));
  const y1 = Math.min(size - 1, Math.ceil(cy + r + 1));
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) if (mask((x + 0.5 - cx) / r, (y + 0.5 - cy) / r)) out.push(y * size + x);
  return out;
}

const pixelCache = new WeakMap<SceneObject, number[]>();
/** The mask pixels of a scene object (cached: scene generation and rendering both need them). */
export function objectPixels(o: SceneObject, size: number): number[] {
  let px = pixelCache.get(o);
  if (!px) {
    px = rasterize(o.category, o.cx, o.cy, o.radius, size);
    pixelCache.set(o, px);
  }
  return px;
}

function boxOf(pixels: readonly number[], size: number): Box {
  let minX = size;
  let minY = size;
  let maxX = -1;
  let maxY = -1;
  for (const p of pixels) {
    const x = p % size;
    const y = (p - x) / size;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return [minX, minY, maxX - minX + 1, maxY - minY + 1];
}

function inBox(p: number, size: number, b: Box): boolean {
  const x = p % size;
  const y = (p - x) / size;
  return x >= b[0] && x < b[0] + b[2] && y >= b[1] && y < b[1] + b[3];
}

interface Slot {
  category: Category;
  viaPrior?: Category;
}

/** Draw the categories of one scene, honouring the co-occurrence priors of its split. */
function drawCategories(rng: Rng, config: WorldConfig, split: Split): Slot[] {
  const k = rng.int(config.objects.min, config.objects.max);
  const pairOf = new Map(config.priors.pairs.map((p) => [p.trigger, p]));
  const tw = config.priors.triggerWeight[split];
  const weights = CATEGORIES.map((c) => (pairOf.has(c) ? tw : 1));
  const slots: Slot[] = [];
  // Bounded: a draw that cannot fit its required partner is redrawn; non-trigger categories always fit.
  for (let guard = 0; slots.length < k && guard < 1000; guard++) {
    const category = CATEGORIES[rng.weighted(weights)];
    const pair = pairOf.get(category);
    if (!pair || slots.some((s) => s.category === pair.partner)) {
      slots.push({ category });
      continue;
    }
    if (!rng.chance(pair[split])) {
      slots.push({ category });
      continue;
    }
    if (slots.length + 2 > k) continue;
    slots.push({ category }, { category: pair.partner, viaPrior: category });
  }
  return slots;
}

/** Scene `index` of `split`: a pure function of (seed, split, index, config). */
export function makeScene(config: WorldConfig, seed: number, split: Split, index: number): Scene {
  const rng = streamRng(seed, `scene/${split}`, index);
  const S = config.imageSize;
  const G = config.grid;
  const cs = S / G;
  const slots = rng.shuffle(drawCategories(rng, config, split));
  const cells = rng
    .shuffle(Array.from({ length: G * G }, (_, i) => i))
    .slice(0, slots.length)
    .sort((a, b) => a - b);
  const sizeWeights = SIZES.map((s) => config.sizes[s]);
  const ev = config.evidence;
  const objects: SceneObject[] = slots.map((slot, id) => {
    const cell = cells[id];
    const row = Math.floor(cell / G);
    const col = cell % G;
    const color = rng.pick(COLORS);
    const drawnSize = SIZES[rng.weighted(sizeWeights)];
    let tiny = rng.chance(ev.tiny[split]);
    let lowContrast = rng.chance(ev.lowContrast[split]);
    let occluded = rng.chance(ev.occlusion[split]);
    if (slot.viaPrior && rng.chance(config.priors.partnerWeak[split])) {
      const which = rng.int(0, 2);
      if (which === 0) tiny = true;
      else if (which === 1) lowContrast = true;
      else occluded = true;
    }
    // A tiny object is a small one drawn smaller still, so its size word stays true.
    const size: Size = tiny ? 'small' : drawnSize;
    // Capped so an object stays inside its cell: objects never overlap, so ownership of every pixel is exact.
    let radius = Math.max(1.5, Math.min(cs / 2 - 1, SIZE_RADIUS[size] * S * (tiny ? ev.tinyScale : 1)));
    const slack = Math.max(0, cs / 2 - radius - 1);
    const cx = (col + 0.5) * cs + (rng.next() * 2 - 1) * slack;
    const cy = (row + 0.5) * cs + (rng.next() * 2 - 1) * slack;
    let px = rasterize(slot.category, cx, cy, radius, S);
    // A very small mask can miss every pixel centre: grow it until the object is actually drawn.
    while (px.length < 3) {
      radius += 0.25;
      px = rasterize(slot.category, cx, cy, radius, S);
    }
    const box = boxOf(px, S);
    let occluder: Box | undefined;
    if (occluded) {
      // Cover one side of the box: a band of `frac` of its width (left/right) or height (top/bottom).
      const frac = ev.occludeMin + rng.next() * (ev.occludeMax - ev.occludeMin);
      const side = rng.int(0, 3);
      const [bx, by, bw, bh] = box;
      const w = Math.max(1, Math.round(bw * frac));
      const h = Math.max(1, Math.round(bh * frac));
      occluder =
        side === 0
          ? [bx - 1, by - 1, w + 1, bh + 2]
          : side === 1
            ? [bx + bw - w, by - 1, w + 1, bh + 2]
            : side === 2
              ? [bx - 1, by - 1, bw + 2, h + 1]
              : [bx - 1, by + bh - h, bw + 2, h + 1];
    }
    const oc = occluder;
    let visiblePixels = oc ? px.filter((p) => !inBox(p, S, oc)).length : px.length;
    // Occlusion hides part of an object, never (nearly) all of it: then the truth would name an invisible object.
    if (occluder && visiblePixels < Math.max(2, 0.3 * px.length)) {
      occluder = undefined;
      visiblePixels = px.length;
    }
    const thirds = (v: number) => Math.min(2, Math.floor((v / S) * 3)) as 0 | 1 | 2;
    const obj: SceneObject = {
      id,
      category: slot.category,
      color,
      size,
      cx,
      cy,
      radius,
      cell: [row, col],
      position: positionName(thirds(cy), thirds(cx)),
      box,
      pixels: px.length,
      visiblePixels,
      evidence: { tiny, lowContrast, ...(occluder ? { occluder } : {}) },
      ...(slot.viaPrior ? { viaPrior: slot.viaPrior } : {}),
    };
    pixelCache.set(obj, px);
    return obj;
  });
  const clutter: ClutterMark[] = [];
  const nClutter = poisson(rng, config.background.clutter);
  for (let i = 0; i < nClutter; i++) {
    const x0 = rng.int(0, S - 1);
    const y0 = rng.int(0, S - 1);
    const gray = rng.int(95, 150);
    if (rng.chance(0.5)) clutter.push({ kind: 'speck', x0, y0, x1: x0 + rng.int(0, 1), y1: y0 + rng.int(0, 1), gray });
    else {
      const len = rng.int(3, Math.max(4, Math.round(S / 6)));
      const dir = rng.int(0, 3);
      const dx = [1, 0, 1, 1][dir];
      const dy = [0, 1, 1, -1][dir];
      clutter.push({ kind: 'line', x0, y0, x1: x0 + dx * len, y1: y0 + dy * len, gray });
    }
  }
  const injected: InjectedObject[] = [];
  const present = new Set(objects.map((o) => o.category));
  for (const pair of config.priors.pairs) {
    if (!present.has(pair.trigger) || present.has(pair.partner)) continue;
    if (!rng.chance(config.captionNoise[split])) continue;
    const after = objects.find((o) => o.category === pair.trigger)!.id;
    injected.push({ category: pair.partner, color: rng.pick(COLORS), size: SIZES[rng.weighted(sizeWeights)], after });
  }
  return {
    id: `sw${seed}-${split}-${index}`,
    split,
    index,
    seed,
    imageSize: S,
    objects,
    clutter,
    injected,
    noiseSeed: Math.floor(rng.next() * 4294967296) >>> 0,
    noise: config.background.noise,
    contrast: ev.contrast,
  };
}

/** Knuth's Poisson sampler (small means only). */
function poisson(rng: Rng, mean: number): number {
  if (mean <= 0) return 0;
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rng.next();
  } while (p > l);
  return k - 1;
}

/** Scenes [start, start + n) of a split. */
export function makeScenes(config: WorldConfig, seed: number, split: Split, n: number, start = 0): Scene[] {
  return Array.from({ length: n }, (_, i) => makeScene(config, seed, split, start + i));
}

/** Distinct categories of a scene in reading order of first appearance (POPE's per-image object list). */
export function sceneCategories(scene: Scene): Category[] {
  return [...new Set(scene.objects.map((o) => o.category))];
}
