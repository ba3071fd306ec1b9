import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENGINE_NAMES, ENGINES, type EngineName, type EngineVersion } from './engines.ts';
import { type PreparedExport, prepareExport } from './export.ts';
import {
  checkOptions,
  EngineFactsSchema,
  formatProblems,
  loadFacts,
  planOptions,
  shellCommandOptions,
  type WrittenOption,
} from './facts.ts';
import { supportedObjectives } from './objective-map.ts';
import type { ExportPlan } from './plan.ts';

/**
 * Every option every export writes — for each engine release line and each objective it supports, read back from the
 * written files — must be in that line's facts file with a legal value. The test names list the options found, per
 * line and surface. The second half proves the check can fail: deliberately wrong options are caught.
 */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const INPUT = path.join(HERE, 'golden', 'input', 'prefs.jsonl');
const MODEL = 'Qwen/Qwen2-VL-2B-Instruct';

interface LineExport {
  engine: EngineName;
  version: EngineVersion<EngineName>;
  objective: string;
  prepared: PreparedExport;
}

async function exportLine(engine: EngineName, version: EngineVersion<EngineName>, objective: string) {
  const prepared = await prepareExport({
    engine,
    engineVersion: version.id,
    objective,
    model: MODEL,
    data: INPUT,
    out: path.join(HERE, 'golden', 'never-written'),
  });
  return { engine, version, objective, prepared };
}

const lines: LineExport[] = [];
for (const engine of ENGINE_NAMES)
  for (const version of ENGINES[engine].versions as readonly EngineVersion<EngineName>[])
    for (const objective of supportedObjectives(engine, version.id as never))
      lines.push(await exportLine(engine, version, objective));

const planOf = (l: LineExport): ExportPlan => l.prepared.written?.plan as ExportPlan;

/** `name=value|value…` per option, over all objectives of one engine line and surface. */
function summary(options: WrittenOption[]): string {
  const byName = new Map<string, Set<string>>();
  for (const o of options) {
    const scalar = (x: unknown) => typeof x !== 'object' || x === null;
    const v =
      o.value === undefined || !(Array.isArray(o.value) || scalar(o.value))
        ? []
        : Array.isArray(o.value)
          ? o.value.map(String)
          : [String(o.value)];
    const set = byName.get(o.name) ?? new Set<string>();
    if (v.length) set.add(v.join(' '));
    byName.set(o.name, set);
  }
  return [...byName].map(([n, vs]) => (vs.size && vs.size <= 10 ? `${n}=${[...vs].join('|')}` : n)).join(', ');
}

describe('facts files', () => {
  it('one per engine line, each valid, naming its engine, line and sources', () => {
    const files = readdirSync(path.join(HERE, 'engines', 'facts')).sort();
    const named = ENGINE_NAMES.flatMap((e) =>
      (ENGINES[e].versions as readonly EngineVersion<EngineName>[]).map((v) => v.facts),
    ).sort();
    expect(files).toEqual(named);
    for (const e of ENGINE_NAMES)
      for (const v of ENGINES[e].versions as readonly EngineVersion<EngineName>[]) {
        const f = loadFacts(v.facts);
        expect([f.engine, f.version]).toEqual([e, v.id]);
        expect(f.sources.every((s) => s.note.length > 0)).toBe(true);
      }
  });

  it('reject a malformed file (an unknown option type)', () => {
    const bad = {
      ...loadFacts('trl-1.9.json'),
      surfaces: { DPOConfig: { source: 'x', options: { beta: 'number' } } },
    };
    expect(EngineFactsSchema.safeParse(bad).success).toBe(false);
  });
});

describe('every option an export writes is in its engine line’s facts', () => {
  const groups = new Map<string, { facts: string; options: WrittenOption[]; objectives: Set<string> }>();
  for (const l of lines) {
    const plan = planOf(l);
    for (const o of planOptions(l.engine, plan)) {
      const key = `${l.engine} ${l.version.id} ${o.surface}`;
      const g = groups.get(key) ?? { facts: l.version.facts, options: [], objectives: new Set<string>() };
      g.options.push(o);
      g.objectives.add(l.objective);
      groups.set(key, g);
    }
  }
  for (const [key, g] of groups)
    it(`${key} (${[...g.objectives].join(', ')}): ${summary(g.options)}`, () => {
      expect(formatProblems(checkOptions(loadFacts(g.facts), g.options))).toBe('');
    });

  it('covers every supported objective of every line (60 exports)', () => {
    expect(lines.length).toBe(60);
    expect(lines.every((l) => l.prepared.written !== undefined)).toBe(true);
  });
});

