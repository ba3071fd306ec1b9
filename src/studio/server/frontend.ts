import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MmalignError } from '../../util/errors.ts';

export const WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web');
const DIST = path.join(WEB_ROOT, 'dist');
const STAMP = '.source-hash';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Hash of the front end's sources: dist is rebuilt when it differs (mtimes are useless after a git clone). */
function sourceHash(): string {
  const h = createHash('sha256');
  const files = [path.join(WEB_ROOT, 'index.html'), ...walk(path.join(WEB_ROOT, 'src'))]
    .filter((f) => !f.endsWith('.test.ts'))
    .sort();
  for (const f of files) h.update(path.relative(WEB_ROOT, f)).update('\u0000').update(readFileSync(f));
  return h.digest('hex');
}

/**
 * Build the UI with Vite if `dist` is missing or stale, so `mmalign studio` works on a clean clone with no extra
 * step. Builds go to a private folder then are renamed into place: two servers starting at once both end with a
 * complete dist.
 */
export async function ensureFrontEnd(): Promise<{ dir: string; built: boolean }> {
  const want = sourceHash();
  const stamp = path.join(DIST, STAMP);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return { dir: DIST, built: false };
  // Under `tmp/` (gitignored) so a build interrupted half-way never shows up as a change in the source tree.
  const tmp = path.join(WEB_ROOT, 'tmp', `dist-${process.pid}-${randomBytes(4).toString('hex')}`);
  const vite = await import('vite').catch((e: unknown) => {
    throw new MmalignError('MMALIGN_STUDIO_UI', 'the studio UI is not built and Vite is not installed to build it', {
      hint: 'install dev dependencies (`npm ci`), or serve the API only',
      cause: e,
    });
  });
  const { build } = vite;
  await build({
    root: WEB_ROOT,
    configFile: false,
    logLevel: 'silent',
    publicDir: false,
    build: { outDir: tmp, emptyOutDir: true, sourcemap: false },
  });
  writeFileSync(path.join(tmp, STAMP), want);
  try {
    rmSync(DIST, { recursive: true, force: true });
    renameSync(tmp, DIST);
  } catch {
    // Another process swapped its build in first; it is built from the same sources.
    rmSync(tmp, { recursive: true, force: true });
  }
  try {
    rmdirSync(path.join(WEB_ROOT, 'tmp'));
  } catch {
    // another build is still using it
  }
  return { dir: DIST, built: true };
}

/** The built files, read once into memory: only these paths are ever served (no file-system lookups per request). */
export function loadUi(dir: string): Map<string, { body: Buffer; type: string }> {
  const out = new Map<string, { body: Buffer; type: string }>();
  for (const f of walk(dir)) {
    const rel = `/${path.relative(dir, f).split(path.sep).join('/')}`;
    if (rel === `/${STAMP}`) continue;
    out.set(rel, { body: readFileSync(f), type: TYPES[path.extname(f)] ?? 'application/octet-stream' });
  }
  return out;
}
