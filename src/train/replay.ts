import { responseLogprobs, tf, type Vlm } from '../nn/index.ts';
import { hashString, Rng } from '../nn/rng.ts';
import type { SftExample } from './data.ts';

/**
 * Replay against forgetting: while aligning on one task's data, add λ · the SFT loss (token-mean NLL, as the SFT
 * trainer's) of a batch of the SFT mixture to every step's objective:
 *   L = L_align + λ · (−Σ_t log π_θ(y_t | x, I, y_<t) / Σ_t 1)  over the replay batch.
 * Why: the embedded model learns counting, arithmetic and the other formats in the short mixture phase at the end of
 * its SFT; 50 caption-only updates, even plain SFT on chosen captions, move those weights (counting 0.57 → 0.42
 * after SFT on the injected set's chosen captions). Rehearsal of the old tasks is the standard remedy (experience
 * replay; the "SFT term" of the survey's PPO-ptx, Ouyang et al. 2022 eq. 2, is the same idea with a pretraining mix).
 */
export interface ReplayOptions {
  /** the mixture to replay: the SFT world's examples without captions (see `replayExamples`) */
  examples: readonly SftExample[];
  /** λ; 0 turns replay off (the step is then exactly the alignment step) */
  weight: number;
  batchSize: number;
  seed: number;
}

/**
 * The SFT world's examples to replay: every task but captions, whose training references carry the world's
 * caption noise on purpose (they name absent prior partners: the hallucination source the alignment removes).
 * `exactCaptions` keeps the captions with their ground-truth text instead (for a method whose own data has no
 * captions, so that its updates do not drift the captioning it never sees).
 */
export function replayExamples(examples: readonly SftExample[], opts: { exactCaptions?: boolean } = {}): SftExample[] {
  return examples.flatMap((e) => {
    if (e.task !== 'caption') return [e];
    return opts.exactCaptions && e.exactAnswer !== undefined ? [{ ...e, answer: e.exactAnswer }] : [];
  });
}

/** Step `step`'s replay batch: a seeded draw (with replacement across steps), the same on every rerun. */
export function replayBatch(r: ReplayOptions, step: number): SftExample[] {
  const rng = new Rng(hashString(`replay:${step}`, r.seed >>> 0));
  return Array.from(
    { length: Math.min(r.batchSize, r.examples.length) },
    () => r.examples[rng.int(r.examples.length)]!,
  );
}

/** Token-mean NLL of the batch under the model: the SFT trainer's loss. */
export function replayLoss(m: Vlm, batch: readonly SftExample[]): tf.Scalar {
  const s = responseLogprobs(
    m,
    batch.map((e) => ({ image: e.image, prompt: e.prompt, response: e.answer })),
  );
  return tf.div(tf.neg(tf.sum(s.tokenLogps)), tf.maximum(tf.sum(s.mask), 1)) as tf.Scalar;
}

/** `loss + λ · replay NLL` for step `step` (the loss itself when replay is off); reports the NLL as `replay/nll`. */
export function withReplay(
  loss: tf.Scalar,
  m: Vlm,
  replay: ReplayOptions | undefined,
  step: number,
  report?: (name: string, t: tf.Tensor) => void,
): tf.Scalar {
  if (!replay || replay.weight === 0 || replay.examples.length === 0) return loss;
  const nll = replayLoss(m, replayBatch(replay, step));
  report?.('replay/nll', nll);
  return tf.add(loss, tf.mul(nll, replay.weight)) as tf.Scalar;
}
