import {
  type GeneratedText,
  type GenerateRequest,
  generateText,
  type SampleOptions,
  type tf,
  type Vlm,
} from '../../nn/index.ts';
import { type ShardGradient, shardGradient } from '../common.ts';
import { type SftItem, sftShardLoss, tokenVjpLoss } from '../losses.ts';
import { scoreItems } from '../pref-batch.ts';

/**
 * The work a replica does, one table for both sides: the main thread runs shard 0 of a step through the same
 * function a worker runs for its shard, so replicas differ in nothing but their rows.
 */
export interface TaskTable {
  /** SFT: gradient of −Σ answer log-probs of these rows / denom (the answer tokens of the whole batch) */
  sftGrad: { input: { items: SftItem[]; denom: number }; output: ShardGradient };
  /** log-probs without gradients: per row the sequence log-prob and its answer tokens' (pref-batch scoreItems) */
  score: { input: { items: SftItem[] }; output: { seq: number[]; tok: number[][] } };
  /** gradient of Σ upstream ⊙ answer-token log-probs of these rows (see losses.ts tokenVjpLoss) */
  vjpGrad: { input: { items: SftItem[]; upstream: number[][] }; output: ShardGradient };
  /** decoding (greedy or sampled) with the replica's weights; seeds are per request, so sharding changes nothing */
  generate: { input: { requests: GenerateRequest[]; opts: SampleOptions }; output: GeneratedText[][] };
}
export type TaskKind = keyof TaskTable;
export type TaskInput<K extends TaskKind> = TaskTable[K]['input'];
export type TaskOutput<K extends TaskKind> = TaskTable[K]['output'];

type Runner<K extends TaskKind> = (model: Vlm, params: [string, tf.Variable][], input: TaskInput<K>) => TaskOutput<K>;

export const TASKS: { [K in TaskKind]: Runner<K> } = {
  sftGrad: (model, params, { items, denom }) => shardGradient(params, () => sftShardLoss(model, items, denom)),
  score: (model, _params, { items }) => scoreItems(model, items),
  vjpGrad: (model, params, { items, upstream }) => shardGradient(params, () => tokenVjpLoss(model, items, upstream)),
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
