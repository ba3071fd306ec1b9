import type { TfBackend, VlmConfig } from '../../nn/index.ts';
import type { TaskKind } from './tasks.ts';

/** Messages between the pool (main thread) and a replica worker. */
export type ToWorker =
  | {
      id: number;
      type: 'load';
      config: VlmConfig;
      tokenizer: unknown;
      /** every weight, flattened in namedWeights order */
      weights: Float32Array;
      /** the names of the weights gradients are taken for (the trainer's params), in order */
      trainable: string[];
    }
  | {
      id: number;
      type: 'task';
      kind: TaskKind;
      input: unknown;
      /** new values of the trainable weights (flat, in order), applied before the task */
      weights?: Float32Array;
    };

export type FromWorker =
  | { type: 'ready' }
  | { id: number; type: 'done'; output: unknown }
  | { id: number; type: 'failed'; message: string; stack?: string };

export interface WorkerData {
  entry: string;
  backend: TfBackend;
}
