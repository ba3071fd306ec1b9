import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UnknownNameError } from '../util/errors.ts';
import { ENGINE_NAMES } from './engines.ts';
import {
  EXPORT_OBJECTIVE_NAMES,
  engineTableMarkdown,
  OBJECTIVE_ENGINES,
  resolveRecipe,
  UnsupportedObjectiveError,
} from './objective-map.ts';

describe('objective → engine mapping', () => {
  it('maps MPO to the documented multi-loss settings of each engine', () => {
    expect(resolveRecipe('trl', 'mpo').config).toEqual({
      loss_type: ['sigmoid', 'bco_pair', 'sft'],
      loss_weights: [0.8, 0.2, 1.0],
    });
    expect(resolveRecipe('swift', 'mpo').flags).toEqual({
      loss_type: ['sigmoid', 'bco_pair', 'sft'],
      loss_weights: [0.8, 0.2, 1.0],
    });
    const lf = resolveRecipe('llamafactory', 'mpo');
    expect(lf.stage).toBe('dpo');
    // LLaMA-Factory: (L_dpo + w·L_bco)/(1 + w) must give the 0.8 / 0.2 split.
    const w = lf.yaml.pref_bco_weight as number;
    expect(1 / (1 + w)).toBeCloseTo(0.8, 12);
    expect(w / (1 + w)).toBeCloseTo(0.2, 12);
    expect(lf.yaml.pref_ftx).toBe(1.0);
  });

  it('refuses an unsupported pair naming the closest supported objective and the engines that can', () => {
    let err: unknown;
    try {
      resolveRecipe('openrlhf', 'mpo');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedObjectiveError);
    const e = err as UnsupportedObjectiveError;
    expect(e.closest).toBe('mia_dpo');
    expect(e.message).toContain('"mpo" is not supported by openrlhf');
    expect(e.message).toContain('--objective mia_dpo');
    expect(e.message).toContain('engines that support mpo: trl, llamafactory, swift');
  });

  it('never names a closest objective the engine itself cannot train', () => {
    for (const o of EXPORT_OBJECTIVE_NAMES)
      for (const e of ENGINE_NAMES) {
        const entry = OBJECTIVE_ENGINES[o][e];
        if (!entry.supported) {
          expect(OBJECTIVE_ENGINES[entry.closest][e].supported, `${o}/${e} → ${entry.closest}`).toBe(true);
          expect(entry.closest).not.toBe(o);
        }
      }
  });

  it('rejects unknown objective and engine names with the known names', () => {
    expect(() => resolveRecipe('trl', 'dpoo')).toThrow(UnknownNameError);
    expect(() => resolveRecipe('trl', 'dpoo')).toThrow(/known: bt, dpo, robust/);
    expect(() => resolveRecipe('axolotl' as 'trl', 'dpo')).toThrow(/unknown engine "axolotl"/);
  });

  it('image_dpo trains on image pairs and only ms-swift has the input for it', () => {
    expect(resolveRecipe('swift', 'image_dpo').data).toBe('image_pairs');
    for (const e of ['trl', 'llamafactory', 'openrlhf'] as const)
      expect(() => resolveRecipe(e, 'image_dpo')).toThrow(UnsupportedObjectiveError);
  });

  it('covers exactly the objectives of src/objectives', async () => {
    const { OBJECTIVE_NAMES } = await import('../objectives/index.ts');
    expect([...EXPORT_OBJECTIVE_NAMES].sort()).toEqual([...OBJECTIVE_NAMES].sort());
  });

  it('docs/engines.md holds the table generated from the code', () => {
    const doc = readFileSync(new URL('../../docs/engines.md', import.meta.url), 'utf8');
    const m = doc.match(/<!-- BEGIN objective table[^>]*-->\n([\s\S]*?)\n<!-- END objective table -->/);
    expect(m, 'markers in docs/engines.md').not.toBeNull();
    expect(m?.[1]).toBe(engineTableMarkdown());
  });
});
