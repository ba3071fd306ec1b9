import { createHash } from 'node:crypto';
import type { GenerateParams, VisionLanguageModel } from '../models/types.ts';
import type { Message, Sample } from '../schema/index.ts';
import { promptText } from '../schema/index.ts';

/**
 * AI judges through any backend (the survey's "closed model" / "open model" / "self" annotators). Each builds a
 * judge prompt that shows the judge the same visual input, asks at temperature 0, and parses the reply; an
 * unparseable reply is reported as such (null), never guessed.
 *
 * - rubric: per-aspect scores (VLFeedback: helpfulness, visual faithfulness, ethical considerations);
 * - pairwise: both orders are asked to control position bias (MT-Bench / LLaVA-Critic); disagreement → tie or drop;
 * - claims: RLAIF-V's divide-and-conquer: split a response into atomic claims, ask one yes/no question per claim
 *   with the image, score = −(number of claims the judge rejects) (Yu et al. 2024, §3.2).
 */

const JUDGE_PARAMS: GenerateParams = { n: 1, temperature: 0, maxTokens: 64, seed: 0 };

export function promptHash(template: string): string {
  return createHash('sha256').update(template).digest('hex').slice(0, 16);
}

/** A judge sample: the original visual input, and one user turn with the judge's question. */
export function judgeSample(sample: Sample, id: string, question: string): Sample {
  const imageParts = sample.media.map((m, i) => ({ type: m.kind, media: i }) as const);
  const content: Message['content'] = [...imageParts, { type: 'text', text: question }];
  return { ...sample, id, messages: [{ role: 'user', content }] };
}

async function ask(
  model: VisionLanguageModel,
  s: Sample,
  params: GenerateParams,
  mediaRoot?: string,
): Promise<string | null> {
  const [r] = await model.generate([s], params, { mediaRoot });
  return r?.ok ? (r.generations[0]?.text ?? null) : null;
}

export const DEFAULT_ASPECTS = ['helpfulness', 'visual_faithfulness', 'ethics'] as const;

export const RUBRIC_TEMPLATE = `You are grading an answer about the image.
Question: {question}
Answer: {answer}
Rate the answer from {min} to {max} on each aspect and reply with one line per aspect, "aspect: score".
Aspects: {aspects}`;

/** Parse "aspect: 4" lines (case and spaces/underscores ignored); an aspect missing or out of scale → absent. */
export function parseRubric(text: string, aspects: readonly string[], scale: [number, number]): Record<string, number> {
  const out: Record<string, number> = {};
  const key = (s: string) => s.toLowerCase().replace(/[\s_-]+/g, '');
  for (const line of text.split(/\n|;/)) {
    const m = /^\s*\**\s*([A-Za-z _-]+?)\s*\**\s*[:=]\s*(-?\d+(?:\.\d+)?)/.exec(line);
    if (!m) continue;
    const aspect = aspects.find((a) => key(a) === key(m[1]));
    const v = Number(m[2]);
    if (aspect && v >= scale[0] && v <= scale[1]) out[aspect] = v;
  }
  return out;
}

export async function rubricJudge(
  model: VisionLanguageModel,
  sample: Sample,
  answer: string,
  opts: { aspects?: readonly string[]; scale?: [number, number]; template?: string; mediaRoot?: string } = {},
): Promise<{ scores: Record<string, number>; raw: string | null; complete: boolean }> {
  const aspects = opts.aspects ?? DEFAULT_ASPECTS;
  const scale = opts.scale ?? [1, 5];
  const q = (opts.template ?? RUBRIC_TEMPLATE)
    .replace('{question}', promptText(sample.messages, false))
    .replace('{answer}', answer)
    .replace('{min}', String(scale[0]))
    .replace('{max}', String(scale[1]))
    .replace('{aspects}', aspects.join(', '));
  const raw = await ask(
    model,
    judgeSample(sample, `${sample.id}#rubric`, q),
    { ...JUDGE_PARAMS, maxTokens: 96 },
    opts.mediaRoot,
  );
  const scores = raw === null ? {} : parseRubric(raw, aspects, scale);
  return { scores, raw, complete: aspects.every((a) => a in scores) };
}

export const PAIRWISE_TEMPLATE = `Which answer describes the image more faithfully?
Question: {question}
Answer A: {a}
Answer B: {b}
Reply with A, B or tie.`;

