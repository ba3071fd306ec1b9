import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { MmalignError } from '../util/errors.ts';

/**
 * Exactly-once bookkeeping of one stage: a SQLite ledger (WAL) that is the durable truth, and the stage's JSONL
 * output, which is a byte-exact replay of the ledger.
 *
 * A finished work item is committed in one transaction holding its key (UNIQUE: never twice), its output lines and
 * the byte offset where they end in the JSONL. Only then are the lines appended to the file. So at any kill point
 * the file is a prefix of the ledger's concatenated lines, possibly with a torn tail. Opening repairs it: truncate to
 * the last committed line boundary that the file reaches (after checking that line's bytes), then append the
 * committed lines the file lacks. Items in flight at the kill are not in the ledger and are simply redone; items in
 * the ledger are never redone.
 */

export interface LedgerUsage {
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

export interface CommitItem {
  key: string;
  /** serialized records, one JSON a line, each ending in "\n" */
  lines: string;
  records: number;
  usage?: LedgerUsage;
}

export interface RepairReport {
  /** bytes dropped from the end of the JSONL (a torn line, or lines written ahead of a lost commit) */
  truncatedBytes: number;
  /** committed items whose lines were (re)appended */
  reappended: number;
  /** the JSONL did not match the ledger and was rebuilt from it */
  rebuilt: boolean;
}

export interface LedgerTotals {
  items: number;
  records: number;
  failed: number;
  usage: LedgerUsage;
}

export interface FailureRow {
  key: string;
  attempts: number;
  code: string;
  message: string;
}

type Database = BetterSqlite3.Database;

/**
 * Fault injection for the crash tests: with MMALIGN_FAULT_STALL_MS=n, a commit pauses n ms after the transaction
 * and again halfway through writing the lines, so a SIGKILL at a random moment often lands in the windows that
 * need repair (committed but unwritten; torn line). Zero cost when unset.
 */
const STALL_MS = Number(process.env.MMALIGN_FAULT_STALL_MS ?? 0) || 0;
function stall(): void {
  if (STALL_MS > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, STALL_MS);
}

export class StageLedger {
  readonly db: Database;
  readonly outPath: string;
  #fd: number;
  #offset = 0;
  readonly #insert: BetterSqlite3.Statement;
  readonly #clearFail: BetterSqlite3.Statement;
  readonly #fail: BetterSqlite3.Statement;
  #repair: RepairReport = { truncatedBytes: 0, reappended: 0, rebuilt: false };

  private constructor(db: Database, outPath: string) {
    this.db = db;
    this.outPath = outPath;
    db.exec(`
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS done (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        lines TEXT NOT NULL,
        records INTEGER NOT NULL,
        end_offset INTEGER NOT NULL,
        requests INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS failed (
        key TEXT PRIMARY KEY, attempts INTEGER NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL
      );
    `);
    this.#insert = db.prepare(
      'INSERT INTO done (key, lines, records, end_offset, requests, prompt_tokens, completion_tokens) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#clearFail = db.prepare('DELETE FROM failed WHERE key = ?');
    this.#fail = db.prepare(
      `INSERT INTO failed (key, attempts, code, message) VALUES (?, 1, ?, ?)
       ON CONFLICT(key) DO UPDATE SET attempts = attempts + 1, code = excluded.code, message = excluded.message`,
    );
    // r+ (not a+): positioned writes must land at the repaired offset, which O_APPEND would ignore
    closeSync(openSync(outPath, 'a'));
    this.#fd = openSync(outPath, 'r+');
    this.#repairOutput();
  }

  /** Open (or create) the ledger `dir/ledger.sqlite` and the output `dir/<outName>`, repairing the output. */
  static async open(dir: string, outName = 'out.jsonl', opts: { durable?: boolean } = {}): Promise<StageLedger> {
    mkdirSync(dir, { recursive: true });
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(path.join(dir, 'ledger.sqlite'));
    db.pragma('journal_mode = WAL');
    // FULL: a commit survives power loss; NORMAL: it survives a killed process (the case the tests cover)
    db.pragma(`synchronous = ${opts.durable ? 'FULL' : 'NORMAL'}`);
    db.pragma('busy_timeout = 5000');
    return new StageLedger(db, path.join(dir, outName));
  }

  get repairReport(): RepairReport {
    return this.#repair;
  }

  #size(): number {
    return fstatSync(this.#fd).size;
  }

