import { readFileSync } from 'node:fs';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { groupCommit } from './commit.ts';
import type { Db } from './db.ts';
import { EXPORT_MODES, exportRecords } from './export.ts';
import { resolveMedia } from './media.ts';
import { adjudicate, agreementReport, disagreements, judgeAgreement, liveLabels } from './report.ts';
import { getSettings, putSettings, type Settings, SettingsPatch } from './settings.ts';
import { createUser, listUsers, ROLES, type User, userByToken } from './users.ts';
import {
  loadTask,
  myQueue,
  nextTask,
  progress,
  StudioHttpError,
  saveDraft,
  submit,
  taskView,
  undoLast,
} from './work.ts';

export interface AppOptions {
  db: Db;
  mediaDir: string;
  /** Built front end (index.html + assets); when absent only the API is served. */
  ui?: Map<string, { body: Buffer; type: string }>;
  /** Called with unexpected errors (the client gets a bare 500). */
  onError?: (e: unknown) => void;
}

type Env = { Variables: { user: User } };

const SubmitBody = z.strictObject({
  submissionId: z.string().regex(/^[A-Za-z0-9_-]{8,100}$/, 'expected 8-100 characters of A-Z a-z 0-9 _ -'),
  label: z.unknown(),
});
const DraftBody = z.strictObject({ draft: z.unknown() });
const AdjudicateBody = z
  .strictObject({ submission: z.number().int().positive().optional(), label: z.unknown().optional() })
  .refine(
    (b) => (b.submission === undefined) !== (b.label === undefined),
    'give exactly one of "submission" or "label"',
  );
const UserBody = z.strictObject({ name: z.string().min(1).max(64), role: z.enum(ROLES) });

/** Parse a JSON body with a zod schema, or answer 400 naming each bad field. */
async function body<S extends z.ZodType>(c: Context<Env>, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new StudioHttpError(400, 'request body is not valid JSON');
  }
  const r = schema.safeParse(raw);
  if (!r.success)
    throw new StudioHttpError(
      400,
      'invalid request body',
      r.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message })),
    );
  return r.data;
}

function taskId(c: Context<Env>): number {
  const id = Number(c.req.param('id'));
  if (!Number.isSafeInteger(id) || id <= 0) throw new StudioHttpError(400, `task id must be a positive integer`);
  return id;
}

/** Security headers on every answer: model text is data, so no inline script may ever run (CSP). */
const secure: MiddlewareHandler = async function secure(c, next) {
  await next();
  c.header(
    'Content-Security-Policy',
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  );
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('X-Frame-Options', 'DENY');
};

