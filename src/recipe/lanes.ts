import { Worker } from 'node:worker_threads';
import { type TfBackend, tf } from '../nn/index.ts';
import { type ErrorData, errorFromData, MmalignError } from '../util/errors.ts';
import type { MethodContext, MethodRecords } from './methods.ts';

/**
 * Methods side by side: `lanes` worker threads, each with its own tfjs-wasm instance, take the methods' align + eval
 * jobs one at a time, the next free lane the next method in the order given. Each method trains and evaluates on its
 * lane's one thread, exactly as on the main thread with one worker, so the results do not depend on the number of
 * lanes; only the order in which stages finish does, and the records come back in method order.
 */
export interface LaneEvents {
  stage?: (name: string, state: 'start' | 'cached' | 'done', seconds?: number) => void;
  log?: (line: string) => void;
}

/** worker → main */
export type FromLane =
  | { type: 'stage'; name: string; state: 'start' | 'cached' | 'done'; seconds?: number }
  | { type: 'log'; line: string }
  | { type: 'done'; method: string; records: MethodRecords }
  | { type: 'failed'; method: string; error: ErrorData };

/** main → worker */
export type ToLane = { type: 'job'; method: string };

export interface LaneData {
  entry: string;
  backend: TfBackend;
  ctx: MethodContext;
}

export async function runInLanes(
  ctx: MethodContext,
  methods: readonly string[],
  lanes: number,
  events: LaneEvents = {},
): Promise<Map<string, MethodRecords>> {
  const data: Omit<LaneData, 'ctx'> = {
    entry: new URL('./lane-job.ts', import.meta.url).href,
    backend: tf.getBackend() as TfBackend,
  };
  const boot = new URL('../train/parallel/boot.mjs', import.meta.url);
  const workers = Array.from(
    { length: Math.min(lanes, methods.length) },
    () => new Worker(boot, { workerData: { ...data, ctx } satisfies LaneData }),
  );
  const results = new Map<string, MethodRecords>();
  let next = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const give = (w: Worker) => {
        const method = methods[next++];
        if (method === undefined) return;
        w.postMessage({ type: 'job', method } satisfies ToLane);
      };
      workers.forEach((w, i) => {
        w.on('message', (m: FromLane) => {
          if (m.type === 'stage') events.stage?.(m.name, m.state, m.seconds);
          else if (m.type === 'log') events.log?.(m.line);
          else if (m.type === 'failed')
            reject(
              errorFromData(m.error, (msg) => new MmalignError('MMALIGN_WORKER_FAILED', `method ${m.method}: ${msg}`)),
            );
          else {
            results.set(m.method, m.records);
            if (results.size === methods.length) resolve();
            else give(w);
          }
        });
        w.on('error', (e) =>
          reject(new MmalignError('MMALIGN_WORKER_FAILED', `lane ${i + 1} failed: ${e.message}`, { cause: e })),
        );
        w.on('exit', (code) => {
          if (results.size < methods.length)
            reject(new MmalignError('MMALIGN_WORKER_FAILED', `lane ${i + 1} exited with code ${code}`));
        });
        give(w);
      });
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
