import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** Keys look like `ab/abcdef…(64 hex).png`: anything else (`..`, absolute paths, encoded slashes) is refused. */
export const MEDIA_KEY = /^[0-9a-f]{2}\/[0-9a-f]{64}(\.[a-z0-9]{1,5})?$/;

const TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
};

/** Copy a file into the content-addressed store (`media/ab/<sha256>.ext`) and return its key and hash. */
export function storeMedia(mediaDir: string, file: string): { key: string; sha256: string } {
  const bytes = readFileSync(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const ext = path.extname(file).toLowerCase();
  const key = `${sha256.slice(0, 2)}/${sha256}${/^\.[a-z0-9]{1,5}$/.test(ext) ? ext : ''}`;
  const dest = path.join(mediaDir, key);
  if (!existsSync(dest)) {
    mkdirSync(path.dirname(dest), { recursive: true });
    copyFileSync(file, dest);
  }
  return { key, sha256 };
}

/**
 * Resolve a key to a file inside the store, or undefined. Besides the key pattern, the real path (symlinks
 * followed) must stay under the store, so a planted symlink cannot serve files from elsewhere either.
 */
export function resolveMedia(mediaDir: string, key: string): { file: string; type: string } | undefined {
  if (!MEDIA_KEY.test(key)) return undefined;
  const file = path.join(mediaDir, key);
  if (!existsSync(file)) return undefined;
  const real = realpathSync(file);
  const root = realpathSync(mediaDir);
  if (!real.startsWith(root + path.sep)) return undefined;
  return { file: real, type: TYPES[path.extname(key)] ?? 'application/octet-stream' };
}
