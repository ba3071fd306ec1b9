/**
 * Baseline for bench/studio-load.ts: a bare Hono endpoint doing the same durable SQLite insert as a studio
 * submission (WAL, synchronous=FULL, one transaction per request), with no auth, assignment or validation.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import Database from 'better-sqlite3';
import { Hono } from 'hono';

const db = new Database(process.argv[2]);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec(
  'CREATE TABLE IF NOT EXISTS submissions (id INTEGER PRIMARY KEY, client_id TEXT NOT NULL UNIQUE, label_json TEXT NOT NULL, created_at TEXT NOT NULL)',
);
const insert = db.prepare('INSERT INTO submissions (client_id, label_json, created_at) VALUES (?, ?, ?)');
const app = new Hono();
app.post('/submit', async (c) => {
  const b = (await c.req.json()) as { submissionId: string; label: unknown };
  db.transaction(() => insert.run(b.submissionId, JSON.stringify(b.label), new Date().toISOString()))();
  return c.json({ saved: true });
});
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => db.close()));
