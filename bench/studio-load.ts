/**
 * Load test of the annotation studio: N simulated annotators on loopback, each looping "next task → submit", for a
 * fixed time. Prints submissions/s, p50/p95 submit latency and lost submissions (acknowledged but not in the
 * database afterwards; must be 0), beside a baseline run in the same process: a bare Hono endpoint doing the same
 * durable SQLite insert.
 *
 *   npx tsx bench/studio-load.ts [--duration 30] [--annotators 50] [--tasks 1500]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { importRecords, openDb, putSettings } from '../src/studio/index.ts';
import { createUser } from '../src/studio/server/users.ts';
import { writeSampleSet } from '../src/studio/testkit.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface LoadResult {
  name: string;
  submissions: number;
  perSecond: number;
  p50: number;
  p95: number;
  errors: number;
  lost: number;
  duplicated: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function start(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Run `annotators` loops of `step` for `seconds`; `step` returns the submit latency in ms and the acked id. */
async function drive(
  annotators: number,
  seconds: number,
  step: (a: number, k: number) => Promise<{ ms: number; id: string } | 'done'>,
) {
  const lat: number[] = [];
  const acked: string[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: annotators }, async (_, a) => {
      for (let k = 0; performance.now() < end; k++) {
        try {
          const r = await step(a, k);
          if (r === 'done') return;
          lat.push(r.ms);
          acked.push(r.id);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((x, y) => x - y);
  return { lat, acked, errors, elapsed };
}

function countFound(dbFile: string, ids: string[]): { lost: number; duplicated: number } {
  const db = new Database(dbFile, { readonly: true });
  const q = db.prepare('SELECT COUNT(*) AS n FROM submissions WHERE client_id = ?');
  let lost = 0;
  let duplicated = 0;
  for (const id of ids) {
    const n = (q.get(id) as { n: number }).n;
    if (n === 0) lost++;
    if (n > 1) duplicated++;
  }
  db.close();
  return { lost, duplicated };
}

const json = (url: string, token: string | null, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

export async function runLoad(opts: { seconds: number; annotators: number; tasks: number }): Promise<LoadResult[]> {
  const work = mkdtempSync(path.join(tmpdir(), 'studio-load-'));
  try {
    const results: LoadResult[] = [];

    // Baseline: bare Hono + the same durable insert.
    const baseDb = path.join(work, 'baseline.db');
    const base = await start(['--import', 'tsx', path.join(ROOT, 'bench/studio-baseline-server.ts'), baseDb]);
    const b = await drive(opts.annotators, opts.seconds, async (a, k) => {
      const id = `b-${a}-${k}`;
      const t = performance.now();
      const res = await json(`${base.url}/submit`, null, { submissionId: id, label: { label: k % 2 === 0 } });
      await res.text();
      if (res.status !== 200) throw new Error(String(res.status));
      return { ms: performance.now() - t, id };
    });
    await stopChild(base.child);
    results.push({
      name: 'baseline: bare Hono + SQLite insert',
      submissions: b.acked.length,
      perSecond: b.acked.length / b.elapsed,
      p50: quantile(b.lat, 0.5),
      p95: quantile(b.lat, 0.95),
      errors: b.errors,
      ...countFound(baseDb, b.acked),
    });

    // The studio: auth, assignment, validation, the submission transaction.
    const dir = path.join(work, 'proj');
    const db = openDb(dir);
    const perSample = 4;
    importRecords(db, dir, writeSampleSet(path.join(work, 'data'), Math.ceil(opts.tasks / perSample), perSample), {
      type: 'binary',
    });
    putSettings(db, { overlap: opts.annotators });
    const tokens = Array.from({ length: opts.annotators }, (_, i) => createUser(db, `load${i}`, 'annotator').token);
    db.close();
    const studio = await start([path.join(ROOT, 'bin/mmalign.mjs'), 'studio', '--project', dir, '--port', '0']);
    const s = await drive(opts.annotators, opts.seconds, async (a, k) => {
      const next = (await (await json(`${studio.url}/api/next`, tokens[a], {})).json()) as { taskId?: number };
      if (!next.taskId) return 'done';
      const id = `s-${a}-${k}-load`;
      const t = performance.now();
      const res = await json(`${studio.url}/api/tasks/${next.taskId}/submit`, tokens[a], {
        submissionId: id,
        label: { label: k % 2 === 0 },
      });
      await res.text();
      if (res.status !== 200) throw new Error(String(res.status));
      return { ms: performance.now() - t, id };
    });
    await stopChild(studio.child);
    results.push({
      name: 'studio: next + submit (auth, assignment, zod, transaction)',
      submissions: s.acked.length,
      perSecond: s.acked.length / s.elapsed,
      p50: quantile(s.lat, 0.5),
      p95: quantile(s.lat, 0.95),
      errors: s.errors,
      ...countFound(path.join(dir, 'studio.db'), s.acked),
    });
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '30' },
      annotators: { type: 'string', default: '50' },
      tasks: { type: 'string', default: '1500' },
    },
  });
  const seconds = Number(values.duration);
  const annotators = Number(values.annotators);
  const tasks = Number(values.tasks);
  if (!(seconds > 0) || !(annotators > 0) || !(tasks > 0))
    throw new Error('--duration, --annotators, --tasks must be > 0');
  process.stdout.write(`studio-load: ${annotators} annotators, ${seconds} s per run, loopback\n`);
  void runLoad({ seconds, annotators, tasks }).then((rs) => {
    for (const r of rs)
      process.stdout.write(
        `${r.name}\n  ${r.perSecond.toFixed(1)} submissions/s (${r.submissions} in total), submit latency p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, errors ${r.errors}, lost ${r.lost}, duplicated ${r.duplicated}\n`,
      );
    if (rs.some((r) => r.lost > 0 || r.duplicated > 0)) process.exitCode = 1;
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
