import type { MediaRef } from '../../schema/index.ts';
import { detectRecordType } from '../../schema/index.ts';
import { MEDIA_BYTE_COLUMNS, recordColumns } from '../parquet.ts';
import {
  type AnyRecord,
  type FormatSpec,
  type FromRowContext,
  type Row,
  RowError,
  type ToRowContext,
} from './types.ts';
import { obj } from './util.ts';

/**
 * mmalign's own records, lossless: JSONL (one record a line, as the schema defines it) or parquet (the wide column
 * layout of `recordColumns()`; `embedMedia` stores image bytes in `media_bytes` / `rejected_media_bytes`). Writing
 * copies the media next to the output under the same content-addressed paths.
 */
async function placeRefs(
  list: MediaRef[] | undefined,
  key: string,
  ctx: ToRowContext,
): Promise<MediaRef[] | undefined> {
  if (!list) return list;
  const out: MediaRef[] = [];
  for (const [i, ref] of list.entries()) {
    const field = `${key}.${i}`;
    if (ref.kind === 'video' && ref.frames) {
      const frames = [];
      for (const [j, f] of ref.frames.entries())
        frames.push({ ...f, path: await ctx.media(f, `${field}.frames.${j}`) });
      out.push({ ...ref, frames, ...(ref.path !== undefined ? { path: await ctx.media(ref, field) } : {}) });
    } else out.push({ ...ref, path: await ctx.media(ref, field) } as MediaRef);
  }
  return out;
}

async function checkRefs(list: unknown, key: string, ctx: FromRowContext): Promise<void> {
  if (!Array.isArray(list)) return;
  for (const [i, ref] of list.entries()) {
    if (!ref || typeof ref !== 'object') continue;
    const r = ref as { kind?: unknown; path?: unknown; sha256?: unknown };
    if (typeof r.path !== 'string' || (r.kind !== 'image' && r.kind !== 'video' && r.kind !== 'audio')) continue;
    const got = await ctx.media(r.path, `${key}.${i}.path`, r.kind);
    if (typeof r.sha256 === 'string' && got.sha256 !== undefined && got.sha256 !== r.sha256)
      throw new RowError(
        `${key}.${i}.sha256`,
        `${r.path}: file sha256 ${got.sha256} does not match the record`,
        'media_sha256',
      );
  }
}

export const mmalign: FormatSpec<'any'> = {
  description:
    'mmalign records (Sample / Response / Preference), lossless; JSONL or parquet (optionally with embedded images)',
  holds: 'any',
  defaultExt: '.jsonl',
  writes: ['.jsonl', '.json', '.parquet'],
  parquetColumns: recordColumns(),
  async toRow(record, ctx) {
    const rec = { ...record } as AnyRecord & { rejectedMedia?: MediaRef[] };
    if ('media' in rec) rec.media = (await placeRefs(rec.media, 'media', ctx)) ?? [];
    if (rec.rejectedMedia) rec.rejectedMedia = await placeRefs(rec.rejectedMedia, 'rejectedMedia', ctx);
    if (ctx.container !== '.parquet') return { row: rec as Row };
    const row: Row = { record_type: detectRecordType(rec), ...rec };
    if (ctx.options.embedMedia) {
      for (const [key, col] of Object.entries(MEDIA_BYTE_COLUMNS)) {
        const list = (record as Record<string, unknown>)[key] as MediaRef[] | undefined;
        if (!list?.length) continue;
        const bytes: (Uint8Array | null)[] = [];
        for (const [i, ref] of list.entries())
          bytes.push(ref.kind === 'image' ? await ctx.mediaBytes(ref, `${key}.${i}`) : null);
        row[col] = bytes;
      }
    }
    return { row };
  },
  async fromRow(row, ctx) {
    const r = { ...obj(row, '(row)') };
    if ('record_type' in r) {
      // A parquet row: drop the absent (null) fields and the layout-only columns, restore embedded media.
      const blobs: Partial<Record<keyof typeof MEDIA_BYTE_COLUMNS, unknown>> = {};
      for (const [key, col] of Object.entries(MEDIA_BYTE_COLUMNS) as [keyof typeof MEDIA_BYTE_COLUMNS, string][]) {
        blobs[key] = r[col];
        delete r[col];
      }
      delete r.record_type;
      for (const k of Object.keys(r)) if (r[k] === null) delete r[k];
      for (const [key, list] of Object.entries(blobs)) {
        if (!Array.isArray(list)) continue;
        const refs = r[key] as MediaRef[] | undefined;
        for (const [i, b] of list.entries()) {
          const ref = refs?.[i];
          if (b instanceof Uint8Array && ref && ref.path !== undefined) await ctx.restore(ref, b, `${key}.${i}`);
        }
      }
    }
    await checkRefs(r.media, 'media', ctx);
    await checkRefs(r.rejectedMedia, 'rejectedMedia', ctx);
    return r as unknown as AnyRecord;
  },
};
