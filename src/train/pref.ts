import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
  type CheckpointConfig,
  loadCheckpoint,
  namedWeights,
  saveCheckpoint,
  sha256,
  tf,
  type Vlm,
} from '../nn/index.ts';
import { hashString, Rng } from '../nn/rng.ts';
import { getObjective, type ObjectiveName, ParamsSchema } from '../objectives/index.ts';
import { MmalignError } from '../util/errors.ts';
import {
  AdamW,
  LAST_DIR,
  loadTrainerState,
  lrAt,
  OptimConfig,
  readFlat,
  saveTrainingCheckpoint,
  TRAINER_STATE_FILE,
  type TrainerState,
  trainableWeights,
  trainStep,
} from './common.ts';
import { placeAnswerValues } from './losses.ts';
import { parallelLogpStep, type ReplicaPool, scoreParallel, withTrainingPool } from './parallel/index.ts';
import {
  makePlan,
  type Plan,
  type RefEntry,
  type Row,
  type RowScorer,
  referenceEntries,
  rowsFor,
  scoreRows,
  stepBatch,
  usableExamples,
} from './pref-batch.ts';
import { type PrefExample, unitHash } from './pref-data.ts';
import { type ReplayOptions, withReplay } from './replay.ts';

/**
 * Offline preference training of the embedded VLM with any objective of the table (pairs, image pairs with a
 * corrupted I_neg, segment weights, unpaired KTO / FDPO). Reference log-probs are computed once from the starting
 * model and cached in `<out>/reference_logps.json` (reference-free objectives skip them on the training set).
 * Every step logs the objective's metrics and the shift of log π_θ(y_w) from the reference (pure DPO is known to
 * push it down); held-out preference accuracy every `evalEvery` steps drives early stopping, and the best weights
 * are what the output checkpoint holds.
 */
export const PrefConfig = z.strictObject({
  objective: z.string(),
  /** β (default: the objective's, 0.1 for the DPO family) */
  beta: z.number().positive().optional(),
  params: ParamsSchema.prefault({}),
  seed: z.number().int().default(0),
  steps: z.number().int().positive().default(200),
  batchSize: z.number().int().positive().default(16),
  optim: OptimConfig.prefault({ lr: 3e-4, minLr: 3e-5, warmupSteps: 10 }),
  evalFraction: z.number().min(0).lt(1).default(0.1),
  evalEvery: z.number().int().nonnegative().default(25),
  evalMax: z.number().int().positive().default(256),
  /** evals without improvement before stopping (0 = never stop early) */
  patience: z.number().int().nonnegative().default(4),
  earlyStopMetric: z.enum(['accuracy', 'loss']).default('accuracy'),
  /** I_neg for records without rejectedMedia */
  corruption: z.enum(['noise', 'blank']).default('noise'),
  /** dense_dpo: γ on corrected tokens (RLHF-V `dpo_token_weight`) */
  segmentWeight: z.number().positive().default(3),
  checkpointEvery: z.number().int().nonnegative().default(50),
});
export type PrefConfig = z.output<typeof PrefConfig>;
export type PrefConfigInput = z.input<typeof PrefConfig>;

export interface PrefEval {
  /**
   * share of held-out pairs the implicit reward ranks right (strictly, as TRL's rewards/accuracies: 0 at step 0);
   * unpaired objectives: share of examples whose implicit reward has the right sign
   */
  accuracy: number;
  /** objective loss on the held-out set */
  loss: number;
  /** mean log π_θ(y_w) − log π_ref(y_w) on the held-out set */
  chosenShift: number;
  /** mean log π_θ(y_w) */
  chosenLogps: number;
  pairs: number;
}

export interface PrefProgress {
  step: number;
  totalSteps: number;
  loss: number;
  metrics: Record<string, number>;
  eval?: PrefEval;
}

export interface PrefResult {
  model: Vlm;
  config: PrefConfig;
  stepsRun: number;
  lastStep: number;
  bestStep: number;
  stoppedEarly: boolean;
  before: PrefEval;
  after: PrefEval;
  history: Record<string, number>[];
  wallMs: number;
  referenceFromCache: boolean;
}

