import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/cli.ts';
import type { Preference } from '../../schema/index.ts';
import { RecordValidationError } from '../../util/errors.ts';
import { writeSampleSet } from '../testkit.ts';
import { cohenKappa } from './agreement.ts';
import { type Db, openDb } from './db.ts';
import { exportRecords } from './export.ts';
import { importRecords } from './import.ts';
import { adjudicate, agreementReport, disagreements, judgeAgreement } from './report.ts';
import { getSettings, putSettings } from './settings.ts';
import { createUser, type User } from './users.ts';
import { nextTask, submit } from './work.ts';

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let dir: string;
beforeEach(() => {
  tmp = tempDir('studio-import-');
  dir = path.join(tmp.dir, 'proj');
  db = openDb(dir);
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

let seq = 0;
function label(u: User, l: unknown): number {
  const id = nextTask(db, u, getSettings(db))!;
  const order = JSON.parse(
    (
      db.prepare('SELECT order_json FROM assignments WHERE task_id = ? AND user_id = ?').get(id, u.id) as {
        order_json: string;
      }
    ).order_json,
  ) as number[];
  // `l` is canonical for pairwise tests: translate to this annotator's display positions.
  const input =
    typeof l === 'object' && l !== null && 'winner' in l
      ? { choice: order[0] === (l as { winner: number }).winner ? 'A' : 'B' }
      : l;
  submit(db, u, id, { submissionId: `s-${seq++}-abcdef`, label: input }, getSettings(db));
  return id;
}

const pairPref = (chosen: string, rejected: string, judge: string): Preference => ({
  kind: 'pair',
  id: `p-${judge}`,
  sampleId: 's0',
  prompt: [{ role: 'user', content: 'Describe.' }],
  media: [],
  chosen: { text: chosen, responseId: chosen },
  rejected: { text: rejected, responseId: rejected },
  provenance: { source: 'judge', createdAt: 'now', annotator: { kind: 'closed_model', id: judge } },
});

describe('import', () => {
  it('keeps each judge label on one canonical task, whatever order the record lists the responses in', () => {
    const f = path.join(tmp.dir, 'j.jsonl');
    writeFileSync(f, [pairPref('b', 'a', 'j1'), pairPref('a', 'b', 'j2')].map((p) => JSON.stringify(p)).join('\n'));
    const r = importRecords(db, dir, f);
    expect(r).toMatchObject({ tasks: 1, existing: 1, suggestions: 2 });
    const rows = db.prepare('SELECT judge, label_json FROM suggestions ORDER BY judge').all() as {
      judge: string;
      label_json: string;
    }[];
    // canonical order is [a, b]: j1 chose b (index 1), j2 chose a (index 0).
    expect(rows.map((x) => [x.judge, JSON.parse(x.label_json).winner])).toEqual([
      ['closed_model:j1', 1],
      ['closed_model:j2', 0],
    ]);
    expect(importRecords(db, dir, f).tasks).toBe(0);
  });

  it('reports every bad line with file:line:field, and missing media by path', () => {
    const f = path.join(tmp.dir, 'bad.jsonl');
    writeFileSync(
      f,
      `{"nope": 1}\n{not json\n${JSON.stringify({ ...pairPref('a', 'b', 'j'), chosen: { text: 3 } })}\n`,
    );
    try {
      importRecords(db, dir, f);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RecordValidationError);
      const issues = (e as RecordValidationError).issues;
      expect(issues.map((i) => i.line)).toEqual([1, 2, 3]);
      expect(issues[2].path).toBe('chosen.text');
    }
    const m = path.join(tmp.dir, 'm.jsonl');
    writeFileSync(m, JSON.stringify({ ...pairPref('a', 'b', 'j'), media: [{ kind: 'image', path: 'missing.png' }] }));
    expect(() => importRecords(db, dir, m)).toThrow(/media file not found: .*missing\.png/);
  });

  it('needs a task type for samples, and the right number of responses', () => {
    const f = writeSampleSet(path.join(tmp.dir, 'd'), 2, 3);
    expect(() => importRecords(db, dir, f)).toThrow(/no task type was given/);
    expect(() => importRecords(db, dir, f, { type: 'pairwise' })).toThrow(
      /has 3 response\(s\); a pairwise task needs 2..2/,
    );
    expect(importRecords(db, dir, f, { type: 'binary' }).tasks).toBe(6);
    expect(importRecords(db, dir, f, { type: 'ranking' }).tasks).toBe(2);
  });
});

describe('agreement, adjudication and export on real submissions', () => {
  it('computes Cohen per pair like the pure function, the judge agreement, and exports majority / all', () => {
    const f = writeSampleSet(path.join(tmp.dir, 'd'), 4, 1);
    importRecords(db, dir, f, { type: 'binary' });
    putSettings(db, { overlap: 3 });
    const [a, b, c] = ['a', 'b', 'c'].map((n) => createUser(db, n, 'annotator').user);
    const admin = createUser(db, 'boss', 'admin').user;
    const votes = { a: [true, true, false, false], b: [true, false, false, false], c: [true, true, true, false] };
    for (const [u, vs] of [
      [a, votes.a],
      [b, votes.b],
      [c, votes.c],
    ] as const)
      for (const v of vs) label(u, { label: v });
    const rep = agreementReport(db);
    expect(rep).toHaveLength(1);
    const ab = rep[0].pairs.find((p) => p.a === 'a' && p.b === 'b')!;
    const s = (xs: boolean[]) => xs.map((x) => (x ? 'good' : 'bad'));
    expect(ab.kappa).toBeCloseTo(cohenKappa(s(votes.a), s(votes.b))!, 12);
    // a vs b: 3/4 agree; p_e = (2/4)(1/4) + (2/4)(3/4) = 0.5 → κ = (0.75 − 0.5) / 0.5 = 0.5.
    expect(ab.kappa).toBeCloseTo(0.5, 12);
    expect(rep[0].fleiss).not.toBeNull();
    // Units 2 and 3 (0-based 1, 2) split the annotators.
    expect(disagreements(db).map((d) => d.labels.length)).toEqual([3, 3]);

    const maj = exportRecords(db, 'majority');
    expect(maj.unresolved).toEqual([]);
    expect(maj.records.map((r) => r.kind === 'binary' && r.label)).toEqual([true, true, false, false]);
    expect(maj.records[0].provenance.annotator.id).toBe('majority(a+b+c)');
    const all = exportRecords(db, 'all');
    expect(all.records).toHaveLength(12);
    expect(new Set(all.records.map((r) => r.provenance.annotator.id))).toEqual(new Set(['a', 'b', 'c']));

    const task2 = disagreements(db)[0].taskId;
    adjudicate(db, admin, task2, { label: { label: false } }, getSettings(db));
    const after = exportRecords(db, 'majority');
    const adj = after.records.find((r) => r.provenance.extra?.adjudicated);
    expect(adj?.provenance.annotator.id).toBe('boss');
    expect(adj?.kind === 'binary' && adj.label).toBe(false);
    expect(judgeAgreement(db)).toEqual([]);
  });

  it('leaves a tied pairwise vote unresolved until an admin adjudicates', () => {
    const f = writeSampleSet(path.join(tmp.dir, 'd'), 1, 2);
    importRecords(db, dir, f, { type: 'pairwise' });
    const [a, b] = ['a', 'b'].map((n) => createUser(db, n, 'annotator').user);
    const t = label(a, { winner: 0 });
    label(b, { winner: 1 });
    expect(exportRecords(db, 'majority')).toMatchObject({ records: [], unresolved: [t] });
    const sub = db.prepare('SELECT id FROM submissions WHERE user_id = ?').get(b.id) as { id: number };
    adjudicate(db, createUser(db, 'boss', 'admin').user, t, { submission: sub.id }, getSettings(db));
    const r = exportRecords(db, 'majority').records;
    expect(r).toHaveLength(1);
    expect(r[0].kind === 'pair' && r[0].chosen.responseId).toBe('s0-r1');
  });
});
