import {
  type GeneratedText,
  type GenerateRequest,
  generateText,
  type SampleOptions,
  type Vlm,
} from '../../nn/index.ts';
import type { ReplicaPool } from './pool.ts';

/**
 * `generateText` with the requests split into contiguous chunks across the replicas (chunk 0 on this thread),
 * answers back in request order. Output does not depend on the number of replicas: each sample's Rng is seeded by
 * (seed, request key, sample index), never by its batch, and a row's logits do not depend on the other rows of its
 * batch (tested). A pool that holds another model is given this one first; a trainer's pool keeps its model's
 * current weights through pool.setWeights after each update.
 */
export async function generateParallel(
  pool: ReplicaPool | undefined,
  model: Vlm,
  requests: readonly GenerateRequest[],
  opts: SampleOptions = {},
): Promise<GeneratedText[][]> {
  if (!pool || requests.length < 2) return generateText(model, requests, opts);
  // one seed for every chunk (generateText would draw its own per call)
  const seeded = { ...opts, seed: opts.seed ?? Math.floor(Math.random() * 2 ** 31) };
  const chunks = contiguousChunks(requests, pool.helpers + 1);
  const [mine, ...theirs] = chunks as [GenerateRequest[], ...GenerateRequest[][]];
  // a shared pool may hold another model: the copy is posted before the tasks, so they run on it
  const loading = pool.holds(model) ? undefined : pool.load(model);
  const inFlight = theirs.map((c, w) => pool.run(w, 'generate', { requests: c, opts: seeded }));
  const local = generateText(model, mine, seeded);
  await loading;
  return [...local, ...(await Promise.all(inFlight)).flat()];
}

/** `rows` cut into at most `n` contiguous chunks of near-equal size (the first ones one longer), none empty. */
export function contiguousChunks<T>(rows: readonly T[], n: number): T[][] {
  const k = Math.min(n, rows.length);
  const out: T[][] = [];
  let at = 0;
  for (let i = 0; i < k; i++) {
    const size = Math.floor(rows.length / k) + (i < rows.length % k ? 1 : 0);
    out.push(rows.slice(at, at + size));
    at += size;
  }
  return out;
}
