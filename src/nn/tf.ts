import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/**
 * tfjs on the wasm backend (SIMD, one thread: Node cannot run wasm threads). Call `await initTf()` once before any
 * tensor work. The cpu backend is kept for reference tests. Known wasm gaps: no `gather` gradient (use one-hot
 * matmuls), no conv backprop (patchify by reshape), and `tf.logSigmoid`'s gradient crashes (use softplus(−z)).
 */
export type TfBackend = 'wasm' | 'cpu';

let ready: Promise<void> | undefined;
let current: TfBackend | undefined;

export async function initTf(
  backend: TfBackend = (process.env.MMALIGN_TF_BACKEND as TfBackend | undefined) ?? 'wasm',
): Promise<typeof tf> {
  if (current === backend && ready) {
    await ready;
    return tf;
  }
  current = backend;
  ready = (async () => {
    if (backend === 'wasm') {
      const require = createRequire(import.meta.url);
      setWasmPaths(`${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'))}/dist/`);
    }
    await tf.setBackend(backend);
    await tf.ready();
  })();
  await ready;
  return tf;
}

export { tf };
