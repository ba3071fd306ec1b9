import { describe, expect, it } from 'vitest';
import { RecordValidationError } from '../util/errors.ts';
import { parseConstructConfig } from './config.ts';
import { STAGES } from './stages/index.ts';

const models = { pol: { spec: 'openai:m@http://127.0.0.1:1/v1', policy: true } };
const parse = (v: unknown) => parseConstructConfig(v, STAGES, { file: 'c.yaml', dir: '/tmp' });
const issues = (v: unknown) => {
  try {
    parse(v);
  } catch (e) {
    if (e instanceof RecordValidationError) return e.issues.map((i) => `${i.file}: ${i.path}: ${i.message}`);
    throw e;
  }
  return [];
};

describe('construct config', () => {
  it('builds the stages with defaults, inputs chained in order', () => {
    const c = parse({
      models,
      stages: [
        { stage: 'source', shapeworld: { n: 3 } },
        { stage: 'responses', models: ['pol'], n: 2 },
      ],
    });
    expect(c.seed).toBe(0);
    expect(c.maxConsecutiveFailures).toBe(25);
    expect(c.models.pol).toMatchObject({ concurrency: 8, policy: true });
    expect(c.stages.map((s) => [s.name, s.type, s.input])).toEqual([
      ['source', 'source', undefined],
      ['responses', 'responses', 'source'],
    ]);
  });

  it('names an unknown key, at the top and inside a stage and a model', () => {
    // each names the key, the one probably meant and the keys that exist there
    expect(issues({ stages: [{ stage: 'source', shapeworld: { n: 1 } }], sed: 1 })).toEqual([
      expect.stringMatching(/^c\.yaml: sed: unknown key "sed" \(did you mean "seed"\?\); known keys here: run, seed, /),
    ]);
    expect(
      issues({
        models,
        stages: [
          { stage: 'source', shapeworld: { n: 1 } },
          { stage: 'responses', models: ['pol'], temprature: 1 },
        ],
      }),
    ).toEqual([
      expect.stringMatching(
        /^c\.yaml: stages\.1\.temprature: unknown key "temprature" \(did you mean "temperature"\?\); known keys here: .*\btemperature\b/,
      ),
    ]);
    expect(
      issues({ models: { a: { spec: 'x', conc: 2 } }, stages: [{ stage: 'source', shapeworld: { n: 1 } }] }),
    ).toEqual([
      expect.stringMatching(/^c\.yaml: models\.a\.conc: unknown key "conc"; known keys here: .*\bconcurrency\b/),
    ]);
    expect(issues({ stages: [{ stage: 'source', shapeworld: { n: 1, taks: [] } }] })).toEqual([
      expect.stringMatching(/^c\.yaml: stages\.0\.shapeworld\.taks: unknown key "taks" \(did you mean "tasks"\?\)/),
    ]);
  });

  it('lists the known stages for an unknown one, and checks models and inputs', () => {
    expect(issues({ stages: [{ stage: 'sorce' }] })).toEqual([
      `c.yaml: stages.0.stage: unknown stage "sorce" (did you mean "source"?); known: ${Object.keys(STAGES).join(', ')}`,
    ]);
    expect(issues({ models, stages: [{ stage: 'responses', models: ['pol'] }] })).toEqual([
      'c.yaml: stages.0: stage "responses" reads an earlier stage, but it comes first',
    ]);
    expect(
      issues({
        models,
        stages: [
          { stage: 'source', shapeworld: { n: 1 } },
          { stage: 'responses', models: ['nope'] },
        ],
      }),
    ).toEqual(['c.yaml: stages.1: responses: unknown model "nope"; models of this config: pol']);
    expect(
      issues({
        models,
        stages: [
          { stage: 'source', shapeworld: { n: 1 } },
          { stage: 'responses', models: ['pol'], input: 'later' },
        ],
      }),
    ).toEqual(['c.yaml: stages.1.input: "later" is not an earlier stage (earlier: source)']);
    expect(issues({ stages: [{ stage: 'source', shapeworld: { n: 1 }, files: ['a.jsonl'] }] })).toEqual([
      'c.yaml: stages.0: give exactly one of `shapeworld`, `files` or `images`',
    ]);
  });
});
