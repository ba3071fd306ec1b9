import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { removeOrphanedTemps, tempPathFor } from '../io/atomic.ts';
import { type ErrorData, errorFromData, MmalignError } from '../util/errors.ts';
import type { WorldManifest } from '../world/index.ts';
import { interruptExitCode, interruptMessage, onGracefulStop } from './interrupt.ts';
import type { WorldJob } from './workers/world-job.ts';

/**
 * `mmalign world` without half-made folders: the world is generated into a hidden sibling of --out
 * (`.<name>.<pid>.<hex>.partial`, as io/atomic.ts names them) in a worker thread, then moved into --out entry by
 * entry (world.json, the marker of a complete world, removed first and moved last; media/ replaced whole, so a rerun
 * never mixes old and new images).
 * Ctrl-C stops the worker, removes the sibling and leaves --out as it was.
 */
export interface WorldRun {
  /** set when interrupted; the exit code to use */
  interrupted?: number;
  manifest?: WorldManifest;
}

const ENTRIES = ['media', 'samples.jsonl'] as const;

export async function runWorld(
  job: WorldJob,
  total: number,
  onProgress: (done: number, total: number) => void,
  stopProgress: () => void,
): Promise<WorldRun> {
  const out = path.resolve(job.opts.outDir);
  removeOrphanedTemps(out);
  const tmp = tempPathFor(out);
  try {
    mkdirSync(path.dirname(out), { recursive: true });
  } catch (e) {
    throw new MmalignError('MMALIGN_OUT_DIR', `cannot create the output folder: ${(e as Error).message}`, {
      file: out,
    });
  }
  let done = 0;
  const worker = new Worker(new URL('./workers/entry.mjs', import.meta.url), {
    workerData: {
      job: new URL('./world-job.ts', new URL('./workers/', import.meta.url)).href,
      input: { ...job, opts: { ...job.opts, outDir: tmp } },
    },
  });
  let stopping = false;
  const off = onGracefulStop(() => {
    stopping = true;
    void worker.terminate();
  }, null);
  try {
    const manifest = await new Promise<WorldManifest | undefined>((resolve, reject) => {
      worker.on(
        'message',
        (m: { type: string; done?: number; total?: number; manifest?: WorldManifest; error?: ErrorData }) => {
          if (m.type === 'progress') {
            done = m.done ?? done;
            onProgress(done, total);
          } else if (m.type === 'done') resolve(m.manifest);
          else if (m.type === 'error')
            reject(errorFromData(m.error ?? { message: 'world generation failed' }, (msg) => new Error(msg)));
        },
      );
      worker.on('error', reject);
      worker.on('exit', () => resolve(undefined));
    });
    if (stopping || !manifest) {
      stopProgress();
      rmSync(tmp, { recursive: true, force: true });
      process.stderr.write(
        `${interruptMessage({ done, total, unit: 'samples', kept: false, rerun: `rerun the same command to redo (${path.basename(out)} is as it was)` })}\n`,
      );
      return { interrupted: interruptExitCode() };
    }
    moveInto(tmp, out);
    return { manifest };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    off();
  }
}

/** Move a finished world from `tmp` into `out`, keeping any other files a user put in `out`. */
function moveInto(tmp: string, out: string): void {
  if (!existsSync(out)) {
    renameSync(tmp, out);
    return;
  }
  rmSync(path.join(out, 'world.json'), { force: true });
  for (const e of ENTRIES) {
    rmSync(path.join(out, e), { recursive: true, force: true });
    if (existsSync(path.join(tmp, e))) renameSync(path.join(tmp, e), path.join(out, e));
  }
  renameSync(path.join(tmp, 'world.json'), path.join(out, 'world.json'));
  rmSync(tmp, { recursive: true, force: true });
}
