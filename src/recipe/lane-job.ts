import { parentPort, workerData } from 'node:worker_threads';
import { initTf } from '../nn/index.ts';
import { errorToData } from '../util/errors.ts';
import { runCachedStage } from './cache.ts';
import type { FromLane, LaneData, ToLane } from './lanes.ts';
import { methodRunner, type StageRunner } from './methods.ts';

/** One lane (see ./lanes.ts): runs the methods it is sent, one at a time, and reports stages as they end. */
const port = parentPort;
if (!port) throw new Error('lane-job.ts runs inside a worker thread');
const { backend, ctx } = workerData as LaneData;
await initTf(backend);

const post = (m: FromLane) => port.postMessage(m);
const stage: StageRunner = async (name, material, run) => {
  post({ type: 'stage', name, state: 'start' });
  const r = await runCachedStage(ctx.out, name, material, run);
  post({ type: 'stage', name, state: r.cached ? 'cached' : 'done', seconds: r.seconds });
  return r;
};
const runner = methodRunner(ctx, stage, { log: (line) => post({ type: 'log', line }) });

port.on('message', async (m: ToLane) => {
  try {
    post({ type: 'done', method: m.method, records: await runner.alignAndEval(m.method) });
  } catch (e) {
    post({ type: 'failed', method: m.method, error: errorToData(e) });
  }
});
