import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir } from '../../test/helpers/cli.ts';
import { openDb } from './server/db.ts';
import { importRecords } from './server/import.ts';
import { putSettings } from './server/settings.ts';
import { createUser } from './server/users.ts';
import { writeSampleSet } from './testkit.ts';

/** Start the real `mmalign studio` in a child process; resolves with its URL once it listens. */
function startChild(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'studio', '--project', dir, '--port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/[^/\s]+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d;
    });
    child.on('exit', (code) => reject(new Error(`studio exited (${code}) before listening: ${err}`)));
  });
}

const tmp = tempDir('studio-durable-');
afterAll(() => tmp.cleanup());

describe('durability', () => {
  it('SIGKILL while 5 annotators submit: after restart every acknowledged submission is there exactly once', async () => {
    const dir = path.join(tmp.dir, 'proj');
    const db = openDb(dir);
    importRecords(db, dir, writeSampleSet(path.join(tmp.dir, 'd'), 60, 4), { type: 'binary' });
    putSettings(db, { overlap: 5 });
    const tokens = Array.from({ length: 5 }, (_, i) => createUser(db, `a${i}`, 'annotator').token);
    db.close();

    let { child, url } = await startChild(dir);
    const acked: { token: string; task: number; id: string }[] = [];
    const unknown: { token: string; task: number; id: string; label: boolean }[] = [];
    let stop = false;
    const post = (base: string, token: string, p: string, body?: unknown) =>
      fetch(`${base}${p}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body ?? {}),
      });
    const worker = async (token: string, w: number) => {
      for (let k = 0; !stop; k++) {
        let task: number;
        try {
          const r = (await (await post(url, token, '/api/next')).json()) as { taskId?: number };
          if (!r.taskId) return;
          task = r.taskId;
        } catch {
          return;
        }
        const id = `w${w}-k${k}-durable`;
        const label = k % 2 === 0;
        try {
          const res = await post(url, token, `/api/tasks/${task}/submit`, { submissionId: id, label: { label } });
          if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
          acked.push({ token, task, id });
        } catch (e) {
          // No answer: the submission may or may not have been committed; the client retries it after restart.
          if (e instanceof Error && e.message.startsWith('status')) throw e;
          unknown.push({ token, task, id, label });
          return;
        }
      }
    };
    const workers = tokens.map((t, i) => worker(t, i));
    // Kill mid-stream: once a fair number are acknowledged (fsync per commit makes each take a few ms).
    for (let t = 0; acked.length < 40 && t < 100; t++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await Promise.all(workers);
    stop = true;
    expect(acked.length).toBeGreaterThan(20);

    ({ child, url } = await startChild(dir));
    try {
      // The client's retry with the same submissionId: saved once, whether or not the first attempt committed.
      for (const u of unknown) {
        const res = await post(url, u.token, `/api/tasks/${u.task}/submit`, {
          submissionId: u.id,
          label: { label: u.label },
        });
        expect(res.status).toBe(200);
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    const db2 = openDb(dir);
    const count = db2.prepare('SELECT COUNT(*) AS n FROM submissions WHERE client_id = ? AND undone_at IS NULL');
    for (const a of [...acked, ...unknown]) expect((count.get(a.id) as { n: number }).n, a.id).toBe(1);
    const total = (db2.prepare('SELECT COUNT(*) AS n FROM submissions').get() as { n: number }).n;
    expect(total).toBe(acked.length + unknown.length);
    expect(db2.pragma('integrity_check', { simple: true })).toBe('ok');
    db2.close();
  }, 60_000);
});
