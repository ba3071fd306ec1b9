import type { Db } from './db.ts';

/**
 * Group commit: writes that arrive in the same event-loop turn share one SQLite transaction (and so one WAL fsync),
 * each inside its own savepoint so one failing write rolls back alone. A caller's promise settles only after the
 * shared COMMIT returns, so "saved" still means on disk; throughput grows with concurrency instead of being capped
 * at one fsync per request.
 */
export function groupCommit(db: Db): <T>(work: () => T) => Promise<T> {
  type Job = { work: () => unknown; ok: (v: unknown) => void; fail: (e: unknown) => void };
  let queue: Job[] = [];
  const flush = () => {
    const jobs = queue;
    queue = [];
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      db.transaction(() => {
        for (const j of jobs) {
          try {
            // A nested better-sqlite3 transaction is a SAVEPOINT: released on success, rolled back on throw.
            outcomes.push({ ok: true, value: db.transaction(j.work)() });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      })();
    } catch (error) {
      for (const j of jobs) j.fail(error);
      return;
    }
    jobs.forEach((j, i) => {
      const o = outcomes[i];
      if (o.ok) j.ok(o.value);
      else j.fail(o.error);
    });
  };
  return function commit<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({ work, ok: resolve as (v: unknown) => void, fail: reject });
    });
  };
}