/** The studio's HTTP app: JSON API under /api (Bearer tokens), the built UI elsewhere. */
export function createStudioApp(opts: AppOptions): Hono<Env> {
  const { db } = opts;
  // Re-read only when another connection (e.g. `mmalign studio config`) has committed since: data_version moves then.
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  let cached: { version: unknown; settings: Settings } | undefined;
  const current = (): Settings => {
    const version = dataVersion.get();
    if (cached && cached.version === version) return cached.settings;
    const settings = getSettings(db);
    cached = { version, settings };
    return settings;
  };
  const commit = groupCommit(db);
  const app = new Hono<Env>();
  app.use('*', secure);
  app.use('/api/*', bodyLimit({ maxSize: 1 << 20, onError: (c) => c.json({ error: 'request body over 1 MiB' }, 413) }));
  app.use('/api/*', async function auth(c, next) {
    const m = /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '');
    const user = m ? userByToken(db, m[1]) : undefined;
    if (!user) return c.json({ error: m ? 'unknown token' : 'missing "Authorization: Bearer <token>" header' }, 401);
    c.set('user', user);
    await next();
  });
  app.use('/api/admin/*', async function adminOnly(c, next) {
    if (c.get('user').role !== 'admin') return c.json({ error: 'admin only' }, 403);
    await next();
  });

  app.get('/api/me', (c) => c.json({ name: c.get('user').name, role: c.get('user').role, project: current().name }));
  app.get('/api/guidelines', (c) => c.json({ text: current().guidelines }));
  app.get('/api/queue', (c) => c.json(myQueue(db, c.get('user'), current())));
  app.post('/api/next', async (c) => {
    const user = c.get('user');
    const id = await commit(() => nextTask(db, user, current()));
    return c.json(id === undefined ? { done: true } : { taskId: id });
  });
  app.get('/api/tasks/:id', (c) => c.json(taskView(db, c.get('user'), taskId(c), current())));
  app.put('/api/tasks/:id/draft', async (c) => {
    const b = await body(c, DraftBody);
    const user = c.get('user');
    const id = taskId(c);
    await commit(() => saveDraft(db, user, id, b.draft ?? null));
    return c.json({ saved: true });
  });
  app.post('/api/tasks/:id/submit', async (c) => {
    const b = await body(c, SubmitBody);
    const user = c.get('user');
    const id = taskId(c);
    const r = await commit(() => submit(db, user, id, { submissionId: b.submissionId, label: b.label }, current()));
    return c.json({ saved: true, ...r });
  });
  app.post('/api/undo', async (c) => {
    const user = c.get('user');
    return c.json(await commit(() => undoLast(db, user)));
  });
  app.get('/api/media/*', (c) => {
    let key: string;
    try {
      key = decodeURIComponent(c.req.path.slice('/api/media/'.length));
    } catch {
      return c.json({ error: 'bad media path' }, 400);
    }
    const found = resolveMedia(opts.mediaDir, key);
    if (!found) return c.json({ error: 'no such media in the project store' }, 404);
    return c.body(readFileSync(found.file), 200, {
      'Content-Type': found.type,
      'Cache-Control': 'private, max-age=3600',
    });
  });

  app.get('/api/admin/progress', (c) => c.json(progress(db, current())));
  app.get('/api/admin/agreement', (c) => c.json({ types: agreementReport(db), judges: judgeAgreement(db) }));
  app.get('/api/admin/disagreements', (c) => c.json(disagreements(db)));
  app.get('/api/admin/tasks/:id', (c) => {
    const id = taskId(c);
    const task = loadTask(db, id);
    if (!task) throw new StudioHttpError(404, `no task ${id}`);
    return c.json({ ...task, labels: liveLabels(db).filter((l) => l.taskId === id) });
  });
  app.post('/api/admin/tasks/:id/adjudicate', async (c) => {
    const b = await body(c, AdjudicateBody);
    return c.json(adjudicate(db, c.get('user'), taskId(c), b, current()));
  });
  app.get('/api/admin/export', (c) => {
    const mode = c.req.query('mode') ?? 'majority';
    if (!(EXPORT_MODES as readonly string[]).includes(mode))
      throw new StudioHttpError(400, `unknown export mode "${mode}"; known: ${EXPORT_MODES.join(', ')}`);
    const r = exportRecords(db, mode as (typeof EXPORT_MODES)[number]);
    const text = r.records.map((x) => JSON.stringify(x)).join('\n') + (r.records.length ? '\n' : '');
    return c.body(text, 200, {
      'Content-Type': 'application/x-ndjson; charset=utf-8',
      'Content-Disposition': `attachment; filename="preferences-${mode}.jsonl"`,
      'X-Mmalign-Records': String(r.records.length),
      'X-Mmalign-Unresolved': r.unresolved.join(','),
    });
  });
  app.get('/api/admin/settings', (c) => c.json(current()));
  app.put('/api/admin/settings', async (c) => {
    const patch = await body(c, SettingsPatch);
    cached = { version: dataVersion.get(), settings: putSettings(db, patch) };
    return c.json(cached.settings);
  });
  app.get('/api/admin/users', (c) => c.json(listUsers(db)));
  app.post('/api/admin/users', async (c) => {
    const b = await body(c, UserBody);
    try {
      const { user, token } = createUser(db, b.name, b.role);
      return c.json({ ...user, token });
    } catch (e) {
      throw new StudioHttpError(409, (e as Error).message.split('\n')[0]);
    }
  });
  app.all('/api/*', (c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));

  app.get('*', (c) => {
    if (!opts.ui) return c.text('the studio UI is not built', 404);
    const file = opts.ui.get(c.req.path) ?? opts.ui.get('/index.html')!;
    return c.body(new Uint8Array(file.body), 200, { 'Content-Type': file.type });
  });

  app.onError((e, c) => {
    if (e instanceof StudioHttpError)
      return c.json({ error: e.message, ...(e.issues ? { issues: e.issues } : {}) }, e.status);
    opts.onError?.(e);
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}
