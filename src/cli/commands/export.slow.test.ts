import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../../../test/helpers/cli.ts';

const INPUT = path.join(ROOT, 'src/export/golden/input/prefs.jsonl');
const tmp = tempDir('mmalign-cli-export-');
afterAll(() => tmp.cleanup());

describe('mmalign export (real bin)', () => {
  it('exports to LLaMA-Factory and prints the pre-flight summary', () => {
    const out = path.join(tmp.dir, 'lf');
    const r = runCli([
      'export',
      '--engine',
      'llamafactory',
      '--objective',
      'mpo',
      '--model',
      'Qwen/Qwen2-VL-7B-Instruct',
      INPUT,
      out,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'llamafactory / mpo (pref_loss: sigmoid + pref_bco_weight + pref_ftx): 10 records → 9 candidate rows',
    );
    expect(r.stdout).toContain('kept 7, fixed 2, dropped 4');
    expect(r.stdout).toContain('dropped p-imgpair (line 4)');
    const info = JSON.parse(readFileSync(path.join(out, 'data/dataset_info.json'), 'utf8'));
    expect(info.mmalign.ranking).toBe(true);
    expect(existsSync(path.join(out, 'README.md'))).toBe(true);
  });

  it('refuses an unsupported objective with the closest one, exit code 1', () => {
    const r = runCli([
      'export',
      '--engine',
      'trl',
      '--objective',
      'image_dpo',
      '--model',
      'm',
      INPUT,
      path.join(tmp.dir, 'x'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('mmalign: error: objective "image_dpo" is not supported by trl');
    expect(r.stderr).toContain('closest objective trl supports is "dpo"');
    expect(r.stderr).toContain('engines that support image_dpo: swift');
  });

  it('--dry-run --json prints the report and writes nothing', () => {
    const out = path.join(tmp.dir, 'dry');
    const r = runCli([
      'export',
      '--engine',
      'openrlhf',
      '--objective',
      'ipo',
      '--model',
      'm',
      INPUT,
      out,
      '--dry-run',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.kept).toBe(1);
    expect(report.droppedByReason.media_kind_unsupported).toBe(7);
    expect(existsSync(out)).toBe(false);
  });
});
