import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { runCachedStage, stableStringify, stageKey } from './cache.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanups.splice(0)) f();
});

describe('stage cache', () => {
  it('stableStringify ignores key order and undefined', () => {
    expect(stableStringify({ b: 1, a: [1, { d: 2, c: undefined }] })).toBe('{"a":[1,{"d":2}],"b":1}');
    expect(stageKey('s', { a: 1, b: 2 })).toBe(stageKey('s', { b: 2, a: 1 }));
    expect(stageKey('s', { a: 1 })).not.toBe(stageKey('s', { a: 2 }));
  });

  it('runs once, then returns the cached result; a crashed stage reruns in the same directory', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    let calls = 0;
    const a = await runCachedStage(dir, 'train', { lr: 1 }, async () => ++calls);
    const b = await runCachedStage(dir, 'train', { lr: 1 }, async () => ++calls);
    expect([a.cached, b.cached, b.result, calls]).toEqual([false, true, 1, 1]);
    let crashedDir = '';
    await expect(
      runCachedStage(dir, 'eval', {}, async (d) => {
        crashedDir = d;
        throw new Error('killed');
      }),
    ).rejects.toThrow('killed');
    const again = await runCachedStage(dir, 'eval', {}, async (d) => d);
    expect([again.cached, again.result]).toEqual([false, crashedDir]);
    expect(readdirSync(path.join(dir, 'stages')).length).toBe(2);
  });
});
