import { UnknownNameError } from './errors.ts';

/** Look a name up in one of the project's `as const` registries; the error lists the names the table holds. */
export function lookup<T extends Record<string, unknown>>(table: T, kind: string, name: string): T[keyof T] {
  if (!Object.hasOwn(table, name)) throw new UnknownNameError(kind, name, Object.keys(table));
  return table[name as keyof T];
}
