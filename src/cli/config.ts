import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { assertTextFile } from '../io/text-safety.ts';
import { zodIssues } from '../schema/validate.ts';
import { MmalignError, RecordValidationError } from '../util/errors.ts';

/**
 * Command configs (`--config FILE`, YAML or JSON): read, parsed and checked the same way by every command, so a
 * missing file, a binary file, bad YAML or a misspelt key each gives one sentence naming the file (and the key,
 * with the keys that exist there).
 */

/** The parsed YAML/JSON of `file` (an object; `{}` for an empty file), or {} without a file. */
export async function readConfigFile(file: string | undefined): Promise<Record<string, unknown>> {
  if (!file) return {};
  const YAML = await import('yaml');
  assertTextFile(file, 'config', 'a config is a YAML or JSON text file');
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new MmalignError(
      'MMALIGN_NO_FILE',
      `cannot read the config: ${e.code === 'ENOENT' ? 'no such file' : e.message}`,
      {
        file,
        hint: 'check the path given to --config',
      },
    );
  });
  let raw: unknown;
  try {
    raw = YAML.parse(text) ?? {};
  } catch (e) {
    throw new MmalignError('MMALIGN_BAD_CONFIG', `not valid YAML/JSON: ${(e as Error).message.split('\n')[0]}`, {
      file,
      hint: 'a config is a YAML or JSON mapping of keys to values',
    });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new MmalignError('MMALIGN_BAD_CONFIG', 'the config must be a mapping of keys to values', { file });
  return raw as Record<string, unknown>;
}

/** Check `raw` against the command's config schema; every problem is listed with the file and the key. */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, file: string | undefined, command: string) {
  const r = schema.safeParse(raw);
  if (r.success) return r.data as z.output<S>;
  throw new RecordValidationError(
    zodIssues(r.error, { file: file ?? '(flags)' }, schema),
    `config keys are those listed; the flags of \`mmalign ${command} --help\` set the common ones`,
  );
}
