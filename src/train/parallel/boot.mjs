// Worker entry: worker threads do not inherit the TypeScript loader the main thread registered (bin/mmalign.mjs
// calls tsx's register()), so each worker registers it before importing the TypeScript worker module.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
