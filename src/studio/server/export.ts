import { type Preference, validateRecord } from '../../schema/index.ts';
import { RecordValidationError } from '../../util/errors.ts';
import type { Db } from './db.ts';
import { type LiveLabel, liveLabels } from './report.ts';
import { getSettings } from './settings.ts';
import { type MakeBase, taskType } from './tasks/index.ts';
import { loadTask, type TaskRow } from './work.ts';

/** majority: one merged label per task (adjudication first); all: every annotator's label with its provenance. */
export const EXPORT_MODES = ['majority', 'all'] as const;
export type ExportMode = (typeof EXPORT_MODES)[number];

export interface ExportResult {
  records: Preference[];
  /** Tasks whose labels could not be merged (tied vote, differing corrections): adjudicate them. */
  unresolved: number[];
  tasks: number;
}

function makeBase(
  task: TaskRow,
  who: string,
  createdAt: string,
  extra: Record<string, unknown>,
  source: string,
): MakeBase {
  return (suffix, more = {}) => ({
    id: `${task.data.extId}:${who}:${suffix}`,
    sampleId: task.data.sampleId,
    prompt: task.data.prompt,
    media: task.data.media.map((m) => m.ref),
    provenance: {
      source,
      annotator: { kind: 'human', id: who },
      strategy: `studio:${task.type}`,
      createdAt,
      responseModels: [...new Set(task.data.responses.flatMap((r) => (r.model ? [r.model] : [])))],
      extra: { studioTask: task.data.extId, dataSource: task.data.source, ...extra, ...more },
    },
  });
}

/** Turn the project's labels into Preference records; every record is checked against the schema before return. */
export function exportRecords(db: Db, mode: ExportMode): ExportResult {
  const settings = getSettings(db);
  const source = `mmalign-studio:${settings.name}`;
  const byTask = new Map<number, LiveLabel[]>();
  for (const l of liveLabels(db)) byTask.set(l.taskId, [...(byTask.get(l.taskId) ?? []), l]);
  const adjudications = new Map(
    (
      db
        .prepare(
          'SELECT a.task_id, a.label_json, a.created_at, u.name FROM adjudications a JOIN users u ON u.id = a.user_id',
        )
        .all() as { task_id: number; label_json: string; created_at: string; name: string }[]
    ).map((a) => [a.task_id, a]),
  );
  const out: ExportResult = { records: [], unresolved: [], tasks: 0 };
  for (const [taskId, ls] of [...byTask].sort((a, b) => a[0] - b[0])) {
    const task = loadTask(db, taskId)!;
    const tt = taskType(task.type);
    out.tasks++;
    if (mode === 'all') {
      for (const l of ls) {
        // Position randomisation is recorded: `order[d]` = canonical response shown at display position d.
        const base = makeBase(task, l.user, l.createdAt, { order: l.order }, source);
        out.records.push(...tt.toRecords(task.data, l.label, base, settings));
      }
      continue;
    }
    const adj = adjudications.get(taskId);
    const users = ls.map((l) => l.user);
    if (adj) {
      const base = makeBase(task, adj.name, adj.created_at, { adjudicated: true, annotators: users }, source);
      out.records.push(...tt.toRecords(task.data, JSON.parse(adj.label_json), base, settings));
      continue;
    }
    const merged = tt.majority(ls.map((l) => l.label));
    if (merged === undefined) {
      out.unresolved.push(taskId);
      continue;
    }
    const who = ls.length === 1 ? users[0] : `majority(${users.join('+')})`;
    const last = ls.map((l) => l.createdAt).sort()[ls.length - 1];
    const base = makeBase(task, who, last, { votes: ls.length, annotators: users }, source);
    out.records.push(...tt.toRecords(task.data, merged, base, settings));
  }
  const issues = out.records.flatMap((r, i) => validateRecord('preference', r, { line: i + 1 }));
  if (issues.length > 0) throw new RecordValidationError(issues, 'this is a bug in the studio export');
  return out;
}
