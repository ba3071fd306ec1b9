import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/mmalign.mjs');

/** Run the real `mmalign` bin as a user would, in a child process. */
export function runCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, CI: 'true', ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `runCli` without blocking, so independent runs of one test go side by side. */
export function runCliAsync(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, CI: 'true', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 120_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Run many CLI calls, at most `parallel` at a time (the machine has 2 cores). */
export async function runCliAll(
  calls: string[][],
  parallel = 3,
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ args: string[]; code: number; stdout: string; stderr: string }[]> {
  const results: { args: string[]; code: number; stdout: string; stderr: string }[] = new Array(calls.length);
  let next = 0;
  const lane = async () => {
    while (next < calls.length) {
      const i = next++;
      results[i] = { args: calls[i]!, ...(await runCliAsync(calls[i]!, opts)) };
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return results;
}

/**
 * Start the CLI, wait until its stderr matches `ready`, send `signal`, and collect what it printed and its exit code.
 */
export async function interruptCli(
  args: string[],
  ready: RegExp,
  opts: {
    cwd?: string;
    env?: Record<string, string>;
    signal?: NodeJS.Signals;
    delayMs?: number;
    timeoutMs?: number;
  } = {},
): Promise<{
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  sentAfterMs: number;
}> {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, CI: 'true', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const t0 = Date.now();
  let stdout = '';
  let stderr = '';
  let sentAfterMs = -1;
  const kill = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
    if (sentAfterMs < 0 && ready.test(stderr)) {
      sentAfterMs = -2;
      setTimeout(() => {
        sentAfterMs = Date.now() - t0;
        child.kill(opts.signal ?? 'SIGINT');
      }, opts.delayMs ?? 0);
    }
  });
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal, stdout, stderr, sentAfterMs });
    }),
  );
}

/**
 * Temp dirs for one test file: each call of the returned function makes a fresh one, and all of them are removed
 * after the file's tests (afterAll), so a file that makes many does not leave them behind in /tmp.
 */
export function tempDirs(prefix = 'mmalign-'): () => string {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

/** A temp dir removed by the returned cleanup function. */
export function tempDir(prefix = 'mmalign-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
