// Worker threads do not inherit the main thread's tsx loader: register it here, then run the TypeScript job.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.job);
