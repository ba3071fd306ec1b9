import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/**
 * The project's SQLite file. WAL + synchronous=FULL: a submission's transaction is on disk (WAL fsynced) before
 * the HTTP answer leaves, so neither a killed process nor a power cut loses an acknowledged label.
 */
export type Db = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('annotator', 'admin')),
  token_hash TEXT UNIQUE NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
  id INTEGER PRIMARY KEY, ext_id TEXT UNIQUE NOT NULL, type TEXT NOT NULL,
  sample_json TEXT NOT NULL, responses_json TEXT NOT NULL, created_at TEXT NOT NULL,
  n_assigned INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS tasks_open ON tasks (n_assigned, id);
CREATE TABLE IF NOT EXISTS suggestions (
  task_id INTEGER NOT NULL REFERENCES tasks(id), judge TEXT NOT NULL, label_json TEXT NOT NULL,
  PRIMARY KEY (task_id, judge));
CREATE TABLE IF NOT EXISTS assignments (
  task_id INTEGER NOT NULL REFERENCES tasks(id), user_id INTEGER NOT NULL REFERENCES users(id),
  order_json TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('open', 'done')), assigned_at TEXT NOT NULL,
  PRIMARY KEY (task_id, user_id));
CREATE INDEX IF NOT EXISTS assignments_user ON assignments (user_id, status);
CREATE TABLE IF NOT EXISTS drafts (
  task_id INTEGER NOT NULL, user_id INTEGER NOT NULL, draft_json TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (task_id, user_id));
CREATE TABLE IF NOT EXISTS submissions (
  id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, task_id INTEGER NOT NULL REFERENCES tasks(id),
  user_id INTEGER NOT NULL REFERENCES users(id), label_json TEXT NOT NULL, order_json TEXT NOT NULL,
  created_at TEXT NOT NULL, undone_at TEXT, UNIQUE (user_id, client_id));
CREATE UNIQUE INDEX IF NOT EXISTS submissions_live ON submissions (task_id, user_id) WHERE undone_at IS NULL;
CREATE TABLE IF NOT EXISTS adjudications (
  task_id INTEGER PRIMARY KEY REFERENCES tasks(id), user_id INTEGER NOT NULL REFERENCES users(id),
  label_json TEXT NOT NULL, created_at TEXT NOT NULL);
`;

export function projectPaths(dir: string) {
  return { db: path.join(dir, 'studio.db'), media: path.join(dir, 'media') };
}

export function openDb(dir: string): Db {
  mkdirSync(dir, { recursive: true });
  const db = new Database(projectPaths(dir).db);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  return db;
}

const statements = new WeakMap<Db, Map<string, Database.Statement>>();
/** A prepared statement, compiled once per connection: the submit path runs a handful per request. */
export function q(db: Db, sql: string): Database.Statement {
  let m = statements.get(db);
  if (!m) {
    m = new Map();
    statements.set(db, m);
  }
  let st = m.get(sql);
  if (!st) {
    st = db.prepare(sql);
    m.set(sql, st);
  }
  return st;
}
