import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { RecordValidationError } from '../util/errors.ts';
import { loadRecipe, parseRecipe, promptTasksOf } from './schema.ts';

const DEFAULT = 'recipes/shapes-hallucination.yaml';
/** the parts of the YAML document these tests edit */
interface RecipeDoc {
  seeds?: unknown;
  align: {
    stpes?: number;
    methods: Record<string, { data?: string; control?: string; scenario?: string; online?: { tasks?: string[] } }>;
  };
  construct: { sets: Record<string, { n?: unknown; judge?: string; tasks?: string[]; from?: string[] }> };
  compare: { control?: string };
}
const base = () => parseYaml(readFileSync(DEFAULT, 'utf8')) as RecipeDoc;

function issuesOf(value: unknown): { path?: string; message: string }[] {
  try {
    parseRecipe(value, { file: 'r.yaml' });
  } catch (e) {
    expect(e).toBeInstanceOf(RecordValidationError);
    return (e as RecordValidationError).issues;
  }
  throw new Error('the recipe was accepted');
}

describe('parseRecipe', () => {
  it('accepts the default recipe, and its quick mode overrides sizes only', () => {
    const full = loadRecipe(DEFAULT);
    const quick = loadRecipe(DEFAULT, { quick: true });
    expect(Object.keys(full.align.methods)).toEqual(Object.keys(quick.align.methods));
    expect(quick.align.methods.grpo.steps).toBeLessThan(full.align.methods.grpo.steps!);
    expect(quick.eval.limits).toEqual({ caption: 12, pope: 12, count: 12, arith: 12, safety: 12 });
    expect(full.align.methods.grpo.control).toBe('sft_chosen_self_xc');
  });

  it('names an unknown key and a wrong type with their paths', () => {
    const r = base();
    r.align.stpes = 3;
    r.construct.sets.self!.n = 'eight';
    const issues = issuesOf(r);
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining(['align', 'construct.sets.self.n']));
    expect(issues.map((i) => i.message).join('\n')).toMatch(/stpes/);
  });

  it('names a method whose data set or control does not exist', () => {
    const r = base();
    r.align.methods.dpo_self!.data = 'selff';
    r.align.methods.grpo!.control = 'sft_chosen_selff';
    r.compare.control = 'nope';
    const issues = issuesOf(r);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'align.methods.dpo_self.data', message: expect.stringMatching(/"selff"/) }),
        expect.objectContaining({
          path: 'align.methods.grpo.control',
          message: expect.stringMatching(/"sft_chosen_selff", not in align.methods/),
        }),
        expect.objectContaining({ path: 'compare.control' }),
      ]),
    );
  });

  it('refuses a judge the recipe cannot run', () => {
    const r = base();
    r.construct.sets.self!.judge = 'claims';
    expect(issuesOf(r).map((i) => i.path)).toContain('construct.sets.self.judge');
  });

  it('takes seeds and the scenarios of the default recipe, with the prompt tasks each scenario needs', () => {
    const r = base();
    r.seeds = [1, 2, 3];
    const parsed = parseRecipe(r);
    expect(parsed.seeds).toEqual([1, 2, 3]);
    expect(parsed.align.methods.mpo_safety.scenario).toBe('safety');
    expect(parsed.align.methods.grpo_reasoning.online?.tasks).toEqual(['count', 'arith']);
    expect(parsed.align.methods.dpo_self.scenario).toBe('hallucination');
    expect(promptTasksOf(parsed)).toEqual(['caption', 'count', 'arith', 'safety']);
  });

  it('names an unknown scenario, tasks that mix captions with other prompts, and a mix of an unknown set', () => {
    const r = base();
    r.align.methods.mpo_safety!.scenario = 'saftey';
    r.construct.sets.verified!.tasks = ['caption', 'count'];
    r.construct.sets.safety_mix!.from = ['self', 'nope'];
    const issues = issuesOf(r);
    expect(issues.map((i) => i.path)).toEqual(['align.methods.mpo_safety.scenario']);
    r.align.methods.mpo_safety!.scenario = 'safety';
    const more = issuesOf(r);
    expect(more.map((i) => i.path)).toEqual(['construct.sets.verified.tasks', 'construct.sets.safety_mix.from']);
    expect(more[1]!.message).toContain('"nope"');
  });
});
