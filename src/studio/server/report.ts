import { cohenKappa, fleissKappa, krippendorffAlpha, percentAgreement } from './agreement.ts';
import type { Db } from './db.ts';
import type { Settings } from './settings.ts';
import { mode, type TaskTypeName, taskType, type Unit } from './tasks/index.ts';
import type { User } from './users.ts';
import { canonicalLabel, loadTask, StudioHttpError } from './work.ts';

export interface LiveLabel {
  submission: number;
  taskId: number;
  type: TaskTypeName;
  user: string;
  label: unknown;
  order: number[];
  createdAt: string;
}

export function liveLabels(db: Db): LiveLabel[] {
  const rows = db
    .prepare(
      `SELECT s.id, s.task_id, t.type, u.name, s.label_json, s.order_json, s.created_at FROM submissions s
       JOIN tasks t ON t.id = s.task_id JOIN users u ON u.id = s.user_id WHERE s.undone_at IS NULL ORDER BY s.id`,
    )
    .all() as {
    id: number;
    task_id: number;
    type: TaskTypeName;
    name: string;
    label_json: string;
    order_json: string;
    created_at: string;
  }[];
  return rows.map((r) => ({
    submission: r.id,
    taskId: r.task_id,
    type: r.type,
    user: r.name,
    label: JSON.parse(r.label_json),
    order: JSON.parse(r.order_json),
    createdAt: r.created_at,
  }));
}

/** unit id (`task:key`) → metric and rater → value, for one task type. */
type UnitTable = Map<string, { metric: Unit['metric']; by: Map<string, string | number> }>;

function unitTable(labels: LiveLabel[]): UnitTable {
  const t: UnitTable = new Map();
  for (const l of labels)
    for (const u of taskType(l.type).units(l.label)) {
      const id = `${l.taskId}:${u.key}`;
      const e = t.get(id) ?? { metric: u.metric, by: new Map() };
      e.by.set(l.user, u.value);
      t.set(id, e);
    }
  return t;
}

/**
 * Agreement per task type: Cohen's kappa for every annotator pair over the units both labelled, Krippendorff's
 * alpha over all units (nominal, or interval for rating scores), and Fleiss' kappa when every unit has the same
 * number of raters. Rating scores enter Cohen's kappa as categories (unweighted).
 */
export function agreementReport(db: Db) {
  const labels = liveLabels(db);
  const types = [...new Set(labels.map((l) => l.type))].sort();
  return types.map((type) => {
    const table = unitTable(labels.filter((l) => l.type === type));
    const users = [...new Set(labels.filter((l) => l.type === type).map((l) => l.user))].sort();
    const metric = [...table.values()][0]?.metric ?? 'nominal';
    const pairs = [];
    for (let i = 0; i < users.length; i++)
      for (let j = i + 1; j < users.length; j++) {
        const a: string[] = [];
        const b: string[] = [];
        for (const u of table.values())
          if (u.by.has(users[i]) && u.by.has(users[j])) {
            a.push(String(u.by.get(users[i])));
            b.push(String(u.by.get(users[j])));
          }
        if (a.length > 0)
          pairs.push({
            a: users[i],
            b: users[j],
            units: a.length,
            kappa: cohenKappa(a, b),
            agreement: percentAgreement(a, b),
          });
      }
    const units = [...table.values()].map((u) => [...u.by.values()]);
    const multi = units.filter((u) => u.length >= 2);
    const cats = [...new Set(multi.flat().map(String))];
    const fleiss =
      metric === 'nominal' && multi.length > 0
        ? fleissKappa(multi.map((u) => cats.map((c) => u.filter((v) => String(v) === c).length)))
        : null;
    return {
      type,
      metric,
      annotators: users,
      units: table.size,
      pairableUnits: multi.length,
      alpha: krippendorffAlpha(units, metric),
      fleiss,
      pairs,
    };
  });
}

/**
 * Human-vs-AI-judge agreement: per judge and task type, the judge's value on each unit against the humans'
 * majority value (units without a strict human majority are left out), as % agreement and Cohen's kappa.
 */
export function judgeAgreement(db: Db) {
  const labels = liveLabels(db);
  const human = unitTable(labels);
  const rows = db
    .prepare('SELECT s.task_id, s.judge, s.label_json, t.type FROM suggestions s JOIN tasks t ON t.id = s.task_id')
    .all() as { task_id: number; judge: string; label_json: string; type: TaskTypeName }[];
  const by = new Map<string, { judge: string; type: string; j: string[]; h: string[] }>();
  for (const r of rows)
    for (const u of taskType(r.type).units(JSON.parse(r.label_json))) {
      const h = human.get(`${r.task_id}:${u.key}`);
      if (!h) continue;
      const maj = mode([...h.by.values()], String);
      if (maj === undefined) continue;
      const k = `${r.judge}\u0000${r.type}`;
      const e = by.get(k) ?? { judge: r.judge, type: r.type, j: [], h: [] };
      e.j.push(String(u.value));
      e.h.push(String(maj));
      by.set(k, e);
    }
  return [...by.values()].map((e) => ({
    judge: e.judge,
    type: e.type,
    units: e.j.length,
    agreement: percentAgreement(e.j, e.h),
    kappa: cohenKappa(e.j, e.h),
  }));
}

/** Tasks where annotators gave different values on some unit, with every label, for adjudication. */
export function disagreements(db: Db) {
  const labels = liveLabels(db);
  const byTask = new Map<number, LiveLabel[]>();
  for (const l of labels) byTask.set(l.taskId, [...(byTask.get(l.taskId) ?? []), l]);
  const adjudicated = new Set(
    (db.prepare('SELECT task_id FROM adjudications').all() as { task_id: number }[]).map((r) => r.task_id),
  );
  const out = [];
  for (const [taskId, ls] of byTask) {
    if (ls.length < 2) continue;
    const table = unitTable(ls);
    const split = [...table.values()].some((u) => new Set([...u.by.values()].map(String)).size > 1);
    if (!split) continue;
    const task = loadTask(db, taskId)!;
    out.push({
      taskId,
      type: task.type,
      adjudicated: adjudicated.has(taskId),
      prompt: task.data.prompt,
      responses: task.data.responses.map((r) => r.text),
      labels: ls.map((l) => ({ submission: l.submission, user: l.user, label: l.label })),
    });
  }
  return out;
}

/** An admin's final label for a task: one of the submitted labels, or a new one given in canonical order. */
export function adjudicate(
  db: Db,
  admin: User,
  taskId: number,
  body: { submission?: number; label?: unknown },
  settings: Settings,
): { taskId: number } {
  const task = loadTask(db, taskId);
  if (!task) throw new StudioHttpError(404, `no task ${taskId}`);
  let label: unknown;
  if (body.submission !== undefined) {
    const s = db
      .prepare('SELECT label_json FROM submissions WHERE id = ? AND task_id = ? AND undone_at IS NULL')
      .get(body.submission, taskId) as { label_json: string } | undefined;
    if (!s) throw new StudioHttpError(404, `no live submission ${body.submission} on task ${taskId}`);
    label = JSON.parse(s.label_json);
  } else if (body.label !== undefined) {
    label = canonicalLabel(
      task,
      body.label,
      task.data.responses.map((_, i) => i),
      settings,
    );
  } else throw new StudioHttpError(400, 'give either "submission" or "label"');
  db.prepare(
    'INSERT INTO adjudications (task_id, user_id, label_json, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET user_id = excluded.user_id, label_json = excluded.label_json, created_at = excluded.created_at',
  ).run(taskId, admin.id, JSON.stringify(label), new Date().toISOString());
  return { taskId };
}