describe('the check fails when an export drifts from the engine', () => {
  const line = (engine: EngineName, version: string, objective: string) =>
    lines.find((l) => l.engine === engine && l.version.id === version && l.objective === objective) as LineExport;
  const launchOf = (l: LineExport) => planOf(l).files.find((f) => f.path === 'launch.sh')?.text as string;

  it('ms-swift 4 rejects --train_type (renamed --tuner_type in 4.1.0); ms-swift 3 rejects --tuner_type', () => {
    const four = launchOf(line('swift', '4', 'dpo'));
    expect(four).toContain('--tuner_type lora');
    const drifted = shellCommandOptions(four.replace('--tuner_type', '--train_type'), 'swift rlhf', 'rlhf');
    expect(checkOptions(loadFacts('swift-4.json'), drifted)).toEqual([
      expect.objectContaining({ kind: 'unknown_option', name: 'train_type' }),
    ]);
    const three = shellCommandOptions(launchOf(line('swift', '3', 'dpo')), 'swift rlhf', 'rlhf');
    expect(three.find((o) => o.name === 'train_type')?.value).toEqual(['lora']);
    expect(checkOptions(loadFacts('swift-3.json'), [{ surface: 'rlhf', name: 'tuner_type', value: ['lora'] }])).toEqual(
      [expect.objectContaining({ kind: 'unknown_option', name: 'tuner_type' })],
    );
  });

  it('OpenRLHF 0.11 rejects every flat flag of the 0.9 export, and 0.9 rejects the dotted ones', () => {
    const flat = planOptions('openrlhf', planOf(line('openrlhf', '0.9', 'ipo')));
    const dotted = planOptions('openrlhf', planOf(line('openrlhf', '0.11', 'ipo')));
    const unknownIn = (facts: string, opts: WrittenOption[]) =>
      checkOptions(loadFacts(facts), opts).filter((p) => p.kind === 'unknown_option').length;
    expect(unknownIn('openrlhf-0.11.json', flat)).toBe(flat.length);
    expect(unknownIn('openrlhf-0.9.json', dotted)).toBe(dotted.length);
  });

  it('catches an illegal value: ZeRO stage 7, a KTO batch of 1, a loss TRL does not have, a dtype list', () => {
    const facts011 = loadFacts('openrlhf-0.11.json');
    expect(checkOptions(facts011, [{ surface: 'train_dpo', name: 'ds.zero_stage', value: ['7'] }])).toEqual([
      expect.objectContaining({ kind: 'illegal_value', detail: '"7" is not one of 0, 1, 2, 3' }),
    ]);
    const trl = loadFacts('trl-1.9.json');
    expect(
      checkOptions(trl, [{ surface: 'KTOConfig', name: 'per_device_train_batch_size', value: 1 }])[0]?.detail,
    ).toBe('1 is below the minimum 2');
    expect(checkOptions(trl, [{ surface: 'DPOConfig', name: 'per_device_train_batch_size', value: 1 }])).toEqual([]);
    expect(checkOptions(trl, [{ surface: 'DPOConfig', name: 'loss_type', value: ['sigmoid', 'simpo'] }])).toEqual([
      expect.objectContaining({ kind: 'illegal_value', name: 'loss_type' }),
    ]);
    expect(
      checkOptions(loadFacts('swift-4.json'), [{ surface: 'rlhf', name: 'torch_dtype', value: ['bf16', 'fp16'] }])[0]
        ?.detail,
    ).toBe('takes one value, got 2');
    expect(
      checkOptions(facts011, [{ surface: 'train_dpo', name: 'model.ipo_enable', value: ['true'] }])[0]?.detail,
    ).toBe('a bare flag takes no value');
  });

  it('TRL KTO: the export writes a per-device batch of 2 and keep_start, and the facts refuse keep_end', () => {
    const kto = planOptions('trl', planOf(line('trl', '1.9', 'kto')));
    expect(kto.find((o) => o.name === 'per_device_train_batch_size')?.value).toBe(2);
    expect(kto.find((o) => o.name === 'truncation_mode')?.value).toBe('keep_start');
    expect(
      checkOptions(loadFacts('trl-1.9.json'), [{ surface: 'KTOConfig', name: 'truncation_mode', value: 'keep_end' }]),
    ).toHaveLength(1);
  });

  it('ms-swift margin: written on rm rows only; a margin on a DPO row is an unknown field', () => {
    const rm = planOptions('swift', planOf(line('swift', '4', 'bt')));
    expect(rm).toContainEqual({ surface: 'rows.rm', name: 'margin', value: undefined });
    for (const objective of ['dpo', 'mpo', 'image_dpo', 'orpo', 'simpo', 'kto'])
      expect(planOptions('swift', planOf(line('swift', '4', objective))).map((o) => o.name)).not.toContain('margin');
    expect(
      checkOptions(loadFacts('swift-4.json'), [{ surface: 'rows.dpo', name: 'margin', value: undefined }]),
    ).toEqual([expect.objectContaining({ kind: 'unknown_option', name: 'margin' })]);
  });

  it('an option for a surface the facts do not have (train_kto on OpenRLHF 0.11) is reported', () => {
    expect(
      checkOptions(loadFacts('openrlhf-0.11.json'), [{ surface: 'train_kto', name: 'beta', value: ['0.1'] }]),
    ).toEqual([expect.objectContaining({ kind: 'unknown_surface' })]);
  });
});
