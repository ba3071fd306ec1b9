import { describe, expect, it } from 'vitest';
import { runLoad } from './studio-load.ts';

describe('bench/studio-load (smoke: 8 annotators, 2 s)', () => {
  it('runs the baseline and the studio, and loses or doubles nothing', async () => {
    const rs = await runLoad({ seconds: 2, annotators: 8, tasks: 60 });
    expect(rs.map((r) => r.name)).toEqual([expect.stringMatching(/^baseline/), expect.stringMatching(/^studio/)]);
    for (const r of rs) {
      expect(r.submissions).toBeGreaterThan(0);
      expect(r.errors).toBe(0);
      expect(r.lost).toBe(0);
      expect(r.duplicated).toBe(0);
      expect(r.p95).toBeGreaterThanOrEqual(r.p50);
    }
  }, 60_000);
});
