import { pyFloatStr, pyRound } from './pyfloat.ts';

/**
 * MathVista-style answer extraction and normalisation (lupantech/MathVista@53d52587 evaluation/extract_answer.py,
 * calculate_score.py). Rule-based extraction only: empty → ""; multi_choice response equal to a choice → it;
 * integer / float responses that parse → themselves; `The answer is "X".` (quick extract); then, as our offline
 * stand-in for the GPT extractor, the last number (numeric types) or the last "(X)"/option letter. Normalisation as
 * the reference: multi_choice "(A)"-style or bare letter → choice text, else the choice at minimum Levenshtein
 * distance (first minimum); integer → str(int(float(x))); float → str(round(float(x), precision)) in Python
 * formatting; list → as is. Correct = plain string equality with the answer.
 */

export type MathAnswerType = 'integer' | 'float' | 'text' | 'list';
export type MathQuestionType = 'multi_choice' | 'free_form';

export interface MathProblem {
  question_type: MathQuestionType;
  answer_type: MathAnswerType;
  answer: string;
  choices?: readonly string[] | null;
  precision?: number | null;
}

export function levenshtein(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    [prev, cur] = [cur, prev];
  }
  return prev[n];
}

/** Python `float(s)`: strict, whitespace allowed, underscores between digits, inf/nan words. */
export function pyParseFloat(s: string): number | null {
  const t = s.trim();
  if (/^[+-]?((\d(_?\d)*)?\.?\d(_?\d)*([eE][+-]?\d+)?|\d(_?\d)*\.)$/.test(t)) return Number(t.replace(/_/g, ''));
  if (/^[+-]?(inf|infinity|nan)$/i.test(t))
    return t.toLowerCase().includes('nan') ? Number.NaN : t.startsWith('-') ? -Infinity : Infinity;
  return null;
}

/** Python `int(s)` on a string. */
export function pyParseInt(s: string): number | null {
  const t = s.trim();
  return /^[+-]?\d(_?\d)*$/.test(t) ? Number(t.replace(/_/g, '')) : null;
}

export function extractMathAnswer(response: string, p: MathProblem): { extraction: string; rule: string } {
  if (response === '') return { extraction: '', rule: 'empty' };
  if (p.question_type === 'multi_choice' && p.choices?.includes(response))
    return { extraction: response, rule: 'choice' };
  if (p.answer_type === 'integer' && pyParseInt(response) !== null)
    return { extraction: String(pyParseInt(response)), rule: 'int' };
  if (p.answer_type === 'float') {
    const f = pyParseFloat(response);
    if (f !== null) return { extraction: pyFloatStr(f), rule: 'float' };
  }
  const q = /The answer is "(.*)"\./.exec(response);
  if (q) return { extraction: q[1], rule: 'quick' };
  if (p.question_type === 'multi_choice') {
    const m = [...response.matchAll(/\(([A-Za-z])\)|\b([A-J])\b/g)];
    if (m.length) {
      const last = m[m.length - 1];
      return { extraction: last[1] ? `(${last[1]})` : last[2], rule: 'letter' };
    }
  } else {
    const nums = response.match(/-?\d+(?:\.\d+)?/g);
    if (nums) return { extraction: nums[nums.length - 1], rule: 'last_number' };
  }
  return { extraction: '', rule: 'none' };
}

export function normalizeMathAnswer(extraction: string, p: MathProblem): string | null {
  if (p.question_type === 'multi_choice') {
    const choices = p.choices ?? [];
    let e = String(extraction).trim();
    const m = /\(([a-zA-Z])\)/.exec(e);
    if (m) e = m[1].toUpperCase();
    const letters = choices.map((_, i) => String.fromCharCode(65 + i));
    const li = letters.indexOf(e);
    if (li !== -1) return choices[li];
    if (choices.length === 0) return null;
    let best = 0;
    let bestD = Number.POSITIVE_INFINITY;
    choices.forEach((c, i) => {
      const d = levenshtein(e, c);
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    });
    return choices[best];
  }
  if (p.answer_type === 'integer') {
    const f = pyParseFloat(extraction);
    return f === null || !Number.isFinite(f) ? null : String(Math.trunc(f));
  }
  if (p.answer_type === 'float') {
    const f = pyParseFloat(extraction);
    return f === null ? null : pyFloatStr(pyRound(f, Number(p.precision ?? 0)));
  }
  return String(extraction);
}

export interface MathResult {
  accuracy: number | null;
  n: number;
  /** share answered by a reference rule (not by our last-number / letter fallback or nothing) */
  parse_rate: number | null;
  correct: boolean[];
}

export function scoreMath(items: ReadonlyArray<{ response: string; problem: MathProblem }>): MathResult {
  const correct: boolean[] = [];
  let parsed = 0;
  for (const it of items) {
    const { extraction, rule } = extractMathAnswer(it.response, it.problem);
    if (rule === 'choice' || rule === 'int' || rule === 'float' || rule === 'quick') parsed++;
    const norm = normalizeMathAnswer(extraction, it.problem);
    correct.push(norm !== null && norm === it.problem.answer);
  }
  const n = items.length;
  return { accuracy: n ? correct.filter(Boolean).length / n : null, n, parse_rate: n ? parsed / n : null, correct };
}