export interface PrefRunOptions {
  config: PrefConfigInput;
  /** the starting model = the reference (weights are trained in place) */
  model: Vlm;
  train: readonly PrefExample[];
  eval?: readonly PrefExample[];
  outDir?: string;
  resume?: boolean;
  data?: CheckpointConfig['data'];
  onProgress?: (p: PrefProgress) => void;
  onReference?: (done: number, total: number) => void;
  /**
   * data-parallel replicas on worker threads (default 1 = all on this thread): reference and held-out scoring split
   * across them, and each step's rows too (parallel/step.ts parallelLogpStep: exact for any objective)
   */
  workers?: number;
  /** λ · SFT loss on a batch of the SFT mixture at every step, against forgetting (replay.ts) */
  replay?: ReplayOptions;
}

function splitEval(examples: readonly PrefExample[], fraction: number, seed: number) {
  const held = (e: PrefExample) => unitHash(e.id, seed) < fraction;
  return { train: examples.filter((e) => !held(e)), eval: examples.filter(held) };
}

function weightsHash(m: Vlm): string {
  const h = namedWeights(m.weights).map(
    ([n, v]) => `${n}:${sha256(new Uint8Array((v.dataSync() as Float32Array).buffer))}`,
  );
  return sha256(h.join('\n'));
}

const REF_FILE = 'reference_logps.json';

async function referenceCache(
  plan: Plan,
  model: Vlm,
  examples: readonly PrefExample[],
  src: { corruption: PrefConfig['corruption']; seed: number },
  key: string,
  outDir: string | undefined,
  onBatch?: (d: number, t: number) => void,
  score?: RowScorer,
): Promise<{ refs: Map<string, RefEntry>; cached: boolean }> {
  const file = outDir ? path.join(outDir, REF_FILE) : undefined;
  if (file) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text) {
      const saved = JSON.parse(text) as { key: string; entries: Record<string, RefEntry> };
      if (saved.key === key && examples.every((e) => saved.entries[e.id]))
        return { refs: new Map(Object.entries(saved.entries)), cached: true };
    }
  }
  const refs = await referenceEntries(plan, model, examples, src, onBatch, score);
  if (file) {
    await mkdir(outDir!, { recursive: true });
    await writeFile(file, JSON.stringify({ key, entries: Object.fromEntries(refs) }));
  }
  return { refs, cached: false };
}

/** Rows as the items a replica scores. */
const rowItems = (rows: readonly Row[]) =>
  rows.map((r) => ({ image: r.image, prompt: r.ex.prompt, response: r.response }));

/** Scores rows on this thread, or split across the pool's replicas (same values: a row's scores ignore its batch). */
function rowScorer(model: Vlm, pool: ReplicaPool | undefined): RowScorer {
  return pool ? (rows) => scoreParallel(pool, model, rowItems(rows)) : (rows) => scoreRows(model, rows);
}

/** Held-out evaluation: objective loss, implicit-reward accuracy, chosen shift (batches of 64, no gradients). */
async function evaluate(
  plan: Plan,
  model: Vlm,
  examples: readonly PrefExample[],
  refs: Map<string, RefEntry>,
  beta: number,
  params: Record<string, unknown>,
  src: { corruption: PrefConfig['corruption']; seed: number },
  pool?: ReplicaPool,
): Promise<PrefEval> {
  let lossSum = 0;
  let n = 0;
  for (let i = 0; i < examples.length; i += 64) {
    const { rows } = rowsFor(plan, examples.slice(i, i + 64), src);
    // with replicas: the rows' log-probs are gathered from them and the objective runs here on those values
    const gathered = pool
      ? placeAnswerValues(model, rowItems(rows), (await scoreParallel(pool, model, rowItems(rows))).tok)
      : undefined;
    const loss = tf.tidy(() => {
      const tokenLogps = gathered ? tf.tensor2d(gathered.data, gathered.shape) : undefined;
      const { batch } = stepBatch(plan, model, rows, needsRefs(plan) ? refs : null, beta, tokenLogps);
      return plan.entry.fn(batch, params).loss;
    });
    lossSum += (loss.dataSync()[0] as number) * Math.min(64, examples.length - i);
    n += Math.min(64, examples.length - i);
    loss.dispose();
  }
  // implicit reward accuracy: y_w over y_l (or y_w under I over I_neg when there is no y_l)
  const { rows } = rowsFor(plan, examples, src);
  const { seq, tok } = await rowScorer(model, pool)(rows);
  const by = new Map<string, Partial<Record<string, number>>>();
  rows.forEach((r, k) => {
    const e = by.get(r.ex.id) ?? {};
    e[r.role] = seq[k];
    e[`${r.role}Len`] = tok[k]!.length;
    by.set(r.ex.id, e);
  });
  let right = 0;
  let pairs = 0;
  let shift = 0;
  let logps = 0;
  let chosen = 0;
  for (const e of examples) {
    const p = by.get(e.id);
    const ref = refs.get(e.id);
    if (!p || !ref) continue;
    if (p.w !== undefined && ref.w !== undefined) {
      shift += p.w - ref.w;
      logps += p.w;
      chosen++;
    }
    if (!plan.paired) {
      // unpaired (kto, fdpo): the implicit reward's sign should say desirable / undesirable
      if (p.w !== undefined && ref.w !== undefined) {
        right += p.w - ref.w > 0 ? 1 : 0;
        pairs++;
      }
      if (p.l !== undefined && ref.l !== undefined) {
        right += p.l - ref.l < 0 ? 1 : 0;
        pairs++;
      }
      continue;
    }
    const other = p.l !== undefined ? 'l' : p.wNeg !== undefined ? 'wNeg' : undefined;
    if (!other || p.w === undefined) continue;
    const margin = plan.entry.referenceFree
      ? p.w / p.wLen! - p[other]! / p[`${other}Len`]!
      : p.w - ref.w! - (p[other]! - ref[other as 'l' | 'wNeg']!);
    if (margin > 0) right++;
    pairs++;
  }
  return {
    accuracy: pairs ? right / pairs : Number.NaN,
    loss: n ? lossSum / n : Number.NaN,
    chosenShift: chosen ? shift / chosen : Number.NaN,
    chosenLogps: chosen ? logps / chosen : Number.NaN,
    pairs,
  };
}

