import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { detectImage, IMAGE_FORMATS } from '../io/media.ts';
import type { ImageRef } from '../schema/index.ts';

/**
 * Images that arrive as data: URLs are written once into a content-addressed folder (`ab/<sha256>.<ext>`), so the
 * model sees them as ordinary media refs relative to that folder. Remote http(s) URLs are refused: the server
 * works offline and must not fetch on a client's behalf.
 */
const EXT: Record<string, string> = {
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/jpg': '.jpg',
  'image/webp': '.webp',
  'image/gif': '.gif',
  'image/bmp': '.bmp',
};

/** A client's image is unusable: a 400 whose `param` is the request field holding it. */
export class MediaInputError extends Error {
  param?: string;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export class MediaStore {
  constructor(readonly root: string) {}

  async put(url: string): Promise<ImageRef> {
    const m = /^data:([^;,]+)?((?:;[^;,]*)*?);base64,(.*)$/s.exec(url);
    if (!m) {
      if (/^https?:/i.test(url))
        throw new MediaInputError('image_url must be a data: URL; mmalign serve does not fetch remote images');
      throw new MediaInputError('image_url must be a base64 data: URL (data:image/png;base64,...)');
    }
    const mime = (m[1] ?? '').toLowerCase();
    const ext = EXT[mime];
    if (!ext)
      throw new MediaInputError(`unsupported image type "${mime || '(none)'}"; send png, jpeg, webp, gif or bmp`);
    const data = m[3].replace(/\s+/g, '');
    // Buffer.from skips characters outside the alphabet: check first, so "!!!" is refused, not read as 0 bytes
    if (!BASE64.test(data)) throw new MediaInputError('image_url is not valid base64 after "base64,"');
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length === 0) throw new MediaInputError('image_url holds an empty image');
    const info = detectImage(bytes);
    const bmp = mime === 'image/bmp' && bytes[0] === 0x42 && bytes[1] === 0x4d;
    if (!info && !bmp) throw new MediaInputError(`image_url does not hold a ${mime.replace('image/', '')} image`);
    if (info && ext !== `.${IMAGE_FORMATS[info.format].ext}`)
      throw new MediaInputError(`image_url says ${mime} but holds a ${info.format} image`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const rel = `${sha256.slice(0, 2)}/${sha256}${ext}`;
    const file = path.join(this.root, rel);
    if (!existsSync(file)) {
      await mkdir(path.dirname(file), { recursive: true });
      // write-then-rename would be safer across processes; one server owns this folder
      await writeFile(file, bytes);
    }
    return { kind: 'image', path: rel, sha256 };
  }
}
