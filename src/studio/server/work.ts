import { randomInt } from 'node:crypto';
import { type Db, q } from './db.ts';
import type { Settings } from './settings.ts';
import { LabelError, type StoredMedia, type TaskData, type TaskTypeName, taskType } from './tasks/index.ts';
import type { User } from './users.ts';

/** A refusal the HTTP layer turns into a status code; the message is safe to show the caller. */
export class StudioHttpError extends Error {
  readonly status: 400 | 403 | 404 | 409;
  readonly issues?: { path: string; message: string }[];
  constructor(status: 400 | 403 | 404 | 409, message: string, issues?: { path: string; message: string }[]) {
    super(message);
    this.status = status;
    this.issues = issues;
  }
}

export interface TaskRow {
  id: number;
  type: TaskTypeName;
  data: TaskData;
}

export function loadTask(db: Db, id: number): TaskRow | undefined {
  const row = q(db, 'SELECT id, type, sample_json, responses_json FROM tasks WHERE id = ?').get(id) as
    | { id: number; type: TaskTypeName; sample_json: string; responses_json: string }
    | undefined;
  if (!row) return undefined;
  return {
    id: row.id,
    type: row.type,
    data: { ...JSON.parse(row.sample_json), responses: JSON.parse(row.responses_json) },
  };
}

