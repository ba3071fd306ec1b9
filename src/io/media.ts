import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ImageRef, MediaRef } from '../schema/index.ts';
import { MmalignError, type ValidationIssue } from '../util/errors.ts';
import { atomicWriteFile } from './atomic.ts';

/**
 * Content-addressed media: `media/<first 2 hex>/<sha256>.<ext>` under a dataset root. Records hold the relative path
 * plus the sha256, so a set can be moved or shared, duplicates are stored once, and `verifyMedia` can prove a file is
 * the one the record was made with.
 */
export const IMAGE_FORMATS = {
  png: { ext: 'png', mime: 'image/png' },
  jpeg: { ext: 'jpg', mime: 'image/jpeg' },
  webp: { ext: 'webp', mime: 'image/webp' },
  gif: { ext: 'gif', mime: 'image/gif' },
} as const;
export type ImageFormat = keyof typeof IMAGE_FORMATS;

export interface ImageInfo {
  format: ImageFormat;
  width: number;
  height: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The store path of a blob, relative to the dataset root (always `/`-separated). */
export function mediaPath(sha256: string, ext: string): string {
  return `media/${sha256.slice(0, 2)}/${sha256}.${ext}`;
}

/**
 * Format and size from the first bytes (magic number + header), without decoding pixels. Returns undefined when the
 * bytes are not a png/jpeg/webp/gif or the header is cut short.
 */
export function detectImage(b: Uint8Array): ImageInfo | undefined {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ascii = (o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));
  if (b.length >= 24 && b[0] === 0x89 && ascii(1, 3) === 'PNG' && ascii(12, 4) === 'IHDR') {
    return sized('png', dv.getUint32(16), dv.getUint32(20));
  }
  if (b.length >= 10 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) {
    return sized('gif', dv.getUint16(6, true), dv.getUint16(8, true));
  }
  if (b.length >= 30 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') {
    const chunk = ascii(12, 4);
    if (chunk === 'VP8 ') return sized('webp', dv.getUint16(26, true) & 0x3fff, dv.getUint16(28, true) & 0x3fff);
    if (chunk === 'VP8L' && b[20] === 0x2f) {
      const [b0, b1, b2, b3] = [b[21], b[22], b[23], b[24]];
      return sized('webp', 1 + (((b1 & 0x3f) << 8) | b0), 1 + (((b3 & 0xf) << 10) | (b2 << 2) | ((b1 & 0xc0) >> 6)));
    }
    if (chunk === 'VP8X') {
      const u24 = (o: number) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16);
      return sized('webp', 1 + u24(24), 1 + u24(27));
    }
    return undefined;
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) {
    // Walk the marker segments to the first start-of-frame (SOF0..SOF15 except DHT C4, JPG C8, DAC CC).
    let o = 2;
    while (o + 9 < b.length) {
      if (b[o] !== 0xff) return undefined;
      const marker = b[o + 1];
      if (marker === 0xff) {
        o++;
        continue;
      }
      const len = dv.getUint16(o + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return sized('jpeg', dv.getUint16(o + 7), dv.getUint16(o + 5));
      }
      o += 2 + len;
    }
  }
  return undefined;
}

function sized(format: ImageFormat, width: number, height: number): ImageInfo | undefined {
  return width > 0 && height > 0 ? { format, width, height } : undefined;
}

export interface PutOptions {
  /** For non-image blobs (video, audio) the extension to store under; images are detected from their bytes. */
  ext?: string;
}

export class MediaStore {
  /** Absolute dataset root; refs are relative to it. */
  readonly root: string;
  #known = new Set<string>();

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /**
   * Store an image (bytes or a file path) and return its ref; storing the same bytes twice writes once. With
   * `link`, a file input is hard-linked instead of copied when on the same filesystem (free, but later edits of the
   * source would change the stored file too).
   */
  async put(input: Uint8Array | { file: string }, opts: { link?: boolean } = {}): Promise<ImageRef> {
    const bytes = input instanceof Uint8Array ? input : await readFile(input.file);
    const info = detectImage(bytes);
    if (!info) {
      const where = input instanceof Uint8Array ? 'bytes' : input.file;
      throw new MmalignError(
        'MMALIGN_MEDIA_FORMAT',
        `${where}: not a png, jpeg, webp or gif image (unknown magic bytes)`,
        {
          hint: 'store video/audio with putBlob(bytes, {ext})',
        },
      );
    }
    const sha256 = sha256Hex(bytes);
    const rel = mediaPath(sha256, IMAGE_FORMATS[info.format].ext);
    await this.#write(rel, bytes, input instanceof Uint8Array || !opts.link ? undefined : input.file);
    return { kind: 'image', path: rel, sha256, width: info.width, height: info.height };
  }