  #readAt(start: number, length: number): string {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(this.#fd, buf, got, length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    return buf.toString('utf8', 0, got);
  }

  #repairOutput(): void {
    const size = this.#size();
    // last committed item the file fully reaches
    const row = this.db
      .prepare('SELECT seq, lines, end_offset FROM done WHERE end_offset <= ? ORDER BY seq DESC LIMIT 1')
      .get(size) as { seq: number; lines: string; end_offset: number } | undefined;
    let keepSeq = row?.seq ?? 0;
    let keepBytes = row?.end_offset ?? 0;
    if (row) {
      const len = Buffer.byteLength(row.lines);
      if (this.#readAt(row.end_offset - len, len) !== row.lines) {
        // the file is not a prefix of the ledger (edited by hand, or a power cut reordered writes): rebuild
        keepSeq = 0;
        keepBytes = 0;
        this.#repair.rebuilt = true;
      }
    }
    if (size !== keepBytes) {
      this.#repair.truncatedBytes = Math.max(0, size - keepBytes);
      ftruncateSync(this.#fd, keepBytes);
    }
    this.#offset = keepBytes;
    const rest = this.db
      .prepare('SELECT lines, end_offset FROM done WHERE seq > ? ORDER BY seq')
      .iterate(keepSeq) as Iterable<{
      lines: string;
      end_offset: number;
    }>;
    for (const r of rest) {
      this.#append(r.lines);
      if (this.#offset !== r.end_offset)
        throw new MmalignError(
          'MMALIGN_LEDGER',
          `ledger of ${this.outPath} is inconsistent (offset ${this.#offset} ≠ ${r.end_offset}); delete the stage folder to redo it`,
        );
      this.#repair.reappended++;
    }
    if (this.#repair.reappended) fsyncSync(this.#fd);
  }

  #append(text: string | Buffer): void {
    const buf = typeof text === 'string' ? Buffer.from(text) : text;
    let written = 0;
    while (written < buf.length)
      written += writeSync(this.#fd, buf, written, buf.length - written, this.#offset + written);
    this.#offset += buf.length;
  }

  /** Keys of items already committed (never to be redone). */
  doneKeys(): Set<string> {
    const out = new Set<string>();
    for (const r of this.db.prepare('SELECT key FROM done').iterate() as Iterable<{ key: string }>) out.add(r.key);
    return out;
  }

  /**
   * Commit finished items in one transaction, then append their lines to the JSONL. A key already committed is
   * rejected (the runner never sends one; this guards the invariant).
   */
  commit(items: readonly CommitItem[], failures: readonly { key: string; code: string; message: string }[] = []): void {
    if (items.length === 0 && failures.length === 0) return;
    let end = this.#offset;
    const txn = this.db.transaction(() => {
      for (const f of failures) this.#fail.run(f.key, f.code, f.message);
      for (const it of items) {
        end += Buffer.byteLength(it.lines);
        const u = it.usage ?? { requests: 0, promptTokens: 0, completionTokens: 0 };
        this.#insert.run(it.key, it.lines, it.records, end, u.requests, u.promptTokens, u.completionTokens);
        this.#clearFail.run(it.key);
      }
    });
    txn();
    if (items.length === 0) return;
    const text = items.map((i) => i.lines).join('');
    if (STALL_MS > 0) {
      stall();
      const buf = Buffer.from(text);
      const half = buf.length >> 1;
      this.#append(buf.subarray(0, half));
      stall();
      this.#append(buf.subarray(half));
    } else this.#append(text);
  }

  recordFailure(key: string, code: string, message: string): void {
    this.#fail.run(key, code, message);
  }

  failures(limit = 20): FailureRow[] {
    return this.db
      .prepare('SELECT key, attempts, code, message FROM failed ORDER BY key LIMIT ?')
      .all(limit) as FailureRow[];
  }

  totals(): LedgerTotals {
    const d = this.db
      .prepare(
        'SELECT COUNT(*) AS items, COALESCE(SUM(records),0) AS records, COALESCE(SUM(requests),0) AS requests, COALESCE(SUM(prompt_tokens),0) AS pt, COALESCE(SUM(completion_tokens),0) AS ct FROM done',
      )
      .get() as { items: number; records: number; requests: number; pt: number; ct: number };
    const f = this.db.prepare('SELECT COUNT(*) AS n FROM failed').get() as { n: number };
    return {
      items: d.items,
      records: d.records,
      failed: f.n,
      usage: { requests: d.requests, promptTokens: d.pt, completionTokens: d.ct },
    };
  }

  getMeta(k: string): string | undefined {
    return (this.db.prepare('SELECT v FROM meta WHERE k = ?').get(k) as { v: string } | undefined)?.v;
  }

  setMeta(k: string, v: string): void {
    this.db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v').run(k, v);
  }

  close(): void {
    try {
      fsyncSync(this.#fd);
    } finally {
      closeSync(this.#fd);
      this.db.close();
    }
  }
}
