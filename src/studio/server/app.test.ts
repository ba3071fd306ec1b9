import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/cli.ts';
import { Preference, validateRecord } from '../../schema/index.ts';
import { writeJudgePairs, writeSampleSet, XSS } from '../testkit.ts';
import { createStudioApp } from './app.ts';
import { type Db, openDb, projectPaths } from './db.ts';
import { importRecords } from './import.ts';
import { putSettings } from './settings.ts';
import { createUser } from './users.ts';

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let app: ReturnType<typeof createStudioApp>;
const tok: Record<string, string> = {};

async function call(user: string | null, method: string, url: string, body?: unknown, raw?: string) {
  const headers: Record<string, string> = {};
  if (user) headers.Authorization = `Bearer ${tok[user] ?? user}`;
  if (body !== undefined || raw !== undefined) headers['Content-Type'] = 'application/json';
  const res = await app.request(url, {
    method,
    headers,
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return {
    status: res.status,
    json: json as Record<string, unknown> & { error?: string; issues?: { path: string; message: string }[] },
    text,
    res,
  };
}
let n = 0;
/** The test annotators' rule: the response with " and a " (the judge's choice too), else the smaller text. */
const prefers = (x: string, y: string) =>
  x.includes(' and a ') !== y.includes(' and a ') ? x.includes(' and a ') : x < y;
const sid = () => `sub-${Date.now()}-${n++}`;

beforeAll(() => {
  tmp = tempDir('studio-api-');
  const data = path.join(tmp.dir, 'data');
  const dir = path.join(tmp.dir, 'proj');
  db = openDb(dir);
  importRecords(db, dir, writeSampleSet(data, 4, 2, { xss: true }), { type: 'pairwise' });
  importRecords(db, dir, writeJudgePairs(data, 4));
  for (const u of ['alice', 'bob', 'carol']) tok[u] = createUser(db, u, 'annotator').token;
  tok.admin = createUser(db, 'admin', 'admin').token;
  app = createStudioApp({ db, mediaDir: projectPaths(dir).media });
});
afterAll(() => {
  db.close();
  tmp.cleanup();
});

describe('auth', () => {
  it('401 without a token or with an unknown one, naming the header', async () => {
    for (const url of ['/api/me', '/api/queue', '/api/tasks/1', '/api/admin/progress', '/api/media/ab/x.png']) {
      const r = await call(null, 'GET', url);
      expect(r.status, url).toBe(401);
      expect(r.json.error).toMatch(/Authorization: Bearer/);
    }
    expect((await call('ann_not-a-real-token', 'GET', '/api/me')).status).toBe(401);
  });
  it('403 for an annotator on every admin route', async () => {
    const routes: [string, string, unknown?][] = [
      ['GET', '/api/admin/progress'],
      ['GET', '/api/admin/agreement'],
      ['GET', '/api/admin/disagreements'],
      ['GET', '/api/admin/export?mode=all'],
      ['GET', '/api/admin/settings'],
      ['PUT', '/api/admin/settings', { showAiSuggestions: true }],
      ['GET', '/api/admin/users'],
      ['POST', '/api/admin/users', { name: 'mallory', role: 'admin' }],
      ['GET', '/api/admin/tasks/1'],
      ['POST', '/api/admin/tasks/1/adjudicate', { submission: 1 }],
    ];
    for (const [m, u, b] of routes) expect((await call('alice', m, u, b)).status, `${m} ${u}`).toBe(403);
    expect((await call('admin', 'GET', '/api/admin/settings')).json.showAiSuggestions).toBe(false);
  });
  it("403 for an annotator on another annotator's task (read, draft, submit)", async () => {
    const t = (await call('carol', 'POST', '/api/next')).json.taskId as number;
    expect(t).toBeGreaterThan(0);
    expect((await call('bob', 'GET', `/api/tasks/${t}`)).status).toBe(403);
    expect((await call('bob', 'PUT', `/api/tasks/${t}/draft`, { draft: { choice: 'A' } })).status).toBe(403);
    const s = await call('bob', 'POST', `/api/tasks/${t}/submit`, { submissionId: sid(), label: { choice: 'A' } });
    expect(s.status).toBe(403);
    expect(s.json.error).toMatch(/not assigned to you/);
    expect((await call('carol', 'GET', `/api/tasks/${t}`)).status).toBe(200);
  });
});

describe('media store', () => {
  it('serves stored media and refuses traversal, odd keys and symlinks out of the store', async () => {
    const t = (await call('alice', 'POST', '/api/next')).json.taskId as number;
    const view = (await call('alice', 'GET', `/api/tasks/${t}`)).json as { media: { url: string }[] };
    const ok = await call('alice', 'GET', view.media[0].url);
    expect(ok.status).toBe(200);
    expect(ok.res.headers.get('content-type')).toBe('image/png');
    const mediaDir = path.join(tmp.dir, 'proj', 'media');
    writeFileSync(path.join(tmp.dir, 'secret.txt'), 'TOP SECRET');
    mkdirSync(path.join(mediaDir, 'aa'), { recursive: true });
    const fake = `aa/${'a'.repeat(64)}.png`;
    symlinkSync(path.join(tmp.dir, 'secret.txt'), path.join(mediaDir, fake));
    for (const url of [
      '/api/media/..%2F..%2Fsecret.txt',
      '/api/media/..%2fstudio.db',
      '/api/media/%2e%2e/%2e%2e/secret.txt',
      `/api/media/${encodeURIComponent(path.join(tmp.dir, 'secret.txt'))}`,
      '/api/media/../studio.db',
      '/api/media/%ZZ',
      `/api/media/${fake}`,
    ]) {
      const r = await call('alice', 'GET', url);
      expect(r.text, url).not.toContain('TOP SECRET');
      expect(r.text, url).not.toContain('SQLite');
      expect([400, 404], url).toContain(r.status);
    }
  });
});

describe('validation', () => {
  it('malformed bodies get 400 with a message naming the field', async () => {
    const t = (await call('bob', 'POST', '/api/next')).json.taskId as number;
    const url = `/api/tasks/${t}/submit`;
    const bad = await call('bob', 'POST', url, undefined, '{"submissionId": ');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('request body is not valid JSON');
    const noId = await call('bob', 'POST', url, { label: { choice: 'A' } });
    expect(noId.status).toBe(400);
    expect(noId.json.issues?.[0].path).toBe('submissionId');
    const wrong = await call('bob', 'POST', url, { submissionId: sid(), label: { choice: 'C' } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toBe('invalid pairwise label');
    expect(wrong.json.issues?.[0].path).toBe('label.choice');
    const extra = await call('bob', 'POST', url, { submissionId: sid(), label: { choice: 'A' }, evil: 1 });
    expect(extra.status).toBe(400);
    expect((await call('bob', 'GET', '/api/tasks/abc')).status).toBe(400);
    expect((await call('bob', 'GET', '/api/tasks/99999')).status).toBe(404);
    const users = await call('admin', 'POST', '/api/admin/users', { name: 'x', role: 'boss' });
    expect(users.status).toBe(400);
    expect(users.json.issues?.[0].path).toBe('role');
    const settings = await call('admin', 'PUT', '/api/admin/settings', { overlap: 0 });
    expect(settings.status).toBe(400);
    expect(settings.json.issues?.[0].path).toBe('overlap');
  });
});

describe('annotation workflow', () => {
  it('records position randomisation, is idempotent on retry, refuses double submits, undoes, exports valid records', async () => {
    // alice and bob label every task; A/B are in each one's own display order.
    const winners = new Map<number, number>();
    for (const who of ['alice', 'bob']) {
      for (;;) {
        const next = (await call(who, 'POST', '/api/next')).json;
        if (next.done) break;
        const id = next.taskId as number;
        const view = (await call(who, 'GET', `/api/tasks/${id}`)).json as { responses: { text: string }[] };
        // Both annotators prefer the response mentioning "and a" (canonical response of the judge's chosen).
        const a = prefers(view.responses[0].text, view.responses[1].text) ? 'A' : 'B';
        const submissionId = sid();
        const r1 = await call(who, 'POST', `/api/tasks/${id}/submit`, {
          submissionId,
          label: { choice: a, reason: 'faithful' },
        });
        expect(r1.status).toBe(200);
        expect(r1.json).toMatchObject({ saved: true, duplicate: false });
        const retry = await call(who, 'POST', `/api/tasks/${id}/submit`, { submissionId, label: { choice: a } });
        expect(retry.json).toMatchObject({ saved: true, duplicate: true });
        const again = await call(who, 'POST', `/api/tasks/${id}/submit`, { submissionId: sid(), label: { choice: a } });
        expect(again.status).toBe(409);
        const row = db
          .prepare(
            'SELECT label_json, order_json FROM submissions s JOIN users u ON u.id = s.user_id WHERE u.name = ? AND task_id = ?',
          )
          .get(who, id) as { label_json: string; order_json: string };
        const order = JSON.parse(row.order_json) as number[];
        const label = JSON.parse(row.label_json) as { winner: number };
        expect(label.winner).toBe(order[a === 'A' ? 0 : 1]);
        winners.set(id, label.winner);
      }
    }
    const subs = db.prepare('SELECT COUNT(*) AS n FROM submissions WHERE undone_at IS NULL').get() as { n: number };
    // carol holds one open assignment (task above), so 5 tasks × 2 labels minus the one carol reserved.
    expect(subs.n).toBe(9);

    // Undo: bob's last submission comes back as a draft, in his display positions.
    const last = db
      .prepare(
        "SELECT task_id FROM submissions s JOIN users u ON u.id = s.user_id WHERE u.name = 'bob' ORDER BY s.id DESC LIMIT 1",
      )
      .get() as { task_id: number };
    const u = await call('bob', 'POST', '/api/undo');
    expect(u.json.taskId).toBe(last.task_id);
    const reopened = (await call('bob', 'GET', `/api/tasks/${last.task_id}`)).json as {
      status: string;
      submitted: unknown;
      draft: { choice: string };
    };
    expect(reopened.status).toBe('open');
    expect(reopened.submitted).toBeNull();
    expect(['A', 'B']).toContain(reopened.draft.choice);
    const resub = await call('bob', 'POST', `/api/tasks/${last.task_id}/submit`, {
      submissionId: sid(),
      label: { choice: reopened.draft.choice },
    });
    expect(resub.status).toBe(200);

    const ag = (await call('admin', 'GET', '/api/admin/agreement')).json as {
      types: { type: string; alpha: number | null; pairs: { a: string; b: string; agreement: number }[] }[];
      judges: { judge: string; agreement: number; units: number }[];
    };
    const pw = ag.types.find((t) => t.type === 'pairwise')!;
    expect(pw.pairs.find((p) => p.a === 'alice' && p.b === 'bob')?.agreement).toBe(1);
    expect(ag.judges[0]).toMatchObject({ judge: 'closed_model:gpt-judge', agreement: 1 });

    for (const mode of ['majority', 'all']) {
      const ex = await call('admin', 'GET', `/api/admin/export?mode=${mode}`);
      expect(ex.status).toBe(200);
      const records = ex.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(records.length).toBe(mode === 'all' ? 9 : 5);
      for (const r of records) {
        expect(validateRecord('preference', r)).toEqual([]);
        const p = Preference.parse(r);
        expect(p.kind).toBe('pair');
        expect(p.provenance.annotator.kind).toBe('human');
        if (p.kind === 'pair') expect(prefers(p.chosen.text, p.rejected.text)).toBe(true);
        if (mode === 'all') expect(p.provenance.extra?.order).toHaveLength(2);
        else expect(p.provenance.annotator.id).toMatch(/^majority\(|^alice$|^bob$/);
      }
    }
    expect((await call('admin', 'GET', '/api/admin/export?mode=nope')).status).toBe(400);
  });

  it('keeps model text verbatim in the API (the UI renders it as text) and hides AI suggestions until enabled', async () => {
    const x = db.prepare("SELECT id FROM tasks WHERE responses_json LIKE '%<script>%'").get() as { id: number };
    const v = (await call('admin', 'GET', `/api/tasks/${x.id}`)).json as {
      responses: { text: string }[];
      suggestions: unknown[];
    };
    expect(v.responses.map((r) => r.text).join(' ')).toContain(XSS[0]);
    const judged = db.prepare('SELECT task_id FROM suggestions LIMIT 1').get() as { task_id: number };
    expect(((await call('admin', 'GET', `/api/tasks/${judged.task_id}`)).json.suggestions as unknown[]).length).toBe(0);
    await call('admin', 'PUT', '/api/admin/settings', { showAiSuggestions: true });
    const shown = (await call('admin', 'GET', `/api/tasks/${judged.task_id}`)).json.suggestions as { judge: string }[];
    expect(shown[0].judge).toBe('closed_model:gpt-judge');
    await call('admin', 'PUT', '/api/admin/settings', { showAiSuggestions: false });
  });

  it('picks up settings changed by another connection (mmalign studio config while serving)', async () => {
    expect((await call('alice', 'GET', '/api/guidelines')).json.text).toMatch(/Look at the image/);
    const other = openDb(path.join(tmp.dir, 'proj'));
    putSettings(other, { guidelines: 'Be strict about counts.' });
    other.close();
    expect((await call('alice', 'GET', '/api/guidelines')).json.text).toBe('Be strict about counts.');
  });
});
