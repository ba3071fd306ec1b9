import { POPE_PARSER_NAMES } from './pope.ts';

/**
 * The survey's six evaluation dimensions (Yu, Zhang et al. 2025, §"Evaluation") and the benchmarks mmalign scores,
 * one table each; CLI choices, help text, report grouping and "unknown benchmark" errors derive from them.
 */
export const DIMENSIONS = {
  general: {
    title: 'General knowledge',
    blurb: 'perception and reasoning: attributes, counting, multiple choice, math',
  },
  hallucination: { title: 'Hallucination', blurb: 'objects, attributes and relations that are not in the image' },
  safety: { title: 'Safety', blurb: 'refusing harmful requests without refusing benign ones' },
  conversation: { title: 'Conversation', blurb: 'judged open-ended answers' },
  reward_model: { title: 'Reward model', blurb: 'agreement of a judge or reward model with preference labels' },
  preference: { title: 'Alignment with human preference', blurb: 'win rate against a reference model' },
} as const;
export type Dimension = keyof typeof DIMENSIONS;
export const DIMENSION_NAMES = Object.keys(DIMENSIONS) as Dimension[];

export interface BenchmarkInfo {
  dimension: Dimension;
  title: string;
  /** the figure the report charts; lower-is-better when `lowerIsBetter` */
  headline: string;
  lowerIsBetter?: boolean;
  reference: string;
  rules?: readonly string[];
}

export const BENCHMARKS = {
  pope: {
    dimension: 'hallucination',
    title: 'POPE',
    headline: 'f1',
    reference: 'AoiDragon/POPE evaluate.py; lmms-eval tasks/pope; VLMEvalKit YOrN',
    rules: POPE_PARSER_NAMES,
  },
  chair: {
    dimension: 'hallucination',
    title: 'CHAIR',
    headline: 'chair_i',
    lowerIsBetter: true,
    reference: 'LisaAnne/Hallucination utils/chair.py; OPERA chair.py (recall)',
  },
  amber: {
    dimension: 'hallucination',
    title: 'AMBER',
    headline: 'f1',
    reference: 'junyangwang0410/AMBER inference.py',
  },
  mmhal: {
    dimension: 'conversation',
    title: 'MMHal-Bench',
    headline: 'average_score',
    reference: 'LLaVA-RLHF Eval/eval_gpt_mmhal.py',
  },
  reward: {
    dimension: 'reward_model',
    title: 'Reward-model pairs',
    headline: 'overall_accuracy',
    reference: 'VL-RewardBench cal.py; Multimodal RewardBench 2_get_accuracy.py',
  },
  vqa: {
    dimension: 'general',
    title: 'Visual QA (exact answers)',
    headline: 'accuracy',
    reference: 'rule judge against exact ground truth',
  },
  mc: {
    dimension: 'general',
    title: 'Multiple choice (CircularEval)',
    headline: 'circular_accuracy',
    reference: 'MMBench CircularEval; VLMEvalKit can_infer',
  },
  math: {
    dimension: 'general',
    title: 'Math answers',
    headline: 'accuracy',
    reference: 'MathVista calculate_score.py',
  },
  safety: {
    dimension: 'safety',
    title: 'Safety refusal',
    headline: 'attack_success_rate',
    lowerIsBetter: true,
    reference: 'MM-SafetyBench cal_metric; VLMEvalKit mmsafetybench',
  },
  winrate: {
    dimension: 'preference',
    title: 'Win rate vs reference',
    headline: 'win_rate',
    reference: 'pairwise judge (AlpacaEval / WildVision style); ties count ½',
  },
} as const satisfies Record<string, BenchmarkInfo>;
export type BenchmarkName = keyof typeof BENCHMARKS;
export const BENCHMARK_NAMES = Object.keys(BENCHMARKS) as BenchmarkName[];
