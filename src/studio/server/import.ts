import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  type Answer,
  detectRecordType,
  type MediaRef,
  Preference,
  Response,
  Sample,
  validateRecord,
} from '../../schema/index.ts';
import { MmalignError, RecordValidationError, type ValidationIssue } from '../../util/errors.ts';
import type { Db } from './db.ts';
import { projectPaths } from './db.ts';
import { storeMedia } from './media.ts';
import { getSettings } from './settings.ts';
import {
  KIND_TO_TYPE,
  LabelError,
  type StoredMedia,
  type TaskData,
  type TaskTypeName,
  taskType,
} from './tasks/index.ts';

export interface ImportOptions {
  /** Task type for Sample + Response records (preferences bring their own unless this overrides). */
  type?: TaskTypeName;
  /** Folder that media paths in the records are relative to; default: the file's folder. */
  mediaRoot?: string;
}
export interface ImportResult {
  tasks: number;
  existing: number;
  suggestions: number;
  media: number;
  warnings: string[];
}

interface Where {
  file: string;
  line: number;
}

function copyMedia(refs: MediaRef[], root: string, mediaDir: string, where: Where, copied: Set<string>): StoredMedia[] {
  const one = (p: string, field: string, expect?: string) => {
    const file = path.resolve(root, p);
    if (!existsSync(file))
      throw new RecordValidationError(
        [{ code: 'media_missing', message: `media file not found: ${file}`, ...where, path: field }],
        'pass --media-root DIR if media paths are relative to another folder',
      );
    const { key, sha256 } = storeMedia(mediaDir, file);
    if (expect && expect !== sha256)
      throw new RecordValidationError([
        {
          code: 'media_sha256',
          message: `sha256 of ${file} is ${sha256}, record says ${expect}`,
          ...where,
          path: field,
        },
      ]);
    copied.add(key);
    return { key, sha256 };
  };
  return refs.map((ref, i) => {
    if (ref.kind === 'video') {
      const frames = (ref.frames ?? []).map((f, j) => one(f.path, `media.${i}.frames.${j}.path`, f.sha256));
      const file = ref.path ? one(ref.path, `media.${i}.path`, ref.sha256) : undefined;
      return {
        ref: {
          ...ref,
          ...(file ? { sha256: file.sha256 } : {}),
          ...(ref.frames ? { frames: ref.frames.map((f, j) => ({ ...f, sha256: frames[j].sha256 })) } : {}),
        },
        ...(file ? { key: file.key } : {}),
        frames: frames.map((f) => f.key),
      };
    }
    const file = one(ref.path, `media.${i}.path`, ref.sha256);
    return { ref: { ...ref, sha256: file.sha256 }, key: file.key };
  });
}

function extId(type: TaskTypeName, sampleId: string, responses: Answer[]): string {
  const h = createHash('sha256');
  for (const r of responses) h.update(r.text).update('\u0000');
  return `${type}:${sampleId}:${h.digest('hex').slice(0, 16)}`;
}

/** Canonical response order: by response id, then text, so the same set from two judges is one task. */
function canonicalOrder(responses: Answer[]): number[] {
  const key = (a: Answer) => `${a.responseId ?? ''}\u0000${a.text}`;
  return responses.map((_, i) => i).sort((a, b) => (key(responses[a]) < key(responses[b]) ? -1 : 1));
}

/**
 * Import mmalign records as annotation tasks. Sample + Response lines become tasks of `opts.type`; Preference lines
 * become tasks of the matching type with the judge's label kept as an AI suggestion (hidden unless enabled).
 * Re-importing the same file adds nothing: a task is keyed by type, sample id and response texts.
 */
