import type { Sample } from '../schema/index.ts';
import { checkAnswer } from '../world/index.ts';

/**
 * The rule / verifier annotator: grades answers against ground truth (ShapeWorld truth, or a reference answer).
 * For captions the score orders answers by faithfulness first, coverage second:
 *   s = −(w_h · #hallucinated categories) − (w_m · #missed categories) − (w_f if not well-formed)
 *       − (w_x if the categories match but the objects do not: a wrong color/size or count),
 * so a caption that names one extra object always loses to one that omits one (hallucination is the failure the
 * survey's methods target), and attribute / count hallucinations (the inject stage's `attribute`, `count`) are
 * not graded as correct. Other tasks: correct 1, incorrect 0, unparseable −1.
 */
export interface RuleScore {
  score: number;
  verdict: 'correct' | 'incorrect' | 'unparseable';
  hallucinated: string[];
  missed: string[];
}

export interface RuleWeights {
  hallucinated: number;
  missed: number;
  malformed: number;
  /** categories right, objects wrong (attribute or count) */
  inexact: number;
}
export const DEFAULT_RULE_WEIGHTS: RuleWeights = { hallucinated: 2, missed: 1, malformed: 3, inexact: 1 };

const norm = (s: string) =>
  s
    .trim()
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/[.!]+$/, '');

export function ruleScore(sample: Sample, answer: string, w: RuleWeights = DEFAULT_RULE_WEIGHTS): RuleScore {
  if (sample.provenance.source !== 'shapeworld' || !sample.task) {
    if (sample.reference === undefined) return { score: -1, verdict: 'unparseable', hallucinated: [], missed: [] };
    const ok = norm(answer) === norm(sample.reference);
    return { score: ok ? 1 : 0, verdict: ok ? 'correct' : 'incorrect', hallucinated: [], missed: [] };
  }
  const r = checkAnswer(sample, answer);
  const hallucinated = r.hallucinated ?? [];
  const missed = r.missed ?? [];
  if (sample.task === 'caption') {
    const malformed = r.verdict === 'unparseable' || r.parsed === false;
    const inexact = r.verdict === 'incorrect' && !hallucinated.length && !missed.length && !malformed;
    const score =
      0 -
      w.hallucinated * hallucinated.length -
      w.missed * missed.length -
      (malformed ? w.malformed : 0) -
      (inexact ? w.inexact : 0);
    return { score, verdict: r.verdict, hallucinated, missed };
  }
  return {
    score: r.verdict === 'correct' ? 1 : r.verdict === 'incorrect' ? 0 : -1,
    verdict: r.verdict,
    hallucinated,
    missed,
  };
}
