/**
 * Suite names and descriptions for `eval run --suite` (help text and "unknown suite" errors). Kept apart from the
 * runner so the CLI can list them without importing ShapeWorld; runner.ts maps every name to its function.
 */
export const SUITE_INFO = {
  shapes: 'ShapeWorld held-out tasks with exact ground truth, all six dimensions',
  pope: 'POPE question files (--data) + the COCO image folder (--images); --parser picks the rule',
  amber: 'AMBER discriminative queries (--data query.json [annotations.json]) + image folder (--images)',
  mmhal: 'MMHal-Bench (--data response_template.json, --images DIR): greedy answers rated 0–6 by --judge (required)',
  reward: "reward pairs (--data pairs.jsonl, --images DIR) scored by the model's own log-probs: accuracy, macro, ACC+",
} as const;
export type SuiteName = keyof typeof SUITE_INFO;
