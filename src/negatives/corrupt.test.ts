import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { CORRUPTION_NAMES, corruptImage } from './corrupt.ts';

// 16×8 image: left half red, right half blue.
async function halves(): Promise<Buffer> {
  const w = 16;
  const h = 8;
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      if (x < w / 2) raw[i] = 255;
      else raw[i + 2] = 255;
    }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}

async function pixels(png: Uint8Array) {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
  return { data, info, at };
}

describe('corruptImage', () => {
  it('keeps the size and is deterministic for every corruption', async () => {
    const img = await halves();
    for (const name of CORRUPTION_NAMES) {
      const a = await corruptImage(img, { name }, { seed: 7, other: img });
      const b = await corruptImage(img, { name }, { seed: 7, other: img });
      const { info } = await pixels(a);
      expect([name, info.width, info.height]).toEqual([name, 16, 8]);
      expect(a.equals(b)).toBe(true);
    }
  });

  it('black is all zeros; rotate 180 swaps the halves', async () => {
    const img = await halves();
    const black = await pixels(await corruptImage(img, { name: 'black' }, { seed: 1 }));
    expect(black.data.every((v) => v === 0)).toBe(true);
    const rot = await pixels(await corruptImage(img, { name: 'rotate', params: { degrees: 180 } }, { seed: 1 }));
    expect(rot.at(0, 0)).toEqual([0, 0, 255]);
    expect(rot.at(15, 7)).toEqual([255, 0, 0]);
  });

  it('noise moves pixels by about its std and depends on the seed', async () => {
    const img = await halves();
    const clean = await pixels(img);
    const a = await pixels(await corruptImage(img, { name: 'noise', params: { std: 20 } }, { seed: 1 }));
    const b = await corruptImage(img, { name: 'noise', params: { std: 20 } }, { seed: 2 });
    let diff = 0;
    for (let i = 0; i < a.data.length; i++) diff += Math.abs(a.data[i] - clean.data[i]);
    // E|N(0,20)| = 20·√(2/π) ≈ 16, less where clipping at 0/255 bites (2 of 3 channels are at a bound).
    const mean = diff / a.data.length;
    expect(mean).toBeGreaterThan(5);
    expect(mean).toBeLessThan(17);
    expect(b.equals(await corruptImage(img, { name: 'noise', params: { std: 20 } }, { seed: 1 }))).toBe(false);
  });

  it('pixelate makes constant blocks; blur mixes colours at the border only', async () => {
    const img = await halves();
    const px = await pixels(await corruptImage(img, { name: 'pixelate', params: { factor: 8 } }, { seed: 1 }));
    expect(px.at(0, 0)).toEqual(px.at(7, 7));
    const bl = await pixels(await corruptImage(img, { name: 'blur', params: { sigma: 1 } }, { seed: 1 }));
    const mid = bl.at(8, 4);
    expect(mid[0]).toBeGreaterThan(0);
    expect(mid[2]).toBeGreaterThan(0);
  });

  it('other needs a replacement image and rejects undecodable input', async () => {
    const img = await halves();
    await expect(corruptImage(img, { name: 'other' }, { seed: 1 })).rejects.toThrow(/needs a replacement image/);
    await expect(corruptImage(new Uint8Array([1, 2, 3]), { name: 'blur' }, { seed: 1 })).rejects.toThrow(
      /cannot decode/,
    );
  });
});
