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
      'llamafactory 0.9.5 / mpo (pref_loss: sigmoid + pref_bco_weight + pref_ftx): 10 records → 9 candidate rows',
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

  it('--engine-version picks the release line: OpenRLHF 0.9 flat flags and train_kto, 0.11 refuses kto', () => {
    const out = path.join(tmp.dir, 'or-09-kto');
    const args = ['export', '--engine', 'openrlhf', '--objective', 'kto', '--model', 'm', INPUT];
    const old = runCli([...args, out, '--engine-version', '0.9']);
    expect(old.stderr).toBe('');
    expect(old.code).toBe(0);
    expect(old.stdout).toContain('openrlhf 0.9 / kto (train_kto)');
    const launch = readFileSync(path.join(out, 'launch.sh'), 'utf8');
    expect(launch).toContain('--module openrlhf.cli.train_kto \\\n  --pretrain m \\\n');
    expect(launch).toContain('# Targets OpenRLHF before v0.10.0, flat flags, --engine-version 0.9');
    const now = runCli([...args, path.join(tmp.dir, 'or-011-kto')]);
    expect(now.code).toBe(1);
    expect(now.stderr).toContain(
      'objective "kto" is not supported by openrlhf 0.11: OpenRLHF 0.10 removed train_kto.py',
    );
    expect(now.stderr).toContain('closest objective openrlhf supports is "dpo"');
    expect(now.stderr).toContain('openrlhf --engine-version 0.9 supports kto');
    const unknown = runCli([...args, path.join(tmp.dir, 'x2'), '--engine-version', '0.7']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no supported openrlhf line covers "0.7"');
    expect(unknown.stderr).toContain('0.11 (>= 0.10.0, < 0.12.0), 0.9 (>= 0.8.0, < 0.10.0)');
  });

  it('--help lists the engine lines from the version tables', () => {
    const r = runCli(['export', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('trl 1.9 | llamafactory 0.9.5 | swift 4, 3 | openrlhf 0.11, 0.9');
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
    expect([report.engineVersion, report.engineRelease]).toEqual(['0.11', 'v0.11.0']);
    expect(report.kept).toBe(1);
    expect(report.droppedByReason.media_kind_unsupported).toBe(7);
    expect(existsSync(out)).toBe(false);
  });
});
