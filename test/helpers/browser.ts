import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { brotliDecompressSync, createBrotliDecompress } from 'node:zlib';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ROOT } from './cli.ts';

/**
 * The one place that finds and starts the Chromium every browser test drives (through playwright-core).
 *
 * Order: an explicit `MMALIGN_CHROMIUM` path → the headless build shipped inside the npm package @sparticuz/chromium
 * (so `npm ci` alone brings a browser) → Debian's /usr/bin/chromium if present. The first one that starts wins; if
 * none does, `launchChromium` throws one sentence naming each one tried and why it failed, so a browser test fails
 * instead of skipping.
 *
 * Text needs fonts: every candidate gets a fontconfig file that lists only the DejaVu fonts of the npm package
 * dejavu-fonts-ttf (the same 2.37 release as Debian's fonts-dejavu), so screenshots look alike on every machine and
 * need no system font. The packaged browser also gets the NSS/NSPR/expat libraries it ships, so it needs nothing
 * from the system beyond glibc.
 */

/**
 * Flags for a root user on a machine whose network is closed: without the background-networking ones Chromium opens
 * (and has refused) many connections at once. playwright-core adds a fresh temporary profile (--user-data-dir) to
 * every launch itself, and refuses one passed here.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** One browser to try: how to name it in an error, and how to get its executable and extra environment. */
export interface BrowserCandidate {
  label: string;
  prepare: () => Promise<{ executablePath: string; env?: Record<string, string> }>;
}

const CACHE = path.join(ROOT, 'node_modules/.cache/mmalign-chromium');
const require = createRequire(import.meta.url);

/** The candidates in resolution order, for the given environment and system browser path. */
export function browserCandidates(
  env: NodeJS.ProcessEnv = process.env,
  systemPath: string = SYSTEM_CHROMIUM,
): BrowserCandidate[] {
  const out: BrowserCandidate[] = [];
  const explicit = env.MMALIGN_CHROMIUM;
  if (explicit)
    out.push({ label: `MMALIGN_CHROMIUM=${explicit}`, prepare: async () => ({ executablePath: explicit }) });
  out.push({ label: 'the @sparticuz/chromium npm package', prepare: unpackPackagedChromium });
  if (existsSync(systemPath)) out.push({ label: systemPath, prepare: async () => ({ executablePath: systemPath }) });
  return out;
}

/** Start the first candidate that launches, with CHROMIUM_ARGS and the npm fonts. */
export async function launchChromium(candidates: BrowserCandidate[] = browserCandidates()): Promise<Browser> {
  const tried: string[] = [];
  for (const c of candidates) {
    try {
      const fontconfig = await npmFontconfig();
      const { executablePath, env } = await c.prepare();
      const browser = await chromium.launch({
        executablePath,
        args: CHROMIUM_ARGS,
        env: { ...process.env, FONTCONFIG_PATH: fontconfig, ...env },
      });
      console.info(`browser: ${c.label}, Chromium ${browser.version()} at ${executablePath}`);
      return browser;
    } catch (e) {
      tried.push(`${c.label} (${firstLine(e)})`);
    }
  }
  throw new Error(
    `No Chromium could start for the browser tests: tried ${tried.join('; ') || 'nothing'}; run \`npm ci\` to install @sparticuz/chromium or set MMALIGN_CHROMIUM to a Chromium executable.`,
  );
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (
    msg
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l && !l.startsWith('=')) ?? 'failed'
  );
}

/** The folder of an installed package (found through its main entry: @sparticuz/chromium exports no package.json). */
function packageDir(name: string, entry: string): { dir: string; version: string } {
  let dir = path.dirname(require.resolve(entry));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name: string; version: string };
  if (pkg.name !== name) throw new Error(`${entry} resolved to ${dir}, not ${name}`);
  return { dir, version: pkg.version };
}

/**
 * Build `dir` through `fill(tmp)` once: the work happens in a private folder renamed into place, so two test
 * workers starting at once never see half a folder (the loser of the rename drops its copy).
 */