export function importRecords(db: Db, dir: string, file: string, opts: ImportOptions = {}): ImportResult {
  if (!existsSync(file)) throw new MmalignError('MMALIGN_NO_FILE', `no such file: ${file}`);
  const root = path.resolve(opts.mediaRoot ?? path.dirname(file));
  const mediaDir = projectPaths(dir).media;
  const settings = getSettings(db);
  const issues: ValidationIssue[] = [];
  const samples = new Map<string, { s: Sample; where: Where }>();
  const responses = new Map<string, Response[]>();
  const prefs: { p: Preference; where: Where }[] = [];
  for (const [i, text] of readFileSync(file, 'utf8').split('\n').entries()) {
    const where = { file, line: i + 1 };
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      issues.push({ code: 'json', message: `not JSON: ${(e as Error).message}`, ...where });
      continue;
    }
    const type = detectRecordType(value);
    if (!type) {
      issues.push({ code: 'record_type', message: 'not a Sample, Response or Preference record', ...where });
      continue;
    }
    const bad = validateRecord(type, value, where);
    if (bad.length > 0) {
      issues.push(...bad);
      continue;
    }
    if (type === 'sample') {
      const s = Sample.parse(value);
      samples.set(s.id, { s, where });
    } else if (type === 'response') {
      const r = Response.parse(value);
      responses.set(r.sampleId, [...(responses.get(r.sampleId) ?? []), r]);
    } else prefs.push({ p: Preference.parse(value), where });
  }
  if (issues.length > 0) throw new RecordValidationError(issues);

  const result: ImportResult = { tasks: 0, existing: 0, suggestions: 0, media: 0, warnings: [] };
  const copied = new Set<string>();
  const now = new Date().toISOString();
  const findTask = db.prepare('SELECT id FROM tasks WHERE ext_id = ?');
  const insertTask = db.prepare(
    'INSERT INTO tasks (ext_id, type, sample_json, responses_json, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const insertSuggestion = db.prepare(
    'INSERT INTO suggestions (task_id, judge, label_json) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET label_json = excluded.label_json',
  );
  const addTask = (type: TaskTypeName, data: TaskData): number => {
    const found = findTask.get(data.extId) as { id: number } | undefined;
    if (found) {
      result.existing++;
      return found.id;
    }
    result.tasks++;
    const { responses: rs, ...sample } = data;
    return Number(insertTask.run(data.extId, type, JSON.stringify(sample), JSON.stringify(rs), now).lastInsertRowid);
  };

  db.transaction(() => {
    if (samples.size > 0 && !opts.type)
      throw new MmalignError('MMALIGN_STUDIO_NO_TYPE', `${file} has Sample records but no task type was given`, {
        hint: 'pass --type pairwise|rating|ranking|segments|binary',
      });
    for (const [sampleId, { s, where }] of samples) {
      const type = opts.type!;
      const tt = taskType(type);
      const rs = [...(responses.get(sampleId) ?? [])].sort((a, b) => (a.id < b.id ? -1 : 1));
      const answers: Answer[] = rs.map((r) => ({ text: r.text, responseId: r.id, model: r.model }));
      const media = copyMedia(s.media, root, mediaDir, where, copied);
      const base = { sampleId, source: s.provenance.source, prompt: s.messages, media };
      const groups = tt.responses.max === 1 ? answers.map((a) => [a]) : [answers];
      if (tt.responses.max > 1 && (answers.length < tt.responses.min || answers.length > tt.responses.max))
        throw new MmalignError(
          'MMALIGN_STUDIO_RESPONSES',
          `${where.file}:${where.line}: sample "${sampleId}" has ${answers.length} response(s); a ${type} task needs ${tt.responses.min}..${tt.responses.max}`,
          { hint: type === 'pairwise' ? 'use --type ranking for more than two responses' : undefined },
        );
      if (groups.length === 0) result.warnings.push(`sample "${sampleId}" has no responses: skipped`);
      for (const g of groups) addTask(type, { extId: extId(type, sampleId, g), ...base, responses: g });
    }
    for (const { p, where } of prefs) {
      const type = opts.type ?? KIND_TO_TYPE[p.kind];
      const made = type ? taskType(type).fromPreference(p) : undefined;
      if (!type || !made) {
        result.warnings.push(
          `${where.file}:${where.line}: a "${p.kind}" preference cannot become a ${type ?? 'studio'} task: skipped`,
        );
        continue;
      }
      const tt = taskType(type);
      const order = canonicalOrder(made.responses);
      const sorted = order.map((i) => made.responses[i]);
      const media = copyMedia(p.media, root, mediaDir, where, copied);
      const data: TaskData = {
        extId: extId(type, p.sampleId, sorted),
        sampleId: p.sampleId,
        source: p.provenance.source,
        prompt: p.prompt,
        media,
        responses: sorted,
      };
      const id = addTask(type, data);
      // The judge's label is relative to the record's own response order: map it onto the canonical order.
      const fromRecord = made.responses.map((_, d) => order.indexOf(d));
      const identity = made.responses.map((_, d) => d);
      try {
        const label = tt.toCanonical(tt.toDisplay(made.label, identity), fromRecord, data, settings);
        const a = p.provenance.annotator;
        insertSuggestion.run(id, `${a.kind}:${a.id}`, JSON.stringify(label));
        result.suggestions++;
      } catch (e) {
        if (!(e instanceof LabelError)) throw e;
        result.warnings.push(`${where.file}:${where.line}: judge label not kept: ${e.path}: ${e.message}`);
      }
    }
  })();
  result.media = copied.size;
  return result;
}
