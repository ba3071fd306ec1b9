import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
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

export class MediaInputError extends Error {}

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
    const bytes = Buffer.from(m[3], 'base64');
    if (bytes.length === 0) throw new MediaInputError('image_url holds an empty image');
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
