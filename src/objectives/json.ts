import { z } from 'zod';
import { tf } from '../nn/tf.ts';
import { RecordValidationError, type ValidationIssue } from '../util/errors.ts';
import { didYouMean } from '../util/names.ts';
import { computeObjective, getObjective } from './registry.ts';
import { FIELD_NAMES, FIELDS, type FieldName, type ObjectiveBatch, ParamsSchema } from './types.ts';

/**
 * The JSON form of a batch (what `mmalign loss --input` reads): every field as plain arrays over the batch, plus
 * `params` and optionally `objective`. Per-token rows may be ragged: they are right-padded with 0 and, when the
 * batch has no mask for them, the mask is made from the row lengths.
 */

const num = z.number().refine(Number.isFinite, 'must be a finite number');
const seq = z.array(num);
const tok = z.array(z.array(num));
const SHAPE_SCHEMAS = {
  beta: z.union([num, seq]),
  seq,
  token: tok,
  rewards: z.union([seq, tok]),
} as const;
type SchemaOf<K extends FieldName> = (typeof SHAPE_SCHEMAS)[(typeof FIELDS)[K]['shape']];

function fieldSchema(name: FieldName) {
  return SHAPE_SCHEMAS[FIELDS[name].shape];
}

export const ObjectiveInputSchema = z.strictObject({
  objective: z.string().optional(),
  params: ParamsSchema.optional(),
  ...(Object.fromEntries(FIELD_NAMES.map((n) => [n, fieldSchema(n).optional()])) as {
    [K in FieldName]: z.ZodOptional<SchemaOf<K>>;
  }),
});
export type ObjectiveInput = z.infer<typeof ObjectiveInputSchema>;

/** Parse and validate raw JSON; issues name the file and the field path. */
export function parseObjectiveInput(raw: unknown, file?: string): ObjectiveInput {
  const r = ObjectiveInputSchema.safeParse(raw);
  if (r.success) return r.data;
  const issues = r.error.issues.flatMap((i): ValidationIssue[] =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((key) => ({ code: i.code, file, path: [...i.path, key].join('.'), message: misplaced(key, i.path) }))
      : [{ code: i.code, file, path: i.path.join('.'), message: i.message }],
  );
  throw new RecordValidationError(issues, 'see docs/objectives.md for the input fields');
}

const PARAM_NAMES = Object.keys(ParamsSchema.shape);
const TOP_LEVEL = [...FIELD_NAMES, 'params', 'objective'];

/** An unknown key: a batch field put in `params` (or a param at the top level) is told where it belongs. */
function misplaced(key: string, at: readonly PropertyKey[]): string {
  const inParams = at.length === 1 && at[0] === 'params';
  if (inParams && (FIELD_NAMES as readonly string[]).includes(key))
    return `"${key}" is a batch field, not a param: put it at the top level of the input, beside the log-probs`;
  if (!inParams && at.length === 0 && PARAM_NAMES.includes(key)) return `"${key}" is a param: put it inside "params"`;
  const known = inParams ? PARAM_NAMES : TOP_LEVEL;
  return `unknown ${inParams ? 'param' : 'field'} "${key}"${didYouMean(key, known)}; known ${inParams ? 'params' : 'fields'}: ${known.join(', ')}`;
}

/** Which mask a per-token field is padded under. */
function maskFor(name: FieldName): FieldName {
  if (name.includes('chosen')) return 'chosen_token_mask';
  if (name.includes('rejected')) return 'rejected_token_mask';
  return 'token_mask';
}

/** Turn parsed arrays into tensors (the caller disposes them). */
export function inputToBatch(input: ObjectiveInput): ObjectiveBatch {
  const batch: ObjectiveBatch = {};
  const derivedMasks = new Map<FieldName, number[][]>();
  for (const name of FIELD_NAMES) {
    const v = input[name];
    if (v === undefined) continue;
    const shape = FIELDS[name].shape;
    if (typeof v === 'number') batch[name] = tf.scalar(v);
    else if (shape === 'token' || (shape === 'rewards' && Array.isArray(v[0]))) {
      const rows = v as number[][];
      const T = Math.max(0, ...rows.map((r) => r.length));
      const ragged = rows.some((r) => r.length !== T);
      batch[name] = tf.tensor2d(
        rows.map((r) => [...r, ...new Array<number>(T - r.length).fill(0)]),
        [rows.length, T],
      );
      if (ragged && shape === 'token' && !name.endsWith('_mask') && !derivedMasks.has(maskFor(name)))
        derivedMasks.set(
          maskFor(name),
          rows.map((r) => [...new Array<number>(r.length).fill(1), ...new Array<number>(T - r.length).fill(0)]),
        );
    } else batch[name] = tf.tensor1d(v as number[]);
  }
  for (const [mask, rows] of derivedMasks)
    if (!batch[mask]) batch[mask] = tf.tensor2d(rows, [rows.length, rows[0]?.length ?? 0]);
  return batch;
}

export interface LossReport {
  objective: string;
  loss: number;
  metrics: Record<string, number>;
}

/** The library call behind `mmalign loss`: validate, compute, read back, dispose. */
export function lossFromInput(objective: string, raw: unknown, file?: string): LossReport {
  getObjective(objective);
  const input = parseObjectiveInput(raw, file);
  const batch = inputToBatch(input);
  try {
    const { loss, metrics } = computeObjective(objective, batch, input.params ?? {});
    const value = loss.dataSync()[0]!;
    loss.dispose();
    return { objective, loss: value, metrics };
  } finally {
    for (const t of Object.values(batch)) t?.dispose();
  }
}
