import { readFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { MmalignError } from '../util/errors.ts';

/**
 * Images enter the model as I×I RGB. Files are decoded once to bytes [I, I, 3] (pngjs for PNGs already at size,
 * sharp for anything else: resize with `fill`, alpha dropped) and scaled to [-1, 1] per batch.
 */
export async function loadImageRgb(file: string, size: number): Promise<Uint8Array> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new MmalignError('MMALIGN_MISSING_MEDIA', `cannot read image ${file}: ${(e as Error).message}`, {
      hint: 'media paths in records are relative to the data directory',
    });
  }
  return decodeImageRgb(buf, size, file);
}

/** Decodes image bytes (any format sharp reads) to RGB [I, I, 3]; `label` names the image in errors. */
export async function decodeImageRgb(buf: Buffer, size: number, label: string): Promise<Uint8Array> {
  try {
    if (buf.subarray(1, 4).toString('latin1') === 'PNG') {
      const png = PNG.sync.read(buf);
      if (png.width === size && png.height === size) return rgbaToRgb(png.data, size * size);
    }
    const raw = await sharp(buf).removeAlpha().resize(size, size, { fit: 'fill' }).raw().toBuffer();
    return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  } catch (e) {
    throw new MmalignError('MMALIGN_BAD_MEDIA', `cannot decode image ${label}: ${(e as Error).message}`);
  }
}

function rgbaToRgb(rgba: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    out[i * 3] = rgba[i * 4] as number;
    out[i * 3 + 1] = rgba[i * 4 + 1] as number;
    out[i * 3 + 2] = rgba[i * 4 + 2] as number;
  }
  return out;
}

/** Stacks RGB bytes into a float batch [B, I, I, 3] in [-1, 1]. */
export function imagesToFloat(images: readonly Uint8Array[], size: number): Float32Array {
  const n = size * size * 3;
  const out = new Float32Array(images.length * n);
  images.forEach((img, b) => {
    if (img.length !== n) throw new Error(`image ${b} has ${img.length} bytes, expected ${n}`);
    for (let i = 0; i < n; i++) out[b * n + i] = (img[i] as number) / 127.5 - 1;
  });
  return out;
}
