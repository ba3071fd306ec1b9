import { createHash } from 'node:crypto';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { parseWorldConfig } from './config.ts';
import { objectRgb, renderScene } from './render.ts';
import { makeScene, makeScenes } from './scene.ts';
import { COLORS } from './vocab.ts';

// Heavy weak-evidence settings so tiny, dim and occluded objects all occur in a few scenes.
const cfg = parseWorldConfig({
  imageSize: 40,
  objects: { min: 3, max: 7 },
  evidence: { tiny: { train: 0.3 }, lowContrast: { train: 0.3 }, occlusion: { train: 0.3 } },
  background: { noise: 12, clutter: 4 },
});
const scenes = makeScenes(cfg, 11, 'train', 40);

describe('renderScene: exact ground truth', () => {
  it('draws every object pixel in the object colour, inside its box, and counts visible pixels exactly', () => {
    let dim = 0;
    let occluded = 0;
    for (const scene of scenes) {
      const r = renderScene(scene, { noise: 0 });
      const S = scene.imageSize;
      for (const o of scene.objects) {
        const want = objectRgb(o.color, o.evidence.lowContrast, cfg.evidence.contrast);
        let owned = 0;
        for (let p = 0; p < S * S; p++) {
          if (r.owner[p] !== o.id) continue;
          owned++;
          expect([r.rgb[p * 3], r.rgb[p * 3 + 1], r.rgb[p * 3 + 2]]).toEqual(want);
          const x = p % S;
          const y = Math.floor(p / S);
          expect(x >= o.box[0] && x < o.box[0] + o.box[2] && y >= o.box[1] && y < o.box[1] + o.box[3]).toBe(true);
        }
        expect(owned).toBe(o.visiblePixels);
        expect(owned).toBeGreaterThan(0);
        // The dimmed colour is still closest to its own colour among all dimmed palette colours.
        const dist = (c: (typeof COLORS)[number]) =>
          objectRgb(c, o.evidence.lowContrast, cfg.evidence.contrast).reduce((s, v, k) => s + (v - want[k]) ** 2, 0);
        expect([...COLORS].sort((a, b) => dist(a) - dist(b))[0]).toBe(o.color);
        if (o.evidence.lowContrast) dim++;
        if (o.evidence.occluder) {
          occluded++;
          expect(o.visiblePixels).toBeLessThan(o.pixels);
        }
      }
    }
    expect(dim).toBeGreaterThan(10);
    expect(occluded).toBeGreaterThan(10);
  });

  it('keeps noisy pixels within the noise amplitude of the drawn colour', () => {
    const scene = scenes[0];
    const clean = renderScene(scene, { noise: 0 });
    const noisy = renderScene(scene);
    let changed = 0;
    for (let i = 0; i < clean.rgb.length; i++) {
      expect(Math.abs(noisy.rgb[i] - clean.rgb[i])).toBeLessThanOrEqual(12);
      if (noisy.rgb[i] !== clean.rgb[i]) changed++;
    }
    expect(changed).toBeGreaterThan(clean.rgb.length / 2);
  });

  it('encodes a PNG that decodes to the same RGB and hashes to its sha256', () => {
    const r = renderScene(scenes[3]);
    const png = PNG.sync.read(r.png);
    expect([png.width, png.height]).toEqual([40, 40]);
    for (let p = 0; p < 40 * 40; p++) for (let k = 0; k < 3; k++) expect(png.data[p * 4 + k]).toBe(r.rgb[p * 3 + k]);
    expect(createHash('sha256').update(r.png).digest('hex')).toBe(r.sha256);
  });

  it('is deterministic: same seed → same bytes; another seed or index → other bytes', () => {
    const a = renderScene(makeScene(cfg, 11, 'train', 5));
    const b = renderScene(makeScene(cfg, 11, 'train', 5));
    expect(Buffer.compare(a.png, b.png)).toBe(0);
    expect(renderScene(makeScene(cfg, 12, 'train', 5)).sha256).not.toBe(a.sha256);
    expect(renderScene(makeScene(cfg, 11, 'train', 6)).sha256).not.toBe(a.sha256);
    expect(renderScene(makeScene(cfg, 11, 'test', 5)).sha256).not.toBe(a.sha256);
  });

  it('respects the configured image size', () => {
    for (const imageSize of [32, 64]) {
      const c = parseWorldConfig({ imageSize });
      const r = renderScene(makeScene(c, 1, 'train', 0));
      expect([r.width, r.height, r.rgb.length]).toEqual([imageSize, imageSize, imageSize * imageSize * 3]);
    }
  });
});

describe('extreme settings', () => {
  it('never produces an invisible object (32 px, 4×4 grid, all tiny and occluded)', () => {
    const c = parseWorldConfig({
      imageSize: 32,
      grid: 4,
      objects: { min: 16, max: 16 },
      sizes: { medium: 0, large: 0 },
      evidence: { tiny: { train: 1 }, occlusion: { train: 1 } },
    });
    for (const scene of makeScenes(c, 1, 'train', 30)) {
      const r = renderScene(scene, { noise: 0 });
      const owned = new Array(scene.objects.length).fill(0);
      for (const id of r.owner) if (id >= 0) owned[id]++;
      scene.objects.forEach((o, i) => {
        expect(owned[i]).toBe(o.visiblePixels);
        expect(o.visiblePixels).toBeGreaterThanOrEqual(2);
      });
    }
  });
});