async function buildOnce(dir: string, marker: string, fill: (tmp: string) => Promise<void>): Promise<string> {
  if (existsSync(path.join(dir, marker))) return dir;
  const tmp = `${dir}.${process.pid}-${Date.now()}.partial`;
  mkdirSync(tmp, { recursive: true });
  try {
    await fill(tmp);
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(path.join(dir, marker))) throw e;
  }
  return dir;
}

/**
 * Unpack @sparticuz/chromium's brotli-compressed binary and its libraries into node_modules/.cache (keyed by the
 * package version, so `npm ci` or an upgrade starts afresh). The package's own `executablePath()` is not used: it
 * unpacks into a shared /tmp/chromium whatever version put it there, and its code asks for Node 22.
 */
async function unpackPackagedChromium(): Promise<{ executablePath: string; env: Record<string, string> }> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`it ships a Linux x64 build only, this is ${process.platform} ${process.arch}`);
  }
  const { dir: pkg, version } = packageDir('@sparticuz/chromium', '@sparticuz/chromium');
  const bin = path.join(pkg, 'bin');
  const dir = await buildOnce(path.join(CACHE, `sparticuz-${version}`), 'chromium', async (tmp) => {
    // Libraries first: the marker file `chromium` must be the last thing written.
    const libs = spawnSync('tar', ['-x', '-C', tmp], {
      input: brotliDecompressSync(readFileSync(path.join(bin, 'al2023.tar.br'))),
    });
    if (libs.status !== 0)
      throw new Error(`tar could not unpack al2023.tar.br: ${libs.stderr?.toString() || libs.error}`);
    await pipeline(
      createReadStream(path.join(bin, 'chromium.br')),
      createBrotliDecompress(),
      createWriteStream(path.join(tmp, 'chromium'), { mode: 0o755 }),
    );
  });
  const lib = path.join(dir, 'lib');
  const ld = process.env.LD_LIBRARY_PATH;
  return { executablePath: path.join(dir, 'chromium'), env: { LD_LIBRARY_PATH: ld ? `${lib}:${ld}` : lib } };
}

/**
 * A fontconfig folder whose fonts.conf lists only dejavu-fonts-ttf's fonts (without the math font, which would
 * otherwise win every unknown family) and maps the generic families to DejaVu, as Debian's fontconfig does.
 */
async function npmFontconfig(): Promise<string> {
  const { dir: pkg, version } = packageDir('dejavu-fonts-ttf', 'dejavu-fonts-ttf/package.json');
  const ttf = path.join(pkg, 'ttf');
  if (!existsSync(path.join(ttf, 'DejaVuSans.ttf'))) throw new Error(`no DejaVuSans.ttf in ${ttf}`);
  return buildOnce(path.join(CACHE, `fonts-dejavu-${version}`), 'fonts.conf', async (tmp) => {
    const alias = (generic: string, family: string) =>
      `  <alias binding="strong"><family>${generic}</family><prefer><family>${family}</family></prefer></alias>`;
    const conf = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
      '<fontconfig>',
      `  <dir>${ttf}</dir>`,
      '  <selectfont><rejectfont><glob>*/DejaVuMathTeXGyre.ttf</glob></rejectfont></selectfont>',
      `  <cachedir>${path.join(CACHE, `fonts-dejavu-${version}-cache`)}</cachedir>`,
      alias('sans-serif', 'DejaVu Sans'),
      alias('system-ui', 'DejaVu Sans'),
      alias('serif', 'DejaVu Serif'),
      alias('monospace', 'DejaVu Sans Mono'),
      '</fontconfig>',
      '',
    ].join('\n');
    await writeFile(path.join(tmp, 'fonts.conf'), conf);
  });
}

/**
 * A full-page screenshot, tried up to three times: headless Chromium without a GPU sometimes answers
 * "Unable to capture screenshot" when the machine is loaded (seen in a clean-clone CI run while other test files
 * trained models on both cores), and a second try a moment later succeeds. Any other error is thrown at once.
 */
export async function fullPageScreenshot(page: Page, file: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.screenshot({ path: file, fullPage: true });
      return;
    } catch (e) {
      if (attempt >= 3 || !/Unable to capture screenshot/.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}