/** Whether the objective reads any reference field (reference-free ones never do). */
function needsRefs(plan: Plan): boolean {
  return [...plan.entry.needs, ...plan.entry.optional].some((f) => f.startsWith('reference_'));
}

function snapshot(m: Vlm): Float32Array[] {
  return namedWeights(m.weights).map(([, v]) => (v.dataSync() as Float32Array).slice());
}

function restore(m: Vlm, snap: Float32Array[]): void {
  namedWeights(m.weights).forEach(([, v], i) => {
    const t = tf.tensor(snap[i]!, v.shape);
    v.assign(t);
    t.dispose();
  });
}

function resumeKey(c: PrefConfig): string {
  const { steps: _s, patience: _p, ...rest } = c;
  return JSON.stringify(rest);
}

export async function trainPreference(opts: PrefRunOptions): Promise<PrefResult> {
  return withTrainingPool(opts.model, opts.workers, (pool) => runPreference(opts, pool));
}

async function runPreference(opts: PrefRunOptions, pool: ReplicaPool | undefined): Promise<PrefResult> {
  const config = PrefConfig.parse(opts.config);
  const entry = getObjective(config.objective);
  const name = config.objective as ObjectiveName;
  const badParams = Object.keys(config.params).filter((k) => !(entry.params as readonly string[]).includes(k));
  if (badParams.length)
    throw new MmalignError('MMALIGN_BAD_CONFIG', `objective "${name}" does not take ${badParams.join(', ')}`, {
      hint: `it takes: ${entry.params.join(', ') || 'no params'}`,
    });
  const plan = makePlan(name, entry, config.segmentWeight);
  const beta = config.beta ?? entry.defaultBeta ?? 0.1;
  const src = { corruption: config.corruption, seed: config.seed };
  const split = opts.eval
    ? { train: [...opts.train], eval: [...opts.eval] }
    : splitEval(opts.train, config.evalFraction, config.seed);
  const train = usableExamples(plan, split.train).keep;
  const evalSet = usableExamples(plan, split.eval).keep.slice(0, config.evalMax);
  if (train.length === 0)
    throw new MmalignError('MMALIGN_NO_DATA', `no training examples ${name} can use`, {
      hint: `${name} trains on ${entry.data}; dropped: ${JSON.stringify(usableExamples(plan, split.train).dropped)}`,
    });
  const model = opts.model;
  const outDir = opts.outDir;
  const lastDir = outDir ? path.join(outDir, LAST_DIR) : undefined;
  const useRefs = needsRefs(plan);
  const key = sha256(
    JSON.stringify({
      model: weightsHash(model),
      data: opts.data?.sha256 ?? null,
      roles: plan.roles,
      src,
      tok: plan.tokens,
    }),
  );
  // the reference: the starting weights, scored once (eval always, train only when the objective reads it)
  const refExamples = useRefs ? [...train, ...evalSet] : evalSet;
  const { refs, cached } = await referenceCache(
    plan,
    model,
    refExamples,
    src,
    key,
    outDir,
    opts.onReference,
    rowScorer(model, pool),
  );
  const before = await evaluate(plan, model, evalSet, refs, beta, config.params, src, pool);

  let startStep = 0;
  let history: Record<string, number>[] = [];
  let best = { value: config.earlyStopMetric === 'accuracy' ? before.accuracy : -before.loss, step: 0 };
  let bad = 0;
  let running = { bcoSum: 0, bcoCount: 0, gap: 0 };
  const initialWeights = snapshot(model);
  let bestWeights: Float32Array[] = initialWeights;
  const params = trainableWeights(model);
  const opt = new AdamW(params, config.optim);
  if (opts.resume && lastDir && (await stat(path.join(lastDir, TRAINER_STATE_FILE)).catch(() => undefined))) {
    const saved = await loadTrainerState(lastDir);
    if (resumeKey(PrefConfig.parse(saved.state.config)) !== resumeKey(config))
      throw new MmalignError('MMALIGN_RESUME_MISMATCH', `${lastDir} was trained with a different config`, {
        hint: 'resume with the same config (only steps and patience may change), or use a new --out',
      });
    const trained = await loadCheckpoint(lastDir);
    namedWeights(model.weights).forEach(([n, v]) => {
      const src2 = namedWeights(trained.weights).find(([m]) => m === n)![1];
      v.assign(src2);
    });
    for (const [, v] of namedWeights(trained.weights)) v.dispose();
    opt.loadState(saved.optimizer, saved.state.optimizerT);
    startStep = saved.state.step;
    history = saved.state.history as Record<string, number>[];
    await pool?.load(model);
    const extra = saved.state as unknown as { best: typeof best; bad: number; running: typeof running };
    best = extra.best;
    bad = extra.bad;
    running = extra.running;
    const bestDir = path.join(outDir!, 'best');
    if (best.step > 0 && (await stat(path.join(bestDir, 'config.json')).catch(() => undefined))) {
      const b = await loadCheckpoint(bestDir);
      bestWeights = snapshot(b);
      for (const [, v] of namedWeights(b.weights)) v.dispose();
    }
  }
  const metricsFile = outDir ? path.join(outDir, 'metrics.jsonl') : undefined;
  if (metricsFile) {
    await mkdir(outDir!, { recursive: true });
    await writeFile(metricsFile, history.map((h) => `${JSON.stringify(h)}\n`).join(''));
  }
  const saveLast = async (step: number) => {
    if (!lastDir) return;
    const state = {
      step,
      optimizerT: opt.t,
      config: config as unknown as Record<string, unknown>,
      dataSha256: opts.data?.sha256,
      history,
      best,
      bad,
      running,
    } as TrainerState;
    await saveTrainingCheckpoint(lastDir, model, opt, state, { training: { pref: config }, data: opts.data ?? null });
  };

  let perm: number[] = [];
  let permEpoch = -1;
  const exampleAt = (k: number): PrefExample => {
    const epoch = Math.floor(k / train.length);
    if (epoch !== permEpoch) {
      perm = new Rng(hashString(`epoch:${epoch}`, config.seed >>> 0)).shuffle(train.map((_, i) => i));
      permEpoch = epoch;
    }
    return train[perm[k % train.length]!]!;
  };
  const B = Math.min(config.batchSize, train.length);
  const started = performance.now();
  let step = startStep;
  let stoppedEarly = false;
  let lastEval = before;
  for (; step < config.steps; step++) {
    const batchEx = Array.from({ length: B }, (_, i) => exampleAt(step * B + i));
    const { rows } = rowsFor(plan, batchEx, src);
    const stepParams = { ...config.params };
    // trainer-held state of the objectives that have some: BCO's running δ, DAMA's running model gap
    if ((name === 'bco_pair' || name === 'mpo') && stepParams.delta === undefined && running.bcoCount > 0)
      stepParams.delta = running.bcoSum / running.bcoCount;
    if (name === 'dama' && stepParams.model_gap_mean === undefined) stepParams.model_gap_mean = running.gap;
    let objMetrics: Record<string, number> = {};
    const lr = lrAt(step, config.steps, config.optim);
    // metrics are read inside the closure: tensors passed to trainStep's `report` are disposed by variableGrads
    // before trainStep reads them (common.ts), so they cannot be used from here
    const objective = (tokenLogps?: tf.Tensor) => {
      const { batch, chosenShift, chosenLogps } = stepBatch(plan, model, rows, useRefs ? refs : null, beta, tokenLogps);
      const out = entry.fn(batch, stepParams);
      objMetrics = { ...out.metrics, 'logps/chosen_policy': chosenLogps.dataSync()[0]! };
      if (chosenShift) objMetrics['logps/chosen_shift'] = chosenShift.dataSync()[0]!;
      return out.loss;
    };
    // the data-parallel step differentiates the objective through the gathered log-probs only: a step with a replay
    // term (a loss on other rows) runs on this thread, and the helpers get its weights
    const replaying = !!opts.replay && opts.replay.weight > 0 && opts.replay.examples.length > 0;
    const r =
      pool && !replaying
        ? await parallelLogpStep(pool, opt, model, lr, rowItems(rows), objective)
        : trainStep(opt, lr, (report) => withReplay(objective(), model, opts.replay, step, report));
    if (pool && replaying) pool.setWeights(opt.values ?? readFlat(params));
    if (objMetrics['bco/delta'] !== undefined) {
      running.bcoSum += objMetrics['bco/delta'];
      running.bcoCount += 1;
    }
    if (objMetrics['dama/model_gap_mean_next'] !== undefined) running.gap = objMetrics['dama/model_gap_mean_next'];
    const row: Record<string, number> = {
      step: step + 1,
      loss: r.loss,
      lr,
      gradNorm: r.gradNorm,
      ...objMetrics,
      ...r.metrics,
    };
    const isLast = step + 1 === config.steps;
    let ev: PrefEval | undefined;
    if (evalSet.length && ((config.evalEvery > 0 && (step + 1) % config.evalEvery === 0) || isLast)) {
      ev = await evaluate(plan, model, evalSet, refs, beta, config.params, src, pool);
      lastEval = ev;
      Object.assign(row, {
        'eval/accuracy': ev.accuracy,
        'eval/loss': ev.loss,
        'eval/chosen_shift': ev.chosenShift,
        'eval/logps_chosen': ev.chosenLogps,
      });
      const value = config.earlyStopMetric === 'accuracy' ? ev.accuracy : -ev.loss;
      if (value > best.value) {
        best = { value, step: step + 1 };
        bad = 0;
        bestWeights = snapshot(model);
        if (outDir)
          await saveCheckpoint(path.join(outDir, 'best'), model, {
            training: { pref: config },
            data: opts.data ?? null,
          });
      } else bad++;
    }
    history.push(row);
    if (metricsFile) await appendFile(metricsFile, `${JSON.stringify(row)}\n`);
    opts.onProgress?.({ step: step + 1, totalSteps: config.steps, loss: r.loss, metrics: row, eval: ev });
    if (config.patience > 0 && bad >= config.patience) {
      stoppedEarly = true;
      step++;
      break;
    }
    if (config.checkpointEvery > 0 && (step + 1) % config.checkpointEvery === 0 && !isLast) await saveLast(step + 1);
  }
  const wallMs = performance.now() - started;
  await saveLast(step);
  // with early stopping on, the output is the best held-out weights (possibly the starting model: bestStep 0)
  const keepBest = config.patience > 0 && evalSet.length > 0;
  if (keepBest) {
    restore(model, bestWeights);
    pool?.setWeights(readFlat(params));
  }
  const after = keepBest ? await evaluate(plan, model, evalSet, refs, beta, config.params, src, pool) : lastEval;
  if (outDir)
    await saveCheckpoint(outDir, model, {
      training: {
        pref: config,
        summary: {
          objective: name,
          stepsRun: step - startStep,
          lastStep: step,
          bestStep: best.step,
          stoppedEarly,
          before,
          after,
        },
      },
      data: opts.data ?? null,
    });
  opt.dispose();
  return {
    model,
    config,
    stepsRun: step - startStep,
    lastStep: step,
    bestStep: best.step,
    stoppedEarly,
    before,
    after,
    history,
    wallMs,
    referenceFromCache: cached,
  };
}
