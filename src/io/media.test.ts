import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { solidPng } from './fixtures.ts';
import { detectImage, MediaStore, mediaPath, resolveMedia, sha256Hex, verifyMedia } from './media.ts';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir('mmalign-media-')));
afterEach(() => cleanup());

const raw = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: '#336699' } });

describe('detectImage', () => {
  it('reads format and size from png, jpeg, webp (lossy + lossless) and gif headers', async () => {
    expect(detectImage(solidPng(13, 7, [1, 2, 3]))).toEqual({ format: 'png', width: 13, height: 7 });
    expect(detectImage(await raw(33, 21).jpeg().toBuffer())).toEqual({ format: 'jpeg', width: 33, height: 21 });
    expect(detectImage(await raw(30, 17).webp().toBuffer())).toEqual({ format: 'webp', width: 30, height: 17 });
    expect(detectImage(await raw(301, 170).webp({ lossless: true }).toBuffer())).toEqual({
      format: 'webp',
      width: 301,
      height: 170,
    });
    expect(detectImage(await raw(9, 4).gif().toBuffer())).toEqual({ format: 'gif', width: 9, height: 4 });
  });

  it('returns undefined for non-images and cut-off headers', () => {
    expect(detectImage(Buffer.from('hello world, not an image'))).toBeUndefined();
    expect(detectImage(solidPng(4, 4, [0, 0, 0]).subarray(0, 20))).toBeUndefined();
  });
});

describe('MediaStore', () => {
  it('stores content-addressed under media/<2 hex>/<sha>.<ext>, once per content', async () => {
    const store = new MediaStore(dir);
    const png = solidPng(6, 5, [200, 10, 10]);
    const sha = sha256Hex(png);
    const a = await store.put(png);
    expect(a).toEqual({ kind: 'image', path: `media/${sha.slice(0, 2)}/${sha}.png`, sha256: sha, width: 6, height: 5 });
    expect(readFileSync(path.join(dir, a.path))).toEqual(png);
    const src = path.join(dir, 'in.png');
    writeFileSync(src, png);
    expect(await store.put({ file: src })).toEqual(a);
    expect(await new MediaStore(dir).put(png)).toEqual(a);
    const jpg = await raw(8, 8).jpeg().toBuffer();
    expect((await store.put(jpg)).path).toBe(mediaPath(sha256Hex(jpg), 'jpg'));
    expect(resolveMedia(a, dir)).toBe(path.join(dir, a.path));
  });

  it('refuses bytes that are not an image', async () => {
    await expect(new MediaStore(dir).put(Buffer.from('not an image at all'))).rejects.toThrow(/unknown magic bytes/);
  });
});

describe('verifyMedia', () => {
  it('passes a good file and names record and field for a missing one, a sha mismatch and a corrupt PNG', async () => {
    const store = new MediaStore(dir);
    const ref = await store.put(solidPng(16, 16, [9, 9, 9]));
    const where = { file: 'set.jsonl', line: 7, path: 'media.0', record: 'p1' };
    expect(await verifyMedia(ref, dir, { where })).toEqual([]);

    const missing = await verifyMedia({ ...ref, path: 'media/00/nope.png' }, dir, { where });
    expect(missing).toMatchObject([{ code: 'media_missing', file: 'set.jsonl', line: 7, path: 'media.0.path' }]);
    expect(missing[0].message).toContain('record p1');

    const other = solidPng(16, 16, [1, 1, 1]);
    writeFileSync(path.join(dir, ref.path), other);
    expect(await verifyMedia(ref, dir, { where })).toMatchObject([{ code: 'media_sha256', path: 'media.0.sha256' }]);

    // A PNG whose header is fine but whose pixel data is cut off: only decoding notices.
    const good = solidPng(64, 64, [5, 100, 200]);
    const cut = good.subarray(0, good.length - 40);
    writeFileSync(path.join(dir, 'cut.png'), cut);
    const corrupt = await verifyMedia({ kind: 'image', path: 'cut.png' }, dir, { where });
    expect(corrupt).toMatchObject([{ code: 'media_corrupt', path: 'media.0.path' }]);
    expect(corrupt[0].message).toMatch(/corrupt png/);
    expect(await verifyMedia({ kind: 'image', path: 'cut.png' }, dir, { decode: false })).toEqual([]);

    writeFileSync(path.join(dir, 'junk.png'), 'garbage');
    expect(await verifyMedia({ kind: 'image', path: 'junk.png' }, dir)).toMatchObject([{ code: 'media_corrupt' }]);

    rmSync(path.join(dir, ref.path));
    writeFileSync(path.join(dir, ref.path), solidPng(8, 16, [9, 9, 9]));
    const sized = await verifyMedia({ ...ref, sha256: undefined }, dir);
    expect(sized).toMatchObject([{ code: 'media_size' }]);
  });
});

describe('MediaStore.put({file})', () => {
  it('copies by default and hard-links only when asked', async () => {
    const { statSync } = await import('node:fs');
    const src = path.join(dir, 'src.png');
    writeFileSync(src, solidPng(3, 3, [1, 1, 1]));
    const copied = await new MediaStore(path.join(dir, 'a')).put({ file: src });
    expect(statSync(path.join(dir, 'a', copied.path)).ino).not.toBe(statSync(src).ino);
    const linked = await new MediaStore(path.join(dir, 'b')).put({ file: src }, { link: true });
    expect(statSync(path.join(dir, 'b', linked.path)).ino).toBe(statSync(src).ino);
  });
});
