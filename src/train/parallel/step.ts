import type { Vlm } from '../../nn/index.ts';
import { type AdamW, applyFlatGradient, readFlat, type StepResult, sumShards, trainableWeights } from '../common.ts';
import { ReplicaPool } from './pool.ts';
import { runTask, type TaskInput } from './tasks.ts';

type GradKind = 'sftGrad';

/**
 * One data-parallel optimisation step: shard 0 runs on this thread while shards 1… run on the helpers, the shard
 * gradients are summed in shard order, and one AdamW update (clip included) is applied here; the new weights go to
 * the helpers with their next task. Each shard's input must describe its additive part of the batch objective.
 */
export async function parallelStep<K extends GradKind>(
  pool: ReplicaPool,
  opt: AdamW,
  model: Vlm,
  lr: number,
  kind: K,
  shards: readonly TaskInput<K>[],
): Promise<StepResult> {
  const [local, ...remote] = shards as [TaskInput<K>, ...TaskInput<K>[]];
  if (remote.length > pool.helpers) throw new Error(`${shards.length} shards for ${pool.helpers + 1} replicas`);
  const inFlight = remote.map((input, w) => pool.run(w, kind, input));
  const mine = runTask(kind, model, opt.params, local);
  const total = sumShards([mine, ...(await Promise.all(inFlight))]);
  const gradNorm = applyFlatGradient(opt, total.grads, lr);
  pool.setWeights(readFlat(opt.params));
  return { loss: total.loss, gradNorm, metrics: total.metrics };
}

/**
 * A pool of `workers − 1` helpers holding copies of `model`, or undefined for one worker (everything stays on this
 * thread, exactly today's code path).
 */
export async function openTrainingPool(model: Vlm, workers: number | undefined): Promise<ReplicaPool | undefined> {
  const n = Math.max(1, Math.floor(workers ?? 1));
  if (n === 1) return undefined;
  const pool = await ReplicaPool.open(n - 1);
  try {
    await pool.load(
      model,
      trainableWeights(model).map(([name]) => name),
    );
  } catch (e) {
    await pool.close();
    throw e;
  }
  return pool;
}