/** "A" / "B" / "tie" from a reply: `[[A]]`, `Answer A`, `A.`; both or neither letter → null. */
export function parseVerdict(text: string): 'A' | 'B' | 'tie' | null {
  const t = text.trim();
  const bracket = /\[\[\s*(A|B|C|tie)\s*\]\]/i.exec(t);
  if (bracket) {
    const v = bracket[1].toUpperCase();
    return v === 'A' ? 'A' : v === 'B' ? 'B' : 'tie';
  }
  if (/\b(tie|equal(ly)?|same)\b/i.test(t)) return 'tie';
  const a = /\b(answer\s+)?A\b/.test(t);
  const b = /\b(answer\s+)?B\b/.test(t);
  if (a !== b) return a ? 'A' : 'B';
  return null;
}

export interface PairwiseVerdict {
  /** which of the two given answers won, after both orders */
  winner: 'first' | 'second' | 'tie' | null;
  /** both orders named the same answer (or both said tie) */
  consistent: boolean;
  raw: [string | null, string | null];
}

export async function pairwiseJudge(
  model: VisionLanguageModel,
  sample: Sample,
  first: string,
  second: string,
  opts: { template?: string; onDisagree?: 'tie' | 'drop'; mediaRoot?: string } = {},
): Promise<PairwiseVerdict> {
  const tpl = opts.template ?? PAIRWISE_TEMPLATE;
  const question = promptText(sample.messages, false);
  const fill = (a: string, b: string) => tpl.replace('{question}', question).replace('{a}', a).replace('{b}', b);
  const r1 = await ask(
    model,
    judgeSample(sample, `${sample.id}#ab`, fill(first, second)),
    JUDGE_PARAMS,
    opts.mediaRoot,
  );
  const r2 = await ask(
    model,
    judgeSample(sample, `${sample.id}#ba`, fill(second, first)),
    JUDGE_PARAMS,
    opts.mediaRoot,
  );
  const v1 = r1 === null ? null : parseVerdict(r1);
  const v2 = r2 === null ? null : parseVerdict(r2);
  // map each verdict back to the answers' identities
  const id1 = v1 === 'A' ? 'first' : v1 === 'B' ? 'second' : v1;
  const id2 = v2 === 'A' ? 'second' : v2 === 'B' ? 'first' : v2;
  const consistent = id1 !== null && id1 === id2;
  let winner: PairwiseVerdict['winner'] = consistent ? id1 : null;
  if (!consistent && id1 !== null && id2 !== null && opts.onDisagree !== 'drop') winner = 'tie';
  return { winner, consistent, raw: [r1, r2] };
}

export interface ClaimJudgeOptions {
  /** split a response into atomic claims */
  claims: (response: string) => string[];
  /** turn one claim into a yes/no question the judge answers with the image */
  question: (claim: string) => string;
  mediaRoot?: string;
}

/** "yes" / "no" as the original POPE rule reads a reply: a leading no/not anywhere in the first sentence → no. */
export function parseYesNo(text: string): 'yes' | 'no' | null {
  const first =
    text
      .trim()
      .split(/(?<=[.!?])\s|\n/)[0]
      ?.toLowerCase() ?? '';
  const words = first.replace(/[^a-z\s']/g, ' ').split(/\s+/);
  if (words.includes('no') || words.includes('not') || words.some((w) => w.endsWith("n't"))) return 'no';
  if (words.includes('yes')) return 'yes';
  return null;
}

export async function claimJudge(
  model: VisionLanguageModel,
  sample: Sample,
  response: string,
  opts: ClaimJudgeOptions,
): Promise<{ score: number; claims: { claim: string; verdict: 'yes' | 'no' | null }[] }> {
  const claims = opts.claims(response);
  const qs = claims.map((c, i) => judgeSample(sample, `${sample.id}#claim${i}`, opts.question(c)));
  const results = qs.length
    ? await model.generate(qs, { ...JUDGE_PARAMS, maxTokens: 8 }, { mediaRoot: opts.mediaRoot })
    : [];
  const verdicts = results.map((r) => (r.ok ? parseYesNo(r.generations[0]?.text ?? '') : null));
  return {
    score: -verdicts.filter((v) => v === 'no').length,
    claims: claims.map((claim, i) => ({ claim, verdict: verdicts[i] ?? null })),
  };
}
