import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UnknownNameError } from '../util/errors.ts';
import { ENGINE_NAMES, versionIds } from './engines.ts';
import {
  EXPORT_OBJECTIVE_NAMES,
  engineTableMarkdown,
  entryFor,
  resolveRecipe,
  supportMatrixMarkdown,
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
    expect(e.message).toContain('"mpo" is not supported by openrlhf 0.11');
    expect(e.message).toContain('--objective mia_dpo');
    expect(e.message).toContain('engines that support mpo: trl, llamafactory, swift');
  });

  it('never names a closest objective the engine line itself cannot train', () => {
    let refusals = 0;
    for (const o of EXPORT_OBJECTIVE_NAMES)
      for (const e of ENGINE_NAMES)
        for (const v of versionIds(e)) {
          const entry = entryFor(o, e, v);
          if (entry.supported) continue;
          refusals++;
          expect(entryFor(entry.closest, e, v).supported, `${o}/${e} ${v} → ${entry.closest}`).toBe(true);
          expect(entry.closest).not.toBe(o);
        }
    expect(refusals).toBe(78); // 6 engine lines × 23 objectives = 138 cells, 60 supported (docs/engines.md)
  });

  it('kto: OpenRLHF 0.11 (no train_kto.py since 0.10) refuses it, naming dpo and the 0.9 line that has it', () => {
    expect(resolveRecipe('openrlhf', 'kto', '0.9').module).toBe('train_kto');
    expect(resolveRecipe('openrlhf', 'kto', '0.9.4').module).toBe('train_kto');
    let err: unknown;
    try {
      resolveRecipe('openrlhf', 'kto');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedObjectiveError);
    const e = err as UnsupportedObjectiveError;
    expect(e.version).toBe('0.11');
    expect(e.closest).toBe('dpo');
    expect(e.message).toContain('"kto" is not supported by openrlhf 0.11: OpenRLHF 0.10 removed train_kto.py');
    expect(e.message).toContain('--objective dpo');
    expect(e.message).toContain('openrlhf --engine-version 0.9 supports kto');
    expect(e.message).toContain('engines that support kto: trl, llamafactory, swift');
    expect(() => resolveRecipe('openrlhf', 'kto', '0.10.1')).toThrow(UnsupportedObjectiveError);
  });

  it('refuses an engine version no supported line covers, listing the lines', () => {
    expect(() => resolveRecipe('swift', 'dpo', '4.0.2')).toThrow(/no supported swift line covers "4.0.2"/);
    expect(() => resolveRecipe('swift', 'dpo', '4.0.2')).toThrow(/4 \(>= 4.1.0, < 5.0.0\), 3 \(>= 3.8.0, < 4.0.0\)/);
    expect(() => resolveRecipe('openrlhf', 'dpo', 'latest')).toThrow(/default: 0.11/);
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

  it('docs/engines.md holds the objective table and the support matrix generated from the code', () => {
    const doc = readFileSync(new URL('../../docs/engines.md', import.meta.url), 'utf8');
    for (const [name, generated] of [
      ['objective table', engineTableMarkdown()],
      ['support matrix', supportMatrixMarkdown()],
    ] as const) {
      const m = doc.match(new RegExp(`<!-- BEGIN ${name}[^>]*-->\\n([\\s\\S]*?)\\n<!-- END ${name} -->`));
      expect(m, `${name} markers in docs/engines.md`).not.toBeNull();
      expect(m?.[1], name).toBe(generated);
    }
  });
});