  /** Store any blob under `ext`; returns the relative path and sha256. */
  async putBlob(bytes: Uint8Array, opts: Required<PutOptions>): Promise<{ path: string; sha256: string }> {
    const sha256 = sha256Hex(bytes);
    const rel = mediaPath(sha256, opts.ext.replace(/^\./, ''));
    await this.#write(rel, bytes);
    return { path: rel, sha256 };
  }

  async #write(rel: string, bytes: Uint8Array, source?: string): Promise<void> {
    if (this.#known.has(rel)) return;
    const abs = path.join(this.root, rel);
    if (!existsSync(abs)) {
      await mkdir(path.dirname(abs), { recursive: true });
      // A hard link is free when the source is on the same filesystem; otherwise copy through temp + rename.
      let linked = false;
      if (source)
        linked = await link(source, abs).then(
          () => true,
          () => false,
        );
      if (!linked) await atomicWriteFile(abs, bytes);
    }
    this.#known.add(rel);
  }

  resolve(ref: MediaRef | string): string {
    return resolveMedia(ref, this.root);
  }
}

/** Absolute path of a ref's file (refs are relative to the dataset root; absolute paths are kept as they are). */
export function resolveMedia(ref: MediaRef | string, root: string): string {
  const p = typeof ref === 'string' ? ref : ref.path;
  if (p === undefined) throw new MmalignError('MMALIGN_MEDIA_NO_PATH', 'media ref has no path (frames-only video?)');
  return path.isAbsolute(p) ? p : path.join(root, p);
}

export interface VerifyOptions {
  /** Decode image pixels with sharp (catches truncated / corrupt data the header does not show). Default true. */
  decode?: boolean;
  /** Where the ref sits, for the issue: file, line, dotted field path and the record id. */
  where?: { file?: string; line?: number; path?: string; record?: string };
}

/**
 * Check that a ref's file exists, matches its sha256 and (for images) is a decodable image of the stated size.
 * Returns issues, never throws for a bad file.
 */
export async function verifyMedia(ref: MediaRef, root: string, opts: VerifyOptions = {}): Promise<ValidationIssue[]> {
  const w = opts.where ?? {};
  const rec = w.record ? `record ${w.record}: ` : '';
  const issue = (code: string, message: string, sub = ''): ValidationIssue => ({
    code,
    message: `${rec}${message}`,
    file: w.file,
    line: w.line,
    path: `${w.path ?? 'media'}${sub}`,
  });
  if (ref.kind === 'video' && ref.path === undefined) {
    const out: ValidationIssue[] = [];
    for (const [i, f] of (ref.frames ?? []).entries()) {
      out.push(...(await verifyMedia(f, root, { ...opts, where: { ...w, path: `${w.path ?? 'media'}.frames.${i}` } })));
    }
    return out;
  }
  const abs = resolveMedia(ref, root);
  let bytes: Buffer;
  try {
    const st = await stat(abs);
    if (!st.isFile()) return [issue('media_missing', `${ref.path} is not a file (looked at ${abs})`, '.path')];
    bytes = await readFile(abs);
  } catch {
    return [issue('media_missing', `missing ${ref.kind} file ${ref.path} (looked at ${abs})`, '.path')];
  }
  if (ref.sha256 && sha256Hex(bytes) !== ref.sha256) {
    return [
      issue(
        'media_sha256',
        `${ref.path}: sha256 ${sha256Hex(bytes)} does not match the record's ${ref.sha256}`,
        '.sha256',
      ),
    ];
  }
  if (ref.kind !== 'image') return [];
  const info = detectImage(bytes);
  if (!info)
    return [issue('media_corrupt', `${ref.path}: not a readable png/jpeg/webp/gif (bad or truncated header)`, '.path')];
  if (
    (ref.width !== undefined && ref.width !== info.width) ||
    (ref.height !== undefined && ref.height !== info.height)
  ) {
    return [
      issue(
        'media_size',
        `${ref.path}: image is ${info.width}x${info.height} but the record says ${ref.width}x${ref.height}`,
        '.width',
      ),
    ];
  }
  if (opts.decode ?? true) {
    const { default: sharp } = await import('sharp');
    try {
      await sharp(bytes).raw().toBuffer();
    } catch (e) {
      const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
      return [issue('media_corrupt', `${ref.path}: corrupt ${info.format} image (${reason})`, '.path')];
    }
  }
  return [];
}

/** Every media ref of a record with its dotted field path: `media.i`, `rejectedMedia.i`. */
export function mediaFields(record: object): { path: string; ref: MediaRef }[] {
  const out: { path: string; ref: MediaRef }[] = [];
  for (const key of ['media', 'rejectedMedia'] as const) {
    const list = (record as Record<string, unknown>)[key];
    if (!Array.isArray(list)) continue;
    for (const [i, ref] of (list as MediaRef[]).entries()) out.push({ path: `${key}.${i}`, ref });
  }
  return out;
}
