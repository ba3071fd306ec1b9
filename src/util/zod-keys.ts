import type { z } from 'zod';
import { didYouMean } from './names.ts';

/**
 * The keys a (strict) object schema accepts at a path, read from zod's schema definition, so an "unrecognized key"
 * error can say which keys exist there and which one was probably meant. Wrappers (optional, default, pipe, lazy…)
 * are looked through; unions contribute the keys of all their object options.
 */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
  left?: z.ZodType;
  right?: z.ZodType;
  getter?: () => z.ZodType;
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Object schemas reachable at `path` (several for unions). */
function objectsAt(schema: z.ZodType, path: readonly PropertyKey[], depth = 0): Def[] {
  if (depth > 64) return [];
  const d = defOf(schema);
  switch (d.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return d.innerType ? objectsAt(d.innerType, path, depth + 1) : [];
    case 'pipe':
      return d.in ? objectsAt(d.in, path, depth + 1) : [];
    case 'lazy':
      return d.getter ? objectsAt(d.getter(), path, depth + 1) : [];
    case 'union':
      return (d.options ?? []).flatMap((o) => objectsAt(o, path, depth + 1));
    case 'intersection':
      return [d.left, d.right].flatMap((o) => (o ? objectsAt(o, path, depth + 1) : []));
  }
  if (path.length === 0) return d.type === 'object' ? [d] : [];
  const [head, ...rest] = path;
  if (d.type === 'object') {
    const child = d.shape?.[String(head)];
    return child ? objectsAt(child, rest, depth + 1) : [];
  }
  if (d.type === 'array' && d.element) return objectsAt(d.element, rest, depth + 1);
  if (d.type === 'record' && d.valueType) return objectsAt(d.valueType, rest, depth + 1);
  return [];
}

export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  for (const o of objectsAt(schema, path)) for (const k of Object.keys(o.shape ?? {})) keys.add(k);
  return [...keys];
}

/** `unknown key "stepz" (did you mean "steps"?); known keys here: a, b, …` */
export function unknownKeyMessage(schema: z.ZodType, path: readonly PropertyKey[], key: string): string {
  const known = knownKeysAt(schema, path);
  if (known.length === 0) return `unknown key "${key}"`;
  return `unknown key "${key}"${didYouMean(key, known)}; known keys here: ${known.join(', ')}`;
}
