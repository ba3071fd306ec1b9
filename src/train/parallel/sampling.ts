import { ReplicaPool } from './pool.ts';

/**
 * The process-wide pool that the embedded model's `generate` samples with (eval suites, preference-set sampling):
 * a CLI command sets the number of replicas once (`--workers`), and every embedded model shares the helpers,
 * handing them its weights when they hold another model's. Idle helpers do not keep the process alive. Default 1:
 * no pool, sampling on the calling thread (library users and tests opt in).
 */
let wanted = 1;
let shared: Promise<ReplicaPool> | undefined;

export function setSamplingWorkers(n: number): void {
  const next = Math.max(1, Math.floor(n));
  if (next === wanted) return;
  wanted = next;
  const old = shared;
  shared = undefined;
  void old?.then((p) => p.close());
}

/** The shared pool, started on first use; undefined for 1 worker. */
export function samplingPool(): Promise<ReplicaPool | undefined> {
  if (wanted <= 1) return Promise.resolve(undefined);
  shared ??= ReplicaPool.open(wanted - 1);
  return shared;
}