function shuffled(n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * The caller's next task: an open assignment if there is one, else a new assignment to the oldest task that has
 * fewer than k annotators and not this one. Response order is shuffled here, once per (task, annotator).
 */
export function nextTask(db: Db, user: User, settings: Settings): number | undefined {
  return db.transaction(() => {
    const open = q(
      db,
      "SELECT task_id FROM assignments WHERE user_id = ? AND status = 'open' ORDER BY assigned_at, task_id LIMIT 1",
    ).get(user.id) as { task_id: number } | undefined;
    if (open) return open.task_id;
    const t = q(
      db,
      `SELECT t.id, t.responses_json FROM tasks t
         WHERE t.n_assigned < ? AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.user_id = ?)
         ORDER BY t.id LIMIT 1`,
    ).get(settings.overlap, user.id) as { id: number; responses_json: string } | undefined;
    if (!t) return undefined;
    const n = (JSON.parse(t.responses_json) as unknown[]).length;
    q(
      db,
      "INSERT INTO assignments (task_id, user_id, order_json, status, assigned_at) VALUES (?, ?, ?, 'open', ?)",
    ).run(t.id, user.id, JSON.stringify(shuffled(n)), new Date().toISOString());
    q(db, 'UPDATE tasks SET n_assigned = n_assigned + 1 WHERE id = ?').run(t.id);
    return t.id;
  })();
}

/** The assignment's display order, or 403: annotators see only their own tasks; admins see any (canonical order). */
function orderFor(db: Db, user: User, task: TaskRow): { order: number[]; status: string | undefined } {
  const a = q(db, 'SELECT order_json, status FROM assignments WHERE task_id = ? AND user_id = ?').get(
    task.id,
    user.id,
  ) as { order_json: string; status: string } | undefined;
  if (a) return { order: JSON.parse(a.order_json), status: a.status };
  if (user.role === 'admin') return { order: task.data.responses.map((_, i) => i), status: undefined };
  throw new StudioHttpError(403, `task ${task.id} is not assigned to you`);
}

function mustLoad(db: Db, id: number): TaskRow {
  const t = loadTask(db, id);
  if (!t) throw new StudioHttpError(404, `no task ${id}`);
  return t;
}

const mediaUrl = (key: string) => `/api/media/${key}`;
function mediaView(m: StoredMedia) {
  return { kind: m.ref.kind, url: m.key ? mediaUrl(m.key) : undefined, frames: (m.frames ?? []).map(mediaUrl) };
}

/** What the annotator's page needs, responses in their display order (no model names: they bias judgements). */
export function taskView(db: Db, user: User, id: number, settings: Settings) {
  const task = mustLoad(db, id);
  const tt = taskType(task.type);
  const { order, status } = orderFor(db, user, task);
  const draft = q(db, 'SELECT draft_json FROM drafts WHERE task_id = ? AND user_id = ?').get(id, user.id) as
    | { draft_json: string }
    | undefined;
  const sub = q(
    db,
    'SELECT client_id, label_json FROM submissions WHERE task_id = ? AND user_id = ? AND undone_at IS NULL',
  ).get(id, user.id) as { client_id: string; label_json: string } | undefined;
  const suggestions = settings.showAiSuggestions
    ? (
        q(db, 'SELECT judge, label_json FROM suggestions WHERE task_id = ? ORDER BY judge').all(id) as {
          judge: string;
          label_json: string;
        }[]
      ).map((s) => ({ judge: s.judge, label: tt.toDisplay(JSON.parse(s.label_json), order) }))
    : [];
  return {
    id,
    type: task.type,
    status: status ?? 'admin',
    prompt: task.data.prompt,
    media: task.data.media.map(mediaView),
    responses: order.map((c) => ({ text: task.data.responses[c].text })),
    draft: draft ? JSON.parse(draft.draft_json) : null,
    submitted: sub ? { submissionId: sub.client_id, label: tt.toDisplay(JSON.parse(sub.label_json), order) } : null,
    suggestions,
    aspects: settings.aspects,
    scale: settings.scale,
  };
}

export function saveDraft(db: Db, user: User, id: number, draft: unknown): void {
  const task = mustLoad(db, id);
  orderFor(db, user, task);
  q(
    db,
    'INSERT INTO drafts (task_id, user_id, draft_json, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET draft_json = excluded.draft_json, updated_at = excluded.updated_at',
  ).run(id, user.id, JSON.stringify(draft), new Date().toISOString());
}

/** Parse a display-position label into the canonical one, or throw a 400 that lists every bad field. */
export function canonicalLabel(task: TaskRow, label: unknown, order: number[], settings: Settings): unknown {
  const tt = taskType(task.type);
  const parsed = tt.input.safeParse(label);
  if (!parsed.success)
    throw new StudioHttpError(
      400,
      `invalid ${task.type} label`,
      parsed.error.issues.map((i) => ({ path: ['label', ...i.path.map(String)].join('.'), message: i.message })),
    );
  try {
    return tt.toCanonical(parsed.data, order, task.data, settings);
  } catch (e) {
    if (e instanceof LabelError)
      throw new StudioHttpError(400, `invalid ${task.type} label`, [{ path: `label.${e.path}`, message: e.message }]);
    throw e;
  }
}

/**
 * Record a submission in one transaction; the caller answers only after it returns (better-sqlite3 commits
 * synchronously). `submissionId` is the client's idempotency key: a retry after a lost answer or a server crash
 * returns the first save instead of adding a second.
 */
export function submit(
  db: Db,
  user: User,
  id: number,
  body: { submissionId: string; label: unknown },
  settings: Settings,
): { submissionId: string; savedAt: string; duplicate: boolean } {
  const task = mustLoad(db, id);
  const { order } = orderFor(db, user, task);
  if (user.role === 'admin' && !q(db, 'SELECT 1 FROM assignments WHERE task_id = ? AND user_id = ?').get(id, user.id))
    throw new StudioHttpError(403, `task ${id} is not assigned to you (admins adjudicate instead)`);
  const label = canonicalLabel(task, body.label, order, settings);
  return db.transaction(() => {
    const prior = q(db, 'SELECT task_id, created_at FROM submissions WHERE user_id = ? AND client_id = ?').get(
      user.id,
      body.submissionId,
    ) as { task_id: number; created_at: string } | undefined;
    if (prior) {
      if (prior.task_id !== id)
        throw new StudioHttpError(409, `submissionId ${body.submissionId} was used for task ${prior.task_id}`);
      return { submissionId: body.submissionId, savedAt: prior.created_at, duplicate: true };
    }
    if (q(db, 'SELECT 1 FROM submissions WHERE task_id = ? AND user_id = ? AND undone_at IS NULL').get(id, user.id))
      throw new StudioHttpError(409, `task ${id} is already submitted; undo it first to change the label`);
    const savedAt = new Date().toISOString();
    q(
      db,
      'INSERT INTO submissions (client_id, task_id, user_id, label_json, order_json, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(body.submissionId, id, user.id, JSON.stringify(label), JSON.stringify(order), savedAt);
    q(db, "UPDATE assignments SET status = 'done' WHERE task_id = ? AND user_id = ?").run(id, user.id);
    q(db, 'DELETE FROM drafts WHERE task_id = ? AND user_id = ?').run(id, user.id);
    return { submissionId: body.submissionId, savedAt, duplicate: false };
  })();
}

/** Take back the caller's latest submission: the task reopens with the label as its draft. */
export function undoLast(db: Db, user: User): { taskId: number } {
  return db.transaction(() => {
    const last = q(
      db,
      'SELECT s.id, s.task_id, s.label_json, s.order_json, t.type FROM submissions s JOIN tasks t ON t.id = s.task_id WHERE s.user_id = ? AND s.undone_at IS NULL ORDER BY s.id DESC LIMIT 1',
    ).get(user.id) as
      | { id: number; task_id: number; label_json: string; order_json: string; type: TaskTypeName }
      | undefined;
    if (!last) throw new StudioHttpError(409, 'nothing to undo');
    if (q(db, 'SELECT 1 FROM adjudications WHERE task_id = ?').get(last.task_id))
      throw new StudioHttpError(409, `task ${last.task_id} was already adjudicated; ask an admin`);
    const now = new Date().toISOString();
    q(db, 'UPDATE submissions SET undone_at = ? WHERE id = ?').run(now, last.id);
    q(db, "UPDATE assignments SET status = 'open' WHERE task_id = ? AND user_id = ?").run(last.task_id, user.id);
    const draft = taskType(last.type).toDisplay(JSON.parse(last.label_json), JSON.parse(last.order_json));
    q(
      db,
      'INSERT INTO drafts (task_id, user_id, draft_json, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET draft_json = excluded.draft_json',
    ).run(last.task_id, user.id, JSON.stringify(draft), now);
    return { taskId: last.task_id };
  })();
}

/** The caller's own queue: their assignments (newest first) and how many tasks are still open to them. */
export function myQueue(db: Db, user: User, settings: Settings) {
  const items = q(
    db,
    'SELECT a.task_id AS id, t.type, a.status FROM assignments a JOIN tasks t ON t.id = a.task_id WHERE a.user_id = ? ORDER BY a.assigned_at DESC, a.task_id DESC LIMIT 200',
  ).all(user.id) as { id: number; type: string; status: string }[];
  const counts = q(
    db,
    "SELECT SUM(status = 'done') AS done, SUM(status = 'open') AS open FROM assignments WHERE user_id = ?",
  ).get(user.id) as { done: number | null; open: number | null };
  const available = q(
    db,
    `SELECT COUNT(*) AS n FROM tasks t WHERE t.n_assigned < ?
       AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.user_id = ?)`,
  ).get(settings.overlap, user.id) as { n: number };
  return { done: counts.done ?? 0, open: counts.open ?? 0, available: available.n, items };
}

/** Per-annotator progress for the admin page. */
export function progress(db: Db, settings: Settings) {
  const users = q(
    db,
    `SELECT u.name, u.role,
        (SELECT COUNT(*) FROM assignments a WHERE a.user_id = u.id) AS assigned,
        (SELECT COUNT(*) FROM submissions s WHERE s.user_id = u.id AND s.undone_at IS NULL) AS submitted,
        (SELECT COUNT(*) FROM drafts d WHERE d.user_id = u.id) AS drafts
       FROM users u ORDER BY u.id`,
  ).all() as { name: string; role: string; assigned: number; submitted: number; drafts: number }[];
  const tasks = (q(db, 'SELECT COUNT(*) AS n FROM tasks').get() as { n: number }).n;
  const complete = (
    q(
      db,
      'SELECT COUNT(*) AS n FROM (SELECT task_id FROM submissions WHERE undone_at IS NULL GROUP BY task_id HAVING COUNT(*) >= ?)',
    ).get(settings.overlap) as { n: number }
  ).n;
  const byType = q(db, 'SELECT type, COUNT(*) AS n FROM tasks GROUP BY type ORDER BY type').all() as {
    type: string;
    n: number;
  }[];
  return { tasks, complete, overlap: settings.overlap, byType, users };
}
