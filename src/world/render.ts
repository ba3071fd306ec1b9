import { createHash } from 'node:crypto';
import { PNG } from 'pngjs';
import { streamRng } from './rng.ts';
import { BACKGROUND_RGB, objectPixels, type Scene } from './scene.ts';
import { COLOR_RGB } from './vocab.ts';

export interface RenderedScene {
  width: number;
  height: number;
  /** Packed RGB, row-major, 3 bytes per pixel. */
  rgb: Uint8Array;
  /** Per pixel: the id of the object drawn there, or -1 (background, clutter or occluder). */
  owner: Int16Array;
  /** The colour each object was drawn with before noise (low-contrast objects are dimmed toward the background). */
  drawnRgb: [number, number, number][];
  png: Buffer;
  sha256: string;
}

const OCCLUDER_GRAY = 112;

/** RGB an object is drawn with: its palette colour, or that colour pulled toward the background when dim. */
export function objectRgb(
  color: keyof typeof COLOR_RGB,
  lowContrast: boolean,
  contrast: number,
): [number, number, number] {
  const c = COLOR_RGB[color];
  if (!lowContrast) return [c[0], c[1], c[2]];
  return [0, 1, 2].map((k) => Math.round(BACKGROUND_RGB[k] + (c[k] - BACKGROUND_RGB[k]) * contrast)) as [
    number,
    number,
    number,
  ];
}

/**
 * Draw a scene in pure JS: background, clutter marks, objects (hard-edged masks), occluders, then per-pixel noise;
 * encode as an RGB PNG with pngjs (fixed deflate settings, so bytes are a function of the pixels).
 * `opts.noise` overrides the scene's noise amplitude (0 gives the exact drawn colours, for tests and inspection).
 */
export function renderScene(scene: Scene, opts: { noise?: number } = {}): RenderedScene {
  const S = scene.imageSize;
  const contrast = scene.contrast;
  const rgb = new Uint8Array(S * S * 3);
  const owner = new Int16Array(S * S).fill(-1);
  const set = (p: number, r: number, g: number, b: number) => {
    rgb[p * 3] = r;
    rgb[p * 3 + 1] = g;
    rgb[p * 3 + 2] = b;
  };
  for (let i = 0; i < rgb.length; i += 3) {
    rgb[i] = BACKGROUND_RGB[0];
    rgb[i + 1] = BACKGROUND_RGB[1];
    rgb[i + 2] = BACKGROUND_RGB[2];
  }
  for (const m of scene.clutter) {
    // Bresenham over the mark; specks are 1–2 px boxes drawn as lines too.
    const pts = m.kind === 'line' ? line(m.x0, m.y0, m.x1, m.y1) : box(m.x0, m.y0, m.x1, m.y1);
    for (const [x, y] of pts) if (x >= 0 && y >= 0 && x < S && y < S) set(y * S + x, m.gray, m.gray, m.gray + 4);
  }
  const drawnRgb = scene.objects.map((o) => objectRgb(o.color, o.evidence.lowContrast, contrast));
  for (const o of scene.objects) {
    const [r, g, b] = drawnRgb[o.id];
    for (const p of objectPixels(o, S)) {
      set(p, r, g, b);
      owner[p] = o.id;
    }
  }
  for (const o of scene.objects) {
    const oc = o.evidence.occluder;
    if (!oc) continue;
    for (let y = Math.max(0, oc[1]); y < Math.min(S, oc[1] + oc[3]); y++)
      for (let x = Math.max(0, oc[0]); x < Math.min(S, oc[0] + oc[2]); x++) {
        set(y * S + x, OCCLUDER_GRAY, OCCLUDER_GRAY, OCCLUDER_GRAY);
        owner[y * S + x] = -1;
      }
  }
  const amp = opts.noise ?? scene.noise;
  if (amp > 0) {
    // One 32-bit draw per pixel, one byte per channel: offset = byte mod (2·amp + 1) − amp (a slight modulo bias
    // for amplitudes that do not divide 256 is harmless for noise, and it is 3× fewer draws).
    const rng = streamRng(scene.noiseSeed, 'noise');
    const span = 2 * amp + 1;
    const clamped = new Uint8ClampedArray(rgb.buffer, rgb.byteOffset, rgb.length);
    for (let i = 0; i < rgb.length; i += 3) {
      const u = Math.floor(rng.next() * 4294967296);
      for (let k = 0; k < 3; k++) {
        clamped[i + k] = rgb[i + k] + (((u >>> (8 * k)) & 255) % span) - amp;
      }
    }
  }
  const png = PNG.sync.write(
    { width: S, height: S, data: Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength) } as PNG,
    { colorType: 2, inputColorType: 2, inputHasAlpha: false, deflateLevel: 6, filterType: 1 },
  );
  return {
    width: S,
    height: S,
    rgb,
    owner,
    drawnRgb,
    png,
    sha256: createHash('sha256').update(png).digest('hex'),
  };
}

function line(x0: number, y0: number, x1: number, y1: number): [number, number][] {
  const out: [number, number][] = [];
  const dx = Math.abs(x1 - x0);
  const dy = -Math.abs(y1 - y0);
  const sx = x0 < x1 ? 1 : -1;
  const sy = y0 < y1 ? 1 : -1;
  let err = dx + dy;
  let x = x0;
  let y = y0;
  for (;;) {
    out.push([x, y]);
    if (x === x1 && y === y1) return out;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y += sy;
    }
  }
}

function box(x0: number, y0: number, x1: number, y1: number): [number, number][] {
  const out: [number, number][] = [];
  for (let y = Math.min(y0, y1); y <= Math.max(y0, y1); y++)
    for (let x = Math.min(x0, x1); x <= Math.max(x0, x1); x++) out.push([x, y]);
  return out;
}
