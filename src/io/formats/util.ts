import type { MediaRef } from '../../schema/index.ts';
import { type FromRowContext, RowError } from './types.ts';

/** Typed field access for foreign rows: each throws a RowError naming the field on a wrong type. */
export function obj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new RowError(field, `expected an object, got ${kindOf(v)}`);
  return v as Record<string, unknown>;
}

export function arr(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new RowError(field, `expected an array, got ${kindOf(v)}`);
  return v;
}

export function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new RowError(field, `expected a string, got ${kindOf(v)}`);
  return v;
}

export function optStr(v: unknown, field: string): string | undefined {
  return v === undefined || v === null ? undefined : str(v, field);
}

export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v === 'undefined' ? 'nothing (missing)' : `a ${typeof v}`;
}

/**
 * A media value as the field stores it: a path string, raw bytes, or the Hugging Face `Image` / `Video` struct
 * `{bytes, path}` (what `datasets` writes to parquet and JSON). Bytes win over the path when both are present, because
 * the path in a downloaded dataset usually points at the uploader's machine.
 */
export async function importMedia(
  v: unknown,
  field: string,
  ctx: FromRowContext,
  kind: MediaRef['kind'] = 'image',
): Promise<MediaRef> {
  if (typeof v === 'string') return ctx.media(v, field, kind);
  if (v instanceof Uint8Array) return bytesRef(v, field, ctx, kind);
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as { bytes?: unknown; path?: unknown };
    if (o.bytes instanceof Uint8Array) return bytesRef(o.bytes, field, ctx, kind);
    if (typeof o.path === 'string') return ctx.media(o.path, `${field}.path`, kind);
  }
  throw new RowError(field, `expected the ${kind} as a path, bytes or {bytes, path}, got ${kindOf(v)}`);
}

function bytesRef(b: Uint8Array, field: string, ctx: FromRowContext, kind: MediaRef['kind']): Promise<MediaRef> {
  if (kind !== 'image') throw new RowError(field, `embedded ${kind} bytes are not supported; give a path`);
  return ctx.imageBytes(b, field);
}
