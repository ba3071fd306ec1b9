import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { namedWeights, type TfBackend, tf, type Vlm } from '../../nn/index.ts';
import { MmalignError } from '../../util/errors.ts';
import { readFlat } from '../common.ts';
import type { FromWorker, ToWorker, WorkerData } from './protocol.ts';
import type { TaskInput, TaskKind, TaskOutput } from './tasks.ts';

/**
 * A pool of model replicas on worker threads, each with its own tfjs-wasm instance (wasm threads cannot run in
 * Node, so one thread per replica is how tfjs uses a second core). The main thread is replica 0 and keeps the only
 * optimizer; the pool holds the other N − 1. After each update the trainer hands the new weights to `setWeights`,
 * and they travel with each helper's next task, so every replica computes with the same bits.
 *
 * Idle workers do not keep the process alive (unref); a worker with a task in flight does.
 */
export class ReplicaPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; w: number }
  >();
  private readonly inFlight: number[];
  private readonly staleWeights: (Float32Array | undefined)[];
  private nextId = 1;
  private failure: Error | undefined;
  /** the model whose copy the helpers hold (its later updates arrive through setWeights) */
  private holding: Vlm | undefined;

  private constructor(workers: Worker[]) {
    this.workers = workers;
    this.inFlight = workers.map(() => 0);
    this.staleWeights = workers.map(() => undefined);
    workers.forEach((w, i) => {
      w.on('message', (m: FromWorker) => this.onMessage(i, m));
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`replica worker ${i + 1} exited with code ${code}`));
      });
      w.unref();
    });
  }

  /** Starts `helpers` workers (N − 1 for N replicas) and waits until each has tfjs ready. */
  static async open(helpers: number, backend: TfBackend = currentBackend()): Promise<ReplicaPool> {
    const entry = new URL('./worker.ts', import.meta.url).href;
    const boot = new URL('./boot.mjs', import.meta.url);
    const workers = Array.from(
      { length: helpers },
      () => new Worker(boot, { workerData: { entry, backend } satisfies WorkerData }),
    );
    await Promise.all(
      workers.map(
        (w, i) =>
          new Promise<void>((resolve, reject) => {
            const onMessage = (m: FromWorker) => {
              if (m.type !== 'ready') return;
              w.off('message', onMessage);
              w.off('error', reject);
              resolve();
            };
            w.on('message', onMessage);
            w.once('error', (e) =>
              reject(new MmalignError('MMALIGN_WORKER_FAILED', `replica worker ${i + 1} did not start: ${e.message}`)),
            );
          }),
      ),
    ).catch(async (e) => {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    });
    return new ReplicaPool(workers);
  }

  /** helper workers (replicas besides the main thread) */
  get helpers(): number {
    return this.workers.length;
  }

  /**
   * Gives every helper a copy of `model`; gradients will be taken for `trainable` (default: its trainable weights).
   * The copies are posted before this returns its promise, so tasks posted right after run on them.
   */
  async load(model: Vlm, trainable: readonly string[] = trainableNames(model)): Promise<void> {
    const weights = readFlat(namedWeights(model.weights));
    this.staleWeights.fill(undefined);
    this.holding = model;
    await Promise.all(
      this.workers.map((_, i) =>
        this.send(i, {
          type: 'load',
          config: model.config,
          tokenizer: model.tokenizer.toJSON(),
          weights,
          trainable: [...trainable],
        }),
      ),
    );
  }

  /** Whether the helpers hold a copy of `model` (loaded by `load`). */
  holds(model: Vlm): boolean {
    return this.holding === model;
  }

  /** New values of the trainable weights (flat, in order); each helper applies them before its next task. */
  setWeights(flat: Float32Array): void {
    this.staleWeights.fill(flat);
  }

  /** Runs a task on helper `w` (0-based: replica w + 1). */
  run<K extends TaskKind>(w: number, kind: K, input: TaskInput<K>): Promise<TaskOutput<K>> {
    const weights = this.staleWeights[w];
    this.staleWeights[w] = undefined;
    return this.send(w, { type: 'task', kind, input, weights }) as Promise<TaskOutput<K>>;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private send(w: number, msg: WithoutId<ToWorker>): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const worker = this.workers[w];
    if (!worker) throw new Error(`no replica worker ${w + 1}`);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, w });
      if ((this.inFlight[w] as number) === 0) worker.ref();
      this.inFlight[w] = (this.inFlight[w] as number) + 1;
      worker.postMessage({ ...msg, id } as ToWorker);
    });
  }

  private onMessage(w: number, m: FromWorker): void {
    if (m.type === 'ready') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    this.inFlight[w] = (this.inFlight[w] as number) - 1;
    if (this.inFlight[w] === 0) this.workers[w]?.unref();
    if (m.type === 'done') p.resolve(m.output);
    else {
      const err = new MmalignError('MMALIGN_WORKER_FAILED', `replica worker ${w + 1}: ${m.message}`);
      if (m.stack) err.stack = m.stack;
      p.reject(err);
    }
  }

  private fail(e: Error): void {
    this.failure = new MmalignError('MMALIGN_WORKER_FAILED', `replica worker failed: ${e.message}`, { cause: e });
    for (const [, p] of this.pending) p.reject(this.failure);
    this.pending.clear();
  }
}

function trainableNames(model: Vlm): string[] {
  return namedWeights(model.weights)
    .filter(([, v]) => v.trainable)
    .map(([n]) => n);
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** the main thread's backend: replicas must round as it does */
function currentBackend(): TfBackend {
  return tf.getBackend() as TfBackend;
}

/**
 * Replicas to use by default: one per core. Results do not depend on the number: SFT sums a fixed number of batch
 * shards (sft.ts gradShards), sampling seeds each request, and a recipe runs each method on one thread (methods go
 * side by side instead, recipe/lanes.ts). Only a preference step without replay spread over replicas
 * (parallelLogpStep) sums in another order: within 1e-5 of one worker's loss per step, not bit for bit.
 */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** The value of a `--workers <n>` option: a positive integer, or the default when the option is absent. */
export function parseWorkers(value: string | undefined): number {
  if (value === undefined) return defaultWorkers();
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new MmalignError('MMALIGN_BAD_OPTION', `--workers must be a positive integer, got "${value}"`, {
      hint: `1 runs everything on the main thread; this machine has ${availableParallelism()} cores`,
    });
  }
  return Number(value);
}

/**
 * Rows of a batch split into `n` shards by stride (row i goes to shard i mod n): the rows of a length-bucketed
 * batch are sorted by length, so striding gives every shard the same mix of lengths and about the same padded
 * length, and the slowest shard (which the step waits for) is no slower than the others. Empty shards are dropped.
 */
export function stridedShards<T>(rows: readonly T[], n: number): T[][] {
  const shards: T[][] = Array.from({ length: n }, () => []);
  rows.forEach((r, i) => {
    shards[i % n]?.push(r);
  });
  return shards.filter((s) => s.length > 0);
}
