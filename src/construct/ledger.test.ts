import { appendFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { StageLedger } from './ledger.ts';

const line = (k: string) => `${JSON.stringify({ id: k, text: `t-${k}` })}\n`;
const item = (k: string) => ({
  key: k,
  lines: line(k),
  records: 1,
  usage: { requests: 1, promptTokens: 5, completionTokens: 2 },
});

describe('StageLedger', () => {
  const dirs: (() => void)[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) d();
  });
  const fresh = () => {
    const t = tempDir();
    dirs.push(t.cleanup);
    return t.dir;
  };

  it('commits items once, replays them on reopen, and totals usage', async () => {
    const dir = fresh();
    let l = await StageLedger.open(dir);
    l.commit([item('a'), item('b')]);
    l.commit([item('c')], [{ key: 'z', code: 'server_error', message: 'HTTP 500' }]);
    expect(() => l.commit([item('a')])).toThrow(/UNIQUE/);
    l.close();
    const out = path.join(dir, 'out.jsonl');
    expect(readFileSync(out, 'utf8')).toBe(line('a') + line('b') + line('c'));
    l = await StageLedger.open(dir);
    expect([...l.doneKeys()].sort()).toEqual(['a', 'b', 'c']);
    expect(l.repairReport).toEqual({ truncatedBytes: 0, reappended: 0, rebuilt: false });
    expect(l.totals()).toEqual({
      items: 3,
      records: 3,
      failed: 1,
      usage: { requests: 3, promptTokens: 15, completionTokens: 6 },
    });
    l.commit([item('z')]);
    expect(l.totals().failed).toBe(0);
    l.close();
  });

  it('cuts a torn last line left by a kill', async () => {
    const dir = fresh();
    let l = await StageLedger.open(dir);
    l.commit([item('a'), item('b')]);
    l.close();
    const out = path.join(dir, 'out.jsonl');
    appendFileSync(out, '{"id":"c","te');
    l = await StageLedger.open(dir);
    expect(l.repairReport).toEqual({ truncatedBytes: 13, reappended: 0, rebuilt: false });
    l.commit([item('c')]);
    l.close();
    expect(readFileSync(out, 'utf8')).toBe(line('a') + line('b') + line('c'));
  });

  it('re-appends committed lines the file lacks (killed between commit and write)', async () => {
    const dir = fresh();
    const l = await StageLedger.open(dir);
    l.commit([item('a')]);
    l.commit([item('b'), item('c')]);
    l.close();
    const out = path.join(dir, 'out.jsonl');
    const full = readFileSync(out, 'utf8');
    truncateSync(out, line('a').length + 5);
    const r = await StageLedger.open(dir);
    expect(r.repairReport).toEqual({ truncatedBytes: 5, reappended: 2, rebuilt: false });
    r.close();
    expect(readFileSync(out, 'utf8')).toBe(full);
  });

  it('rebuilds the file when it is not a prefix of the ledger', async () => {
    const dir = fresh();
    const l = await StageLedger.open(dir);
    l.commit([item('a'), item('b')]);
    l.close();
    const out = path.join(dir, 'out.jsonl');
    const full = readFileSync(out, 'utf8');
    writeFileSync(out, full.replace('t-b', 't-X'));
    const r = await StageLedger.open(dir);
    expect(r.repairReport.rebuilt).toBe(true);
    expect(r.repairReport.reappended).toBe(2);
    r.close();
    expect(readFileSync(out, 'utf8')).toBe(full);
  });

  it('keeps meta values', async () => {
    const dir = fresh();
    const l = await StageLedger.open(dir);
    expect(l.getMeta('x')).toBeUndefined();
    l.setMeta('x', '1');
    l.setMeta('x', '2');
    expect(l.getMeta('x')).toBe('2');
    l.close();
  });
});
