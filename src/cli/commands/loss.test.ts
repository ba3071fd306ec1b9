import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../../../test/helpers/cli.ts';
import { initTf } from '../../nn/tf.ts';
import { fixtureFor } from '../../objectives/fixtures.test-support.ts';
import { lossFromInput, OBJECTIVE_NAMES, type ObjectiveName } from '../../objectives/index.ts';

/** A few real `mmalign loss` processes (one per objective would be slow); the rest go through lossFromInput. */
const tmp = tempDir();
afterAll(() => tmp.cleanup());
beforeAll(async () => {
  await initTf('cpu');
});

function write(name: string, data: unknown) {
  const file = path.join(tmp.dir, name);
  writeFileSync(file, JSON.stringify(data));
  return file;
}

describe('mmalign loss', () => {
  for (const name of ['dpo', 'grpo'] as ObjectiveName[]) {
    it(`${name}: prints {objective, loss, metrics} equal to the library call`, () => {
      const input = fixtureFor(name);
      const r = runCli(['loss', '--objective', name, '--input', write(`${name}.json`, input)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as { objective: string; loss: number; metrics: Record<string, number> };
      const lib = lossFromInput(name, input);
      expect(out.objective).toBe(name);
      expect(Object.keys(out.metrics)).toEqual(Object.keys(lib.metrics));
      // the bin runs on wasm, the library here on cpu: float32 agreement
      expect(Math.abs(out.loss - lib.loss)).toBeLessThan(1e-6 * Math.max(1, Math.abs(lib.loss)));
      for (const k of Object.keys(lib.metrics)) expect(Math.abs(out.metrics[k]! - lib.metrics[k]!)).toBeLessThan(1e-5);
    });
  }

  it('takes the objective from the file; errors name the objective, the field and the file', () => {
    const ok = runCli(['loss', '--input', write('obj.json', { ...fixtureFor('ipo'), objective: 'ipo' })]);
    expect(JSON.parse(ok.stdout).objective).toBe('ipo');
    const unknown = runCli(['loss', '--objective', 'dpx', '--input', write('u.json', fixtureFor('dpo'))]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      `unknown objective "dpx" (did you mean "dpo"?); known: ${OBJECTIVE_NAMES.join(', ')}`,
    );
    const { reference_rejected_logps: _, ...missing } = fixtureFor('dpo');
    const m = runCli(['loss', '--objective', 'dpo', '--input', write('m.json', missing)]);
    expect(m.code).toBe(1);
    expect(m.stderr).toContain('objective "dpo" needs field "reference_rejected_logps"');
  });
});
