import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Whole-file outputs are written to a hidden temp file beside the target, fsynced, then renamed over it, so a crash or
 * an error mid-write never leaves a file that looks complete. The temp name starts with `.` and ends with `.partial`
 * so globbing `*.jsonl` never picks it up.
 */
export function tempPathFor(file: string): string {
  const dir = path.dirname(file);
  return path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
}

const TEMP_NAME = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.partial$/;

/**
 * Remove the temp files / folders `tempPathFor(target)` made for processes that are gone (SIGKILL, a crash): nothing
 * can finish them. Those of live processes are left alone. Returns how many were removed.
 */
export function removeOrphanedTemps(target: string): number {
  const dir = path.dirname(path.resolve(target));
  const base = path.basename(path.resolve(target));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const n of names) {
    const m = TEMP_NAME.exec(n);
    const pid = Number(m?.[2]);
    if (!m || m[1] !== base || pid === process.pid || isAlive(pid)) continue;
    rmSync(path.join(dir, n), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Temp files of writes in progress: an interrupted process removes them before it exits (`removeOpenTempFiles`). */
const openTemps = new Set<string>();

/** Remove the temp files of every atomic write still in progress; for signal handlers, so it is synchronous. */
export function removeOpenTempFiles(): number {
  const n = openTemps.size;
  for (const tmp of openTemps) rmSync(tmp, { recursive: true, force: true });
  openTemps.clear();
  return n;
}

/** Run `write(tmpPath)`, then fsync and rename onto `file`; on any error the temp file is removed and the error rethrown. */
export async function atomicOutput<T>(file: string, write: (tmpPath: string) => Promise<T>): Promise<T> {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = tempPathFor(file);
  openTemps.add(tmp);
  try {
    const result = await write(tmp);
    await fsyncPath(tmp);
    await rename(tmp, file);
    return result;
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    openTemps.delete(tmp);
  }
}

/**
 * The folder form of `atomicOutput`: `write(tmpDir)` fills a hidden sibling folder, which then replaces `dir` (which
 * must be absent or empty). An error or an interrupt leaves `dir` as it was and no temp folder behind.
 */
export async function atomicOutputDir<T>(dir: string, write: (tmpDir: string) => Promise<T>): Promise<T> {
  const target = path.resolve(dir);
  mkdirSync(path.dirname(target), { recursive: true });
  removeOrphanedTemps(target);
  const tmp = tempPathFor(target);
  openTemps.add(tmp);
  try {
    mkdirSync(tmp);
    const result = await write(tmp);
    // an empty folder the user made for the output is replaced; a non-empty one makes rmdir fail, never lose files
    if (existsSync(target)) await rmdir(target);
    await rename(tmp, target);
    return result;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    openTemps.delete(tmp);
  }
}

export async function atomicWriteFile(file: string, data: string | Uint8Array): Promise<void> {
  await atomicOutput(file, async (tmp) => {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
    } finally {
      await fh.close();
    }
  });
}

export async function fsyncPath(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
