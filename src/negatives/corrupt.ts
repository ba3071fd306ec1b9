import sharp, { type Metadata, type Sharp } from 'sharp';
import { MmalignError } from '../util/errors.ts';
import { createRng } from '../util/rng.ts';

/**
 * Image corruptions that make I_neg for image-contrastive objectives: mDPO (Wang et al. 2024) crops 0–20% of the
 * image; CHiP and Image-DPO use blur, pixelation, noise and unrelated images. Each keeps the original size so the
 * model sees the same number of patches, and each is deterministic given its seed.
 */
export const CORRUPTIONS = {
  blur: { description: 'gaussian blur', defaults: { sigma: 3 } },
  pixelate: { description: 'downscale by `factor` then upscale (nearest)', defaults: { factor: 6 } },
  noise: { description: 'additive gaussian noise with std `std` (0–255 scale)', defaults: { std: 60 } },
  crop: { description: 'keep a random window of `keep` of each side, resized back (mDPO)', defaults: { keep: 0.5 } },
  rotate: { description: 'rotate by `degrees`', defaults: { degrees: 90 } },
  black: { description: 'an all-black image', defaults: {} },
  other: { description: 'a different image from the pool (given by the caller)', defaults: {} },
} as const satisfies Record<string, { description: string; defaults: Record<string, number> }>;

export type CorruptionName = keyof typeof CORRUPTIONS;
export const CORRUPTION_NAMES = Object.keys(CORRUPTIONS) as CorruptionName[];

export interface CorruptionSpec {
  name: CorruptionName;
  params?: Record<string, number>;
}

export interface CorruptOptions {
  seed: number;
  /** the replacement image for `other` */
  other?: Uint8Array;
}

/** Corrupt an encoded image (PNG/JPEG/...) and return PNG bytes of the same width and height. */
export async function corruptImage(input: Uint8Array, spec: CorruptionSpec, opts: CorruptOptions): Promise<Buffer> {
  const p = { ...CORRUPTIONS[spec.name].defaults, ...spec.params } as Record<string, number>;
  let meta: Metadata;
  try {
    meta = await sharp(input).metadata();
  } catch (e) {
    throw new MmalignError('MMALIGN_CORRUPT_IMAGE', `cannot decode image for corruption "${spec.name}"`, { cause: e });
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  const rng = createRng(opts.seed);
  const png = (img: Sharp) => img.removeAlpha().png({ compressionLevel: 6 }).toBuffer();
  switch (spec.name) {
    case 'blur':
      return png(sharp(input).blur(Math.max(0.3, p.sigma)));
    case 'pixelate': {
      const f = Math.max(1, Math.round(p.factor));
      const small = await sharp(input)
        .resize(Math.max(1, Math.round(width / f)), Math.max(1, Math.round(height / f)), { kernel: 'nearest' })
        .toBuffer();
      return png(sharp(small).resize(width, height, { kernel: 'nearest' }));
    }
    case 'noise': {
      const { data, info } = await sharp(input).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const out = Buffer.alloc(data.length);
      for (let i = 0; i < data.length; i++)
        out[i] = Math.max(0, Math.min(255, Math.round(data[i] + rng.normal() * p.std)));
      return png(sharp(out, { raw: { width: info.width, height: info.height, channels: info.channels } }));
    }
    case 'crop': {
      const keep = Math.min(1, Math.max(0.05, p.keep));
      const w = Math.max(1, Math.round(width * keep));
      const h = Math.max(1, Math.round(height * keep));
      const left = rng.int(width - w + 1);
      const top = rng.int(height - h + 1);
      const window = await sharp(input).extract({ left, top, width: w, height: h }).toBuffer();
      return png(sharp(window).resize(width, height));
    }
    case 'rotate': {
      const rotated = await sharp(input).rotate(p.degrees, { background: '#000000' }).toBuffer();
      return png(sharp(rotated).resize(width, height, { fit: 'fill' }));
    }
    case 'black':
      return png(sharp({ create: { width, height, channels: 3, background: '#000000' } }));
    case 'other':
      if (!opts.other)
        throw new MmalignError('MMALIGN_CORRUPT_OTHER', 'corruption "other" needs a replacement image', {
          hint: 'give a pool of images to draw the other image from',
        });
      return png(sharp(opts.other).resize(width, height, { fit: 'fill' }));
  }
}
