import type { z } from 'zod';
import { RecordValidationError, type ValidationIssue } from '../util/errors.ts';
import { unknownKeyMessage } from '../util/zod-keys.ts';
import { Preference, RECORD_SCHEMAS, type RecordType, Response, Sample } from './records.ts';

/**
 * Turn zod issues into ours, with the file, line and dotted field path of each. Given the schema, an unknown key is
 * reported on its own with the keys that exist there and the one probably meant.
 */
export function zodIssues(
  error: z.ZodError,
  where: { file?: string; line?: number } = {},
  schema?: z.ZodType,
): ValidationIssue[] {
  return error.issues.flatMap((i) => {
    const base = { code: `zod_${i.code}`, file: where.file, line: where.line };
    if (schema && i.code === 'unrecognized_keys')
      return i.keys.map((key) => ({
        ...base,
        message: unknownKeyMessage(schema, i.path, key),
        path: [...i.path, key].map(String).join('.'),
      }));
    return [{ ...base, message: i.message, path: i.path.map(String).join('.') || '(record)' }];
  });
}

/** Parse a value against a schema or throw one RecordValidationError listing every bad field. */
export function parseRecord<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: { file?: string; line?: number } = {},
): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new RecordValidationError(zodIssues(r.error, where));
  return r.data;
}

/** Check a preference's internal consistency, beyond what its shape says (spans inside the text, ranks per response…). */
export function preferenceIssues(p: Preference): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const issue = (path: string, message: string, code = 'inconsistent') => out.push({ code, path, message });
  const mediaCount = p.media.length;
  p.prompt.forEach((m, mi) => {
    if (typeof m.content === 'string') return;
    m.content.forEach((part, pi) => {
      if (part.type !== 'text' && part.media >= mediaCount)
        issue(`prompt.${mi}.content.${pi}.media`, `points at media #${part.media} but the record has ${mediaCount}`);
    });
  });
  switch (p.kind) {
    case 'ranking':
      if (p.ranks.length !== p.responses.length)
        issue('ranks', `${p.ranks.length} ranks for ${p.responses.length} responses`);
      break;
    case 'rubric':
      if (p.scores.length !== p.responses.length)
        issue('scores', `${p.scores.length} score sets for ${p.responses.length} responses`);
      break;
    case 'segments':
      p.segments.forEach((s, i) => {
        if (s.end < s.start || s.end > p.rejected.text.length)
          issue(
            `segments.${i}`,
            `span [${s.start}, ${s.end}) is outside the rejected text (length ${p.rejected.text.length})`,
          );
        else if (p.rejected.text.slice(s.start, s.end) !== s.text)
          issue(`segments.${i}.text`, `does not match the rejected text at [${s.start}, ${s.end})`);
      });
      break;
    default:
      break;
  }
  return out;
}

export function validateRecord(
  type: RecordType,
  value: unknown,
  where: { file?: string; line?: number } = {},
): ValidationIssue[] {
  const r = RECORD_SCHEMAS[type].safeParse(value);
  if (!r.success) return zodIssues(r.error, where);
  if (type === 'preference') return preferenceIssues(r.data as Preference).map((i) => ({ ...i, ...where }));
  return [];
}

/** Guess which record family an object is, from its keys. */
export function detectRecordType(value: unknown): RecordType | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if ('kind' in value && 'prompt' in value) return 'preference';
  if ('sampleId' in value && 'text' in value) return 'response';
  if ('messages' in value) return 'sample';
  return undefined;
}

export { Preference, Response, Sample };
