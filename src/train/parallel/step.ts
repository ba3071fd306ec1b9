import { tf, type Vlm } from '../../nn/index.ts';
import { type AdamW, applyFlatGradient, readFlat, type StepResult, sumShards, trainableWeights } from '../common.ts';
import { placeAnswerValues, type SftItem } from '../losses.ts';
import { contiguousChunks } from './generate.ts';
import { ReplicaPool, stridedShards } from './pool.ts';
import { runTask, type TaskInput } from './tasks.ts';

type GradKind = 'sftGrad' | 'vjpGrad';

/**
 * One data-parallel optimisation step: shard k runs on replica k mod R (replica 0 is this thread, the others the
 * pool's helpers; R = 1 without a pool, so one thread computes every shard in turn), the shard gradients are summed
 * in shard order, and one AdamW update (clip included) is applied here; the new weights go to the helpers with their
 * next task. The shards, not the replicas, fix the float32 summation order: the same shards give the same bits for
 * any R. Each shard's input must describe its additive part of the batch objective.
 */
export async function parallelStep<K extends GradKind>(
  pool: ReplicaPool | undefined,
  opt: AdamW,
  model: Vlm,
  lr: number,
  kind: K,
  shards: readonly TaskInput<K>[],
): Promise<StepResult> {
  const parts = await onReplicas(pool, shards, (input, helper) =>
    helper === undefined ? runTask(kind, model, opt.params, input) : (pool as ReplicaPool).run(helper, kind, input),
  );
  const total = sumShards(parts);
  const gradNorm = applyFlatGradient(opt, total.grads, lr);
  pool?.setWeights(opt.values ?? readFlat(opt.params));
  return { loss: total.loss, gradNorm, metrics: total.metrics };
}

/**
 * Runs `inputs[k]` on replica k mod R, results in input order: the helpers' tasks are posted first, then this
 * thread's run one after another (`helper` undefined) while the helpers work.
 */
async function onReplicas<I, O>(
  pool: ReplicaPool | undefined,
  inputs: readonly I[],
  run: (input: I, helper: number | undefined) => O | Promise<O>,
): Promise<O[]> {
  const replicas = (pool?.helpers ?? 0) + 1;
  const out: (O | Promise<O>)[] = new Array(inputs.length);
  inputs.forEach((input, k) => {
    if (k % replicas !== 0) out[k] = run(input, (k % replicas) - 1);
  });
  inputs.forEach((input, k) => {
    if (k % replicas === 0) out[k] = run(input, undefined);
  });
  return Promise.all(out);
}

/**
 * Scores items without gradients in `chunks` contiguous chunks spread over the replicas as `parallelStep` spreads
 * shards (default: one chunk per replica), results in item order: per item the sequence log-prob and its answer
 * tokens' log-probs, as pref-batch `scoreItems` gives them. A fixed `chunks` gives the same values for any pool.
 */
export async function scoreParallel(
  pool: ReplicaPool | undefined,
  model: Vlm,
  items: readonly SftItem[],
  chunks = (pool?.helpers ?? 0) + 1,
): Promise<{ seq: number[]; tok: number[][] }> {
  const parts = await onReplicas(pool, contiguousChunks(items, chunks), (c, helper) =>
    helper === undefined
      ? runTask('score', model, [], { items: c })
      : (pool as ReplicaPool).run(helper, 'score', { items: c }),
  );
  return { seq: parts.flatMap((p) => p.seq), tok: parts.flatMap((p) => p.tok) };
}

/**
 * A data-parallel step for an objective of the whole batch's answer-token log-probs (preference objectives, GRPO),
 * exact for any objective, batch statistics included: (1) the replicas score their rows (no gradient); (2) here,
 * the objective and its gradient with respect to every gathered log-prob; (3) the replicas back-propagate those
 * upstream values through their rows (tokenVjpLoss) and the summed gradient makes one update. Each row runs forward
 * twice (once in 1, once in 3), the price of not knowing the objective's shape.
 *
 * `objective` gets the rows' token log-probs [rows, T−1] (zero outside answers, as responseLogprobs returns them)
 * as a constant and returns the loss; it runs inside tf.valueAndGrad, so metrics are read inside it.
 */
export async function parallelLogpStep(
  pool: ReplicaPool,
  opt: AdamW,
  model: Vlm,
  lr: number,
  items: readonly SftItem[],
  objective: (tokenLogps: tf.Tensor) => tf.Scalar,
): Promise<StepResult> {
  const shards = stridedShards(
    items.map((_, i) => i),
    pool.helpers + 1,
  );
  const rowsOf = (ix: number[]) => ix.map((i) => items[i] as SftItem);
  const [mine, ...theirs] = shards as [number[], ...number[][]];
  const scoring = theirs.map((ix, w) => pool.run(w, 'score', { items: rowsOf(ix) }));
  const scored = [runTask('score', model, [], { items: rowsOf(mine) }), ...(await Promise.all(scoring))];
  const tok: number[][] = new Array(items.length);
  shards.forEach((ix, k) => {
    ix.forEach((i, j) => {
      tok[i] = scored[k]?.tok[j] ?? [];
    });
  });
  const placed = placeAnswerValues(model, items, tok);
  const W = placed.shape[1];
  const [value, grad] = tf.tidy(() => {
    const x = tf.tensor2d(placed.data, placed.shape);
    const r = tf.valueAndGrad((t: tf.Tensor) => objective(t))(x);
    return [r.value, r.grad];
  });
  // read outside the tidy (stack.md trap 3)
  const loss = value.dataSync()[0] as number;
  const upstream = grad.dataSync() as Float32Array;
  value.dispose();
  grad.dispose();
  // back to per-row answer-token lists (only answer positions carry log-probs in the real graph)
  const up = items.map((_, r) => {
    const out: number[] = [];
    for (let t = 0; t < W; t++) if (placed.answerMask[r * W + t]) out.push(upstream[r * W + t] as number);
    return out;
  });
  const inputs = shards.map((ix) => ({ items: rowsOf(ix), upstream: ix.map((i) => up[i] as number[]) }));
  const r = await parallelStep(pool, opt, model, lr, 'vjpGrad', inputs);
  return { loss, gradNorm: r.gradNorm, metrics: {} };
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

/** Runs `run` with a training pool for `model` (or none for one worker), closing the pool however `run` ends. */
export async function withTrainingPool<T>(
  model: Vlm,
  workers: number | undefined,
  run: (pool: ReplicaPool | undefined) => Promise<T>,
): Promise<T> {
  const pool = await openTrainingPool(model, workers);
  try {
    return await run(pool);
  } finally {
    await pool?.close();
  }
}
