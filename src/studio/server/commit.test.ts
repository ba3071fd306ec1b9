import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/cli.ts';
import { groupCommit } from './commit.ts';
import { type Db, openDb } from './db.ts';

let tmp: ReturnType<typeof tempDir>;
let db: Db;
beforeEach(() => {
  tmp = tempDir('studio-commit-');
  db = openDb(tmp.dir);
  db.exec('CREATE TABLE t (v INTEGER UNIQUE)');
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

describe('groupCommit', () => {
  it('shares one transaction per turn, rolls back only the failing write, settles after COMMIT', async () => {
    const commit = groupCommit(db);
    const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
    const seen: boolean[] = [];
    const jobs = [1, 2, 2, 3].map((v) =>
      commit(() => {
        seen.push(db.inTransaction);
        ins.run(v);
        return v;
      }),
    );
    const out = await Promise.allSettled(jobs);
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((out[2] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(seen).toEqual([true, true, true, true]);
    // Settled means committed: a second connection sees the rows.
    const other = openDb(tmp.dir);
    expect(other.prepare('SELECT v FROM t ORDER BY v').all()).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
    other.close();
    expect(db.inTransaction).toBe(false);
  });
});
