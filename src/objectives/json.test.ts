import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../nn/tf.ts';
import { fixtureFor, PAIRS, ROLLOUTS, TOKENS, UNPAIRED } from './fixtures.test-support.ts';
import {
  computeObjective,
  FIELDS,
  type FieldName,
  lossFromInput,
  OBJECTIVE_NAMES,
  OBJECTIVES,
  type ObjectiveBatch,
} from './index.ts';

beforeAll(async () => {
  await initTf('cpu');
});

/** Tensors built by hand, not through inputToBatch, so the JSON path is checked against the plain library call. */
function handBatch(input: Record<string, unknown>): ObjectiveBatch {
  const b: ObjectiveBatch = {};
  for (const [k, v] of Object.entries(input)) {
    if (!(k in FIELDS)) continue;
    b[k as FieldName] =
      typeof v === 'number'
        ? tf.scalar(v)
        : Array.isArray((v as unknown[])[0])
          ? tf.tensor2d(v as number[][])
          : tf.tensor1d(v as number[]);
  }
  return b;
}

describe('lossFromInput (what `mmalign loss` runs) equals the library call', () => {
  for (const name of OBJECTIVE_NAMES) {
    it(name, () => {
      const input = fixtureFor(name);
      const batch = handBatch(input);
      const lib = OBJECTIVES[name].fn(batch, input.params ?? {});
      const viaJson = lossFromInput(name, JSON.parse(JSON.stringify(input)));
      expect(viaJson).toEqual({ objective: name, loss: lib.loss.dataSync()[0], metrics: lib.metrics });
      lib.loss.dispose();
      for (const t of Object.values(batch)) t?.dispose();
    });
  }
});

describe('input errors say what is wrong and where', () => {
  it('unknown objective lists the known ones', () => {
    expect(() => lossFromInput('dpoo', PAIRS)).toThrow(
      `unknown objective "dpoo" (did you mean "dpo"?); known: ${OBJECTIVE_NAMES.join(', ')}`,
    );
  });
  it('unknown field names the file and lists the known fields', () => {
    expect(() => lossFromInput('dpo', { ...PAIRS, policy_chosen_logp: [1] }, 'in.json')).toThrow(
      /in\.json: policy_chosen_logp: unknown field "policy_chosen_logp" \(did you mean "policy_chosen_logps"\?\); known fields: beta, policy_chosen_logps/,
    );
  });
  it('a non-number names the field path', () => {
    expect(() => lossFromInput('dpo', { ...PAIRS, policy_rejected_logps: [-1, 'x', -2, -3] }, 'in.json')).toThrow(
      /in\.json: policy_rejected_logps\.1: /,
    );
  });
  it('a param the objective does not take lists the ones it does', () => {
    expect(() => lossFromInput('hinge', { ...PAIRS, params: { label_smoothing: 0.1 } })).toThrow(
      /objective "hinge": does not take param label_smoothing; it takes none/,
    );
    expect(() => lossFromInput('dpo', { ...PAIRS, params: { gama: 1 } })).toThrow(/gama/);
  });
  it('pairs of different lengths are refused; unpaired lists may differ', () => {
    expect(() => lossFromInput('dpo', { ...PAIRS, policy_rejected_logps: [-1, -2, -3] })).toThrow(
      /policy_chosen_logps has 4 entries but policy_rejected_logps has 3/,
    );
    expect(lossFromInput('kto', UNPAIRED).loss).toBeGreaterThan(0);
    expect(() => lossFromInput('kto', { ...UNPAIRED, beta: [0.1, 0.2, 0.3] })).toThrow(/beta must be one number/);
  });
  it('online shape errors name the fields', () => {
    expect(() => lossFromInput('grpo', { ...ROLLOUTS, rewards: [1, 0, 1, 0, 1, 0] })).toThrow(/group_size/);
    expect(
      lossFromInput('grpo', { ...ROLLOUTS, rewards: [1, 0, 0.4, 0.2, 0.2, 0.9], params: { group_size: 3 } }).loss,
    ).toBeCloseTo(lossFromInput('grpo', ROLLOUTS).loss, 6);
    expect(() => lossFromInput('grpo', { ...ROLLOUTS, rewards: [[1, 0]] })).toThrow(/2 rewards but 6 rows/);
  });
  it('ragged token rows are padded and masked like an explicit mask', () => {
    const { chosen_token_mask: cm, rejected_token_mask: rm, ...noMask } = TOKENS;
    const trim = (rows: number[][], mask: number[][]) => rows.map((r, i) => r.filter((_, t) => mask[i]![t] === 1));
    const ragged = {
      ...noMask,
      policy_chosen_token_logps: trim(TOKENS.policy_chosen_token_logps!, cm!),
      reference_chosen_token_logps: trim(TOKENS.reference_chosen_token_logps!, cm!),
      chosen_token_weights: trim(TOKENS.chosen_token_weights!, cm!),
      policy_rejected_token_logps: trim(TOKENS.policy_rejected_token_logps!, rm!),
      reference_rejected_token_logps: trim(TOKENS.reference_rejected_token_logps!, rm!),
      rejected_token_weights: trim(TOKENS.rejected_token_weights!, rm!),
    };
    expect(lossFromInput('dense_dpo', ragged).loss).toBeCloseTo(lossFromInput('dense_dpo', TOKENS).loss, 6);
  });
  it('computeObjective checks before computing: a rank error names the field', () => {
    const b = handBatch(PAIRS);
    b.policy_chosen_logps = tf.tensor2d([[1, 2, 3, 4]]);
    expect(() => computeObjective('dpo', b)).toThrow(/field policy_chosen_logps has shape \[1,4\], expected seq/);
    for (const t of Object.values(b)) t?.dispose();
  });
});

describe('docs/objectives.md', () => {
  it('has a table row for every objective in OBJECTIVES', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../docs/objectives.md', import.meta.url), 'utf8');
    for (const name of OBJECTIVE_NAMES) expect(doc, name).toMatch(new RegExp(`^\\| \`${name}\` \\|`, 'm'));
  });
});
