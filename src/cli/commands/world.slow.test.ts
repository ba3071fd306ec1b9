import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../../../test/helpers/cli.ts';
import { TASK_NAMES } from '../../world/index.ts';

const tmp = tempDir('mmalign-world-cli-');
afterAll(() => tmp.cleanup());

describe('mmalign world', () => {
  it('writes samples.jsonl, media/ and world.json from a YAML config; same seed → same files', () => {
    const out1 = path.join(tmp.dir, 'w1');
    const out2 = path.join(tmp.dir, 'w2');
    const good = path.join(tmp.dir, 'good.yaml');
    writeFileSync(good, 'objects:\n  min: 3\n  max: 4\ncaptionNoise:\n  train: 0\n');
    const args = ['--n', '12', '--seed', '3', '--tasks', 'caption,pope,arith', '--split', 'both', '--size', '40'];
    args.push('--config', good);
    const r1 = runCli(['world', ...args, '--out', out1]);
    expect(r1.stderr).not.toMatch(/error/);
    expect(r1.code).toBe(0);
    expect(r1.stdout).toMatch(/wrote 72 samples/);
    expect(runCli(['world', ...args, '--out', out2]).code).toBe(0);
    const m1 = JSON.parse(readFileSync(path.join(out1, 'world.json'), 'utf8'));
    expect(m1.counts).toEqual({
      train: { caption: 12, pope: 12, arith: 12 },
      test: { caption: 12, pope: 12, arith: 12 },
    });
    expect(m1.config.imageSize).toBe(40);
    expect(m1.config.objects).toEqual({ min: 3, max: 4 });
    expect(readFileSync(path.join(out2, 'world.json'), 'utf8')).toBe(
      readFileSync(path.join(out1, 'world.json'), 'utf8'),
    );
    expect(readFileSync(path.join(out2, 'samples.jsonl'))).toEqual(readFileSync(path.join(out1, 'samples.jsonl')));
  });

  it('names the config file and field when the config is wrong', () => {
    const bad = path.join(tmp.dir, 'bad.yaml');
    writeFileSync(bad, 'objects:\n  min: zero\n');
    const r = runCli(['world', '--n', '5', '--config', bad, '--out', path.join(tmp.dir, 'w4')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml.*objects\.min/);
  });

  it('fails with exit 1 and the known task names on an unknown task', () => {
    const r = runCli(['world', '--n', '5', '--tasks', 'caption,popes', '--out', path.join(tmp.dir, 'w5')]);
    expect(r.code).toBe(1);
    // the list is the world's task table, in its order
    expect(r.stderr).toContain(`unknown task "popes" (did you mean "pope"?); known: ${TASK_NAMES.join(', ')}`);
    expect(TASK_NAMES.slice(0, 3)).toEqual(['caption', 'pope', 'exist']);
  });

  it('rejects a bad --split', () => {
    const r = runCli(['world', '--n', '2', '--split', 'dev', '--out', tmp.dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown split "dev"/);
  });

  it('lists the tasks in --help', () => {
    const r = runCli(['world', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Tasks:\n\s+caption .*\n\s+pope /);
  });
});
