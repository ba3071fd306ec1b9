import { parentPort, workerData } from 'node:worker_threads';
import { errorToData } from '../../util/errors.ts';
import { type GenerateOptions, generateWorld, type WorldConfig } from '../../world/index.ts';

/** Runs in a worker thread (see ../world-run.ts): generateWorld is synchronous, and the main thread must stay free to
 * hear Ctrl-C. Progress and the result go back as messages. */
export interface WorldJob {
  config: WorldConfig;
  opts: Omit<GenerateOptions, 'onProgress'>;
}

const { config, opts } = workerData.input as WorldJob;
try {
  let last = 0;
  const manifest = generateWorld(config, {
    ...opts,
    onProgress: (done, total) => {
      // a message per sample would flood the channel: every 50, and the last
      if (done - last >= 50 || done === total) {
        last = done;
        parentPort?.postMessage({ type: 'progress', done, total });
      }
    },
  });
  parentPort?.postMessage({ type: 'done', manifest });
} catch (e) {
  parentPort?.postMessage({ type: 'error', error: errorToData(e) });
}
