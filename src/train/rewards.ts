import { ruleScore } from '../judges/rule.ts';
import type { Sample } from '../schema/index.ts';
import { MmalignError } from '../util/errors.ts';
import { lookup } from '../util/table.ts';
import { checkAnswer } from '../world/check.ts';

/**
 * Reward plug-ins for online training: each scores the G completions of one prompt. The verifiable ones read the
 * sample's ground truth through ShapeWorld's rule judge (`checkAnswer`), so rewards are exact (RLVR); a trained
 * reward model is the learned alternative (see rm.ts). Rewards of several plug-ins are summed with weights.
 */
export interface RewardContext {
  sample: Sample;
  /** image of the sample (RGB bytes), for model-based rewards */
  image: Uint8Array | null;
  prompt: string;
  completions: readonly string[];
}

export type RewardFn = (ctx: RewardContext) => number[];

/** Scores completions with a trained reward model (rm.ts `loadRewardModel(...).score`). */
export type RewardModelScorer = (items: { image: Uint8Array | null; prompt: string; response: string }[]) => number[];

export const REWARDS = {
  /** 1 for an answer the ground truth marks correct, 0 otherwise (wrong or unparseable) */
  verifiable: {
    summary: '1 if the rule judge marks the answer correct, else 0 (RLVR)',
    make: (): RewardFn => (c) => c.completions.map((y) => (checkAnswer(c.sample, y).verdict === 'correct' ? 1 : 0)),
  },
  /** 1 when the answer can be read at all (a number, a yes/no, a caption) */
  format: {
    summary: '1 if the answer parses for its task, else 0',
    make: (): RewardFn => (c) => c.completions.map((y) => (checkAnswer(c.sample, y).verdict === 'unparseable' ? 0 : 1)),
  },
  /** −(objects named that the image does not contain), CHAIR's notion; 0 for non-caption tasks */
  hallucination: {
    summary: '−1 per mentioned object category absent from the image (caption tasks)',
    make: (): RewardFn => (c) => c.completions.map((y) => 0 - (checkAnswer(c.sample, y).hallucinated?.length ?? 0)),
  },
  /** the preference sets' rule judge as a reward: −2 per hallucinated, −1 per missed object, −3 if malformed */
  rule: {
    summary: "the rule judge's score (captions: −2 per hallucinated, −1 per missed object, −3 malformed; else 1/0/−1)",
    make: (): RewardFn => (c) => c.completions.map((y) => ruleScore(c.sample, y).score),
  },
} as const;

export type RewardName = keyof typeof REWARDS | 'reward_model';
export const REWARD_NAMES = [...Object.keys(REWARDS), 'reward_model'] as RewardName[];

/** Parse `name=weight` specs (weight 1 when omitted) into one summed reward function. */
export function makeReward(
  specs: readonly string[],
  opts: { rewardModel?: RewardModelScorer } = {},
): { fn: RewardFn; parts: { name: RewardName; weight: number }[] } {
  const parts = specs.map((s) => {
    const [name, w] = s.split('=');
    const weight = w === undefined ? 1 : Number(w);
    if (!Number.isFinite(weight))
      throw new MmalignError('MMALIGN_BAD_OPTION', `reward weight in "${s}" is not a number`);
    if (name !== 'reward_model') lookup(REWARDS, 'reward', name ?? '');
    return { name: name as RewardName, weight };
  });
  if (parts.length === 0)
    throw new MmalignError('MMALIGN_BAD_OPTION', `no reward given; known: ${REWARD_NAMES.join(', ')}`);
  const fns = parts.map(({ name, weight }) => {
    if (name === 'reward_model') {
      const rm = opts.rewardModel;
      if (!rm)
        throw new MmalignError('MMALIGN_BAD_OPTION', 'reward "reward_model" needs a trained reward model', {
          hint: 'pass --reward-model DIR (a folder written by `mmalign train rm`)',
        });
      const f: RewardFn = (c) => rm(c.completions.map((y) => ({ image: c.image, prompt: c.prompt, response: y })));
      return { f, weight };
    }
    return { f: REWARDS[name].make(), weight };
  });
  return {
    parts,
    fn: (c) => {
      const total = new Array<number>(c.completions.length).fill(0);
      for (const { f, weight } of fns) {
        const r = f(c);
        for (let i = 0; i < total.length; i++) total[i]! += weight * r[i]!;
      }
      return total;
    },
  };
}
