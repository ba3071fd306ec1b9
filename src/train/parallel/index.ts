/**
 * Data parallelism on worker threads: a pool of model replicas (one tfjs-wasm instance per thread), a data-parallel
 * optimisation step (shard gradients summed, one update, weights re-broadcast), and the table of replica tasks.
 */

export { contiguousChunks, generateParallel } from './generate.ts';
export { defaultWorkers, parseWorkers, ReplicaPool, stridedShards } from './pool.ts';
export { samplingPool, setSamplingWorkers } from './sampling.ts';
export { openTrainingPool, parallelLogpStep, parallelStep, scoreParallel, withTrainingPool } from './step.ts';
export { runTask, TASKS, type TaskInput, type TaskKind, type TaskOutput } from './tasks.ts';
