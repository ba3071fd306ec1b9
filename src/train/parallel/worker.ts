import { parentPort, workerData } from 'node:worker_threads';
import { initTf, namedWeights, type tf, type Vlm, WordTokenizer } from '../../nn/index.ts';
import { checkConfig, initWeights } from '../../nn/vlm.ts';
import { assignFlat } from '../common.ts';
import type { FromWorker, ToWorker, WorkerData } from './protocol.ts';
import { runTask } from './tasks.ts';

/**
 * One replica: its own tfjs-wasm instance and a copy of the model, answering the pool's requests in order. Float32
 * results are copied out of wasm memory into their own buffers and transferred, not cloned.
 */
const port = parentPort;
if (!port) throw new Error('worker.ts runs inside a worker thread');
await initTf((workerData as WorkerData).backend);

let model: Vlm | undefined;
let params: [string, tf.Variable][] = [];

function transferables(value: unknown, out: ArrayBuffer[] = []): ArrayBuffer[] {
  if (value instanceof Float32Array && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) {
    out.push(value.buffer as ArrayBuffer);
  } else if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value)) transferables(v, out);
  }
  return out;
}

port.on('message', (msg: ToWorker) => {
  try {
    if (msg.type === 'load') {
      if (model) for (const [, v] of namedWeights(model.weights)) v.dispose();
      const weights = initWeights(checkConfig(msg.config), 0);
      assignFlat(namedWeights(weights), msg.weights);
      model = { config: msg.config, weights, tokenizer: WordTokenizer.fromJSON(msg.tokenizer) };
      const byName = new Map(namedWeights(weights));
      params = msg.trainable.map((name) => [name, byName.get(name) as tf.Variable]);
      port.postMessage({ id: msg.id, type: 'done', output: null } satisfies FromWorker);
      return;
    }
    if (!model) throw new Error('no model loaded');
    if (msg.weights) assignFlat(params, msg.weights);
    const output = runTask(msg.kind, model, params, msg.input as never);
    // dataSync may hand out views of a shared buffer: copy each float array into its own before transferring
    const own = copyFloatArrays(output);
    port.postMessage({ id: msg.id, type: 'done', output: own } satisfies FromWorker, transferables(own));
  } catch (e) {
    const err = e as Error;
    port.postMessage({ id: msg.id, type: 'failed', message: err.message, stack: err.stack } satisfies FromWorker);
  }
});

function copyFloatArrays<T>(value: T): T {
  if (value instanceof Float32Array) return Float32Array.from(value) as T;
  if (Array.isArray(value)) return value.map(copyFloatArrays) as T;
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyFloatArrays(v)])) as T;
  }
  return value;
}

port.postMessage({ type: 'ready' } satisfies FromWorker);
