import { tf } from '../nn/tf.ts';
import { MmalignError } from '../util/errors.ts';
import { FIELDS, type FieldName, type ObjectiveBatch, type ObjectiveFn, type ObjectiveParams } from './types.ts';

/**
 * The plumbing every objective shares: field access that names the objective and the field when one is missing,
 * −log σ written the one way whose gradient works on tfjs-wasm, a stop-gradient, and the wrapper that runs a body
 * inside `tidy` and reads all its metrics back with one `dataSync`.
 */

export class MissingFieldError extends MmalignError {
  readonly objective: string;
  readonly fields: readonly FieldName[];
  constructor(objective: string, fields: FieldName | readonly FieldName[]) {
    const list = typeof fields === 'string' ? [fields] : fields;
    const what = list.map((f) => `"${f}" (${FIELDS[f].doc})`).join(', ');
    super('MMALIGN_MISSING_FIELD', `objective "${objective}" needs field${list.length > 1 ? 's' : ''} ${what}`, {
      hint: `add ${list.map((f) => `"${f}"`).join(', ')} to the batch (docs/objectives.md lists what each objective needs)`,
    });
    this.name = 'MissingFieldError';
    this.objective = objective;
    this.fields = list;
  }
}

export class ObjectiveInputError extends MmalignError {
  constructor(objective: string, message: string) {
    super('MMALIGN_OBJECTIVE_INPUT', `objective "${objective}": ${message}`);
    this.name = 'ObjectiveInputError';
  }
}

/** Field access for one objective call: `f.req('policy_chosen_logps')` throws MissingFieldError naming both. */
export interface Fields {
  readonly objective: string;
  req(name: FieldName): tf.Tensor;
  opt(name: FieldName): tf.Tensor | undefined;
  /** β as a scalar or [B] tensor; `fallback` when the batch has none (TRL defaults). */
  beta(fallback: number): tf.Tensor;
}

export function fieldsOf(objective: string, batch: ObjectiveBatch): Fields {
  return {
    objective,
    req(name) {
      const t = batch[name];
      if (!t) throw new MissingFieldError(objective, name);
      return t;
    },
    opt: (name) => batch[name],
    beta: (fallback) => batch.beta ?? tf.scalar(fallback),
  };
}

export type ObjectiveBody = (
  f: Fields,
  p: ObjectiveParams,
) => { loss: tf.Scalar; metrics: Record<string, tf.Tensor | number> };

/**
 * Turn a body into a public objective. The body runs inside `tidy` (only the loss survives); metric tensors are
 * stacked and read with a single `dataSync` outside the tidy (reading inside tidy walks the array: stack.md trap 3).
 */
export function defineObjective(name: string, body: ObjectiveBody): ObjectiveFn {
  const fn: ObjectiveFn = (batch, params = {}) => {
    const f = fieldsOf(name, batch);
    const out = tf.tidy(() => {
      const r = body(f, params);
      const tensorNames = Object.keys(r.metrics).filter((k) => typeof r.metrics[k] !== 'number');
      const packed =
        tensorNames.length > 0
          ? tf.stack(tensorNames.map((k) => tf.cast(tf.reshape(r.metrics[k] as tf.Tensor, []), 'float32')))
          : tf.zeros([0]);
      const plain: Record<string, number> = {};
      for (const [k, v] of Object.entries(r.metrics)) if (typeof v === 'number') plain[k] = v;
      return { loss: r.loss, packed, tensorNames, plain, order: Object.keys(r.metrics) };
    });
    const values = out.packed.dataSync();
    out.packed.dispose();
    const byName: Record<string, number> = { ...out.plain };
    out.tensorNames.forEach((k, i) => {
      byName[k] = values[i]!;
    });
    const metrics: Record<string, number> = {};
    for (const k of out.order) metrics[k] = byName[k]!;
    return { loss: out.loss as tf.Scalar, metrics };
  };
  Object.defineProperty(fn, 'name', { value: name });
  return fn;
}

/** −log σ(z) = softplus(−z). `tf.logSigmoid`'s gradient crashes on tfjs-wasm (stack.md trap 4). */
export function nls(z: tf.Tensor): tf.Tensor {
  return tf.softplus(tf.neg(z));
}

/** Identity forward, zero gradient (torch's `.detach()`). */
const detach = tf.customGrad((...inputs) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));
export function stopGradient(x: tf.Tensor): tf.Tensor {
  return detach(x);
}

export function mean(x: tf.Tensor): tf.Scalar {
  return tf.mean(x) as tf.Scalar;
}

/** TRL's reward metrics from the two implicit rewards per pair: means, margin, and the share of pairs ranked right. */
export function rewardMetrics(chosen: tf.Tensor, rejected: tf.Tensor): Record<string, tf.Tensor> {
  return {
    'rewards/chosen': tf.mean(chosen),
    'rewards/rejected': tf.mean(rejected),
    'rewards/margins': tf.mean(tf.sub(chosen, rejected)),
    'rewards/accuracies': tf.mean(tf.cast(tf.greater(chosen, rejected), 'float32')),
  };
}

/**
 * z = [log π_θ(y_w) − log π_θ(y_l)] − [log π_ref(y_w) − log π_ref(y_l)], and the implicit-reward metrics
 * h(y_w), h(y_l) with β. `detached` rewards never carry gradient (they are metrics only).
 */
export function pairLogits(f: Fields, beta: tf.Tensor) {
  const pw = f.req('policy_chosen_logps');
  const pl = f.req('policy_rejected_logps');
  const rw = f.req('reference_chosen_logps');
  const rl = f.req('reference_rejected_logps');
  const chosenRatio = tf.sub(pw, rw);
  const rejectedRatio = tf.sub(pl, rl);
  const z = tf.sub(chosenRatio, rejectedRatio);
  const metrics = {
    ...rewardMetrics(tf.mul(beta, chosenRatio), tf.mul(beta, rejectedRatio)),
    'logps/chosen': tf.mean(pw),
    'logps/rejected': tf.mean(pl),
  };
  return { z, chosenRatio, rejectedRatio, metrics };
}

/** Token-mean NLL over a batch, Σ_i −log π(y_i) / Σ_i |y_i|: TRL's `F.cross_entropy` over all completion tokens. */
export function tokenMeanNll(logps: tf.Tensor, lengths: tf.Tensor): tf.Scalar {
  return tf.div(tf.neg(tf.sum(logps)), tf.sum(lengths)) as tf.Scalar;
}

/** Masked mean over all entries. */
export function maskedMean(x: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}
