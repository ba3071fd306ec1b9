import {
  type GeneratedText,
  type GenerateRequest,
  generateText,
  type SampleOptions,
  type tf,
  type Vlm,
} from '../../nn/index.ts';
import { type ShardGradient, shardGradient } from '../common.ts';
import { type SftItem, sftShardLoss } from '../losses.ts';

/**
 * The work a replica does, one table for both sides: the main thread runs shard 0 of a step through the same
 * function a worker runs for its shard, so replicas differ in nothing but their rows.
 */
export interface TaskTable {
  /** SFT: gradient of −Σ answer log-probs of these rows / denom (the answer tokens of the whole batch) */
  sftGrad: { input: { items: SftItem[]; denom: number }; output: ShardGradient };
  /** decoding (greedy or sampled) with the replica's weights; seeds are per request, so sharding changes nothing */
  generate: { input: { requests: GenerateRequest[]; opts: SampleOptions }; output: GeneratedText[][] };
}
export type TaskKind = keyof TaskTable;
export type TaskInput<K extends TaskKind> = TaskTable[K]['input'];
export type TaskOutput<K extends TaskKind> = TaskTable[K]['output'];

type Runner<K extends TaskKind> = (model: Vlm, params: [string, tf.Variable][], input: TaskInput<K>) => TaskOutput<K>;

export const TASKS: { [K in TaskKind]: Runner<K> } = {
  sftGrad: (model, params, { items, denom }) => shardGradient(params, () => sftShardLoss(model, items, denom)),
  generate: (model, _params, { requests, opts }) => generateText(model, requests, opts),
};

export function runTask<K extends TaskKind>(
  kind: K,
  model: Vlm,
  params: [string, tf.Variable][],
  input: TaskInput<K>,
): TaskOutput<K> {
  return (TASKS[kind] as Runner<K>)(model, params, input);
}
