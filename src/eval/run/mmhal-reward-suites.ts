import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { MmalignError } from '../../util/errors.ts';
import { mmhalEntry, rewardEntry } from '../entries.ts';
import { readRecords } from '../io.ts';
import { MMHAL_JUDGE_TEMPLATE, mmhalJudgePrompt, scoreMmhal } from '../mmhal.ts';
import { type RewardItem, scoreRewardPairs } from '../reward.ts';
import { sha256File } from '../score-files.ts';
import type { SuiteContext } from './context.ts';
import { type FileSuiteOptions, imageSample, imagesDigest, resolveImage } from './file-suites.ts';
import type { SuiteOutput } from './shapes.ts';

/**
 * File-based MMHal-Bench (the model answers, the --judge model rates each answer with our wording of the MMHal
 * rubric, ratings parsed as eval_gpt_mmhal.py) and reward-model pairs (VL-RewardBench / Multimodal RewardBench
 * style, scored with the evaluated model's own log-probabilities as an implicit reward).
 */

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Greedy; the question is sent as is (LLaVA-RLHF's MMHal generation adds no suffix). 1024 new tokens is our cap. */
const MMHAL_PARAMS = { temperature: 0, maxTokens: 1024 };
/** The reference judge call: temperature 0. */
const MMHAL_JUDGE_PARAMS = { temperature: 0, maxTokens: 512 };
/** Judge requests in flight at once (each is cached as soon as it finishes). */
const JUDGE_CONCURRENCY = 8;

/** One record of MMHal-Bench's response_template.json (extra fields such as question_topic are ignored). */
const MmhalTemplateRecord = z.object({
  question_type: z.string().optional(),
  image_id: z.string().optional(),
  image_src: z.string().optional(),
  image_content: z.array(z.string()).default([]),
  question: z.string(),
  gt_answer: z.string(),
});

/** The image file of a record: basename of image_src (URL or path), else image_id with a usual extension. */
function mmhalImage(
  r: z.infer<typeof MmhalTemplateRecord>,
  images: string | undefined,
  file: string,
  line: number,
): string {
  if (!images) throw new MmalignError('MMALIGN_USAGE', "the mmhal suite needs --images DIR (MMHal-Bench's images)");
  const names: string[] = [];
  if (r.image_src) names.push(path.basename(r.image_src.split(/[?#]/)[0]));
  if (r.image_id) names.push(r.image_id, ...['.jpg', '.jpeg', '.png'].map((e) => `${r.image_id}${e}`));
  if (names.length === 0)
    throw new MmalignError(
      'MMALIGN_INVALID_RECORD',
      `${file}:${line}: image_src / image_id: missing (one of them names the image file)`,
    );
  const hit = names.find((n) => existsSync(path.resolve(images, n)));
  return hit ? path.resolve(images, hit) : resolveImage(images, names[0], file, line);
}

export async function runMmhalFileSuite(ctx: SuiteContext, o: FileSuiteOptions): Promise<SuiteOutput> {
  const [file] = o.data;
  if (!file || o.data.length > 1)
    throw new MmalignError('MMALIGN_USAGE', 'the mmhal suite needs exactly one --data response_template.json');
  const judge = ctx.judge;
  // checked before any generation: without a judge there is no MMHal score, only unscored answers
  if (!judge)
    throw new MmalignError(
      'MMALIGN_USAGE',
      'the mmhal suite needs a judge: pass --judge MODEL (MMHal-Bench rates every answer 0–6 with a judge model)',
      { hint: 'the reference uses gpt-4-0314; any model of the --model forms works, e.g. an OpenAI-compatible URL' },
    );
  const recs = readRecords(file, MmhalTemplateRecord);
  const picked = ctx.limit ? recs.slice(0, ctx.limit) : recs;
  const images: string[] = [];
  const samples = picked.map((r, i) => {
    const img = mmhalImage(r.value, o.images, file, r.line);
    images.push(img);
    return imageSample(`mmhal/${i}`, img, r.value.question, 'mmhal');
  });
  const out = await ctx.generate('mmhal', samples, MMHAL_PARAMS);
  const answers = samples.map((s) => out.get(s.id)?.text ?? '');
  const failedGen = samples.filter((s) => out.get(s.id)?.ok === false).length;
  const judgements: string[] = new Array(picked.length).fill('');
  const failed: string[] = [];
  for (let i = 0; i < picked.length; i += JUDGE_CONCURRENCY) {
    const chunk = picked.slice(i, i + JUDGE_CONCURRENCY);
    const res = await Promise.all(
      chunk.map((r, k) =>
        judge.ask(
          mmhalJudgePrompt({
            imageContents: r.value.image_content,
            question: r.value.question,
            reference: r.value.gt_answer,
            response: answers[i + k],
          }),
          MMHAL_JUDGE_PARAMS,
        ),
      ),
    );
    res.forEach((g, k) => {
      if (g.ok) judgements[i + k] = g.text;
      else failed.push(`${file}:${chunk[k].line}: ${g.error ?? 'judge call failed'}`);
    });
    ctx.log(`mmhal judge: ${Math.min(i + JUDGE_CONCURRENCY, picked.length)}/${picked.length} answers rated`);
  }
  // a failed judge call is not a rating of 0: stop (finished calls are cached, so rerunning resumes)
  if (failed.length)
    throw new MmalignError(
      'MMALIGN_JUDGE_FAILED',
      `mmhal: ${failed.length} judge call(s) failed, first: ${failed[0]}`,
      { hint: 'rerun the same command with the same --out: answers and finished ratings come from the cache' },
    );
  const r = scoreMmhal(picked.map((p, i) => ({ question_type: p.value.question_type, judgement: judgements[i] })));
  const notes = [
    `MMHal-Bench answers rated by ${judge.id} with our wording of the eval_gpt_mmhal.py rubric; a reply with zero or several "rating: N" scores 0 as in the reference (parse rate in guards)`,
  ];
  if (failedGen) notes.push(`mmhal: ${failedGen} generation(s) failed and were judged as empty answers`);
  if (picked.length !== 96 && !ctx.limit)
    notes.push(`mmhal: ${picked.length} records (the benchmark has 96; the reference asserts it, we do not)`);
  return {
    entries: [
      mmhalEntry(
        'mmhal',
        `mmhal/judge:${judge.id}`,
        r,
        samples.map((s) => s.id),
        ctx.boot,
      ),
    ],
    decoding: { mmhal: { ...MMHAL_PARAMS }, mmhal_judge: { ...MMHAL_JUDGE_PARAMS } },
    notes,
    judge: { id: judge.id, prompts: { mmhal: sha(MMHAL_JUDGE_TEMPLATE) } },
    files: [{ path: file, sha256: sha256File(file), role: 'MMHal-Bench template' }, imagesDigest(images)],
  };
}

/**
 * A preference pair in any of the usual layouts: {chosen, rejected}; VL-RewardBench {response: [a, b],
 * human_ranking} (rank 0 = better); {response_a, response_b, gold: "A"|"B"}; Multimodal RewardBench {Output1,
 * Output2, Better: "Output1"|"Output2"}. Prompt: query | prompt | Text; image: image | image_path | Image.
 */
const RewardPairRecord = z.object({
  id: z.union([z.string(), z.number()]),
  query: z.string().optional(),
  prompt: z.string().optional(),
  Text: z.string().optional(),
  image: z.string().optional(),
  image_path: z.string().optional(),
  Image: z.string().optional(),
  chosen: z.string().optional(),
  rejected: z.string().optional(),
  response: z.array(z.string()).length(2).optional(),
  human_ranking: z.array(z.number()).length(2).optional(),
  response_a: z.string().optional(),
  response_b: z.string().optional(),
  gold: z.enum(['A', 'B']).optional(),
  Output1: z.string().optional(),
  Output2: z.string().optional(),
  Better: z.enum(['Output1', 'Output2']).optional(),
  category: z.string().optional(),
  group: z.union([z.string(), z.number()]).optional(),
});
type RewardPairRecord = z.infer<typeof RewardPairRecord>;

/** VL-RewardBench cal.py's groups, by the dataset folder of image_path (images/<dataset>/...). */
const VLRB_GROUPS: Record<string, string> = {
  vlfeedback: 'general',
  'wildvision-battle': 'general',
  povid: 'hallucination',
  'rlhf-v': 'hallucination',
  'rlaif-v': 'hallucination',
  reasoning_tasks: 'reasoning',
};

function pairOf(r: RewardPairRecord, file: string, line: number): { chosen: string; rejected: string } {
  const bad = (msg: string) => new MmalignError('MMALIGN_INVALID_RECORD', `${file}:${line}: ${msg}`);
  if (r.chosen !== undefined || r.rejected !== undefined) {
    if (r.chosen === undefined || r.rejected === undefined) throw bad('chosen and rejected must both be given');
    return { chosen: r.chosen, rejected: r.rejected };
  }
  if (r.response) {
    const rk = r.human_ranking;
    if (!rk || [...rk].sort().join() !== '0,1')
      throw bad('human_ranking: must be [0, 1] or [1, 0] next to response (0 marks the better one)');
    const better = rk.indexOf(0);
    return { chosen: r.response[better], rejected: r.response[1 - better] };
  }
  if (r.response_a !== undefined && r.response_b !== undefined) {
    if (!r.gold) throw bad('gold: missing ("A" or "B", the better of response_a / response_b)');
    return r.gold === 'A'
      ? { chosen: r.response_a, rejected: r.response_b }
      : { chosen: r.response_b, rejected: r.response_a };
  }
  if (r.Output1 !== undefined && r.Output2 !== undefined) {
    if (!r.Better) throw bad('Better: missing ("Output1" or "Output2")');
    return r.Better === 'Output1'
      ? { chosen: r.Output1, rejected: r.Output2 }
      : { chosen: r.Output2, rejected: r.Output1 };
  }
  throw bad(
    'no response pair: give chosen/rejected, response [2] + human_ranking, response_a/response_b + gold, or Output1/Output2 + Better',
  );
}

export async function runRewardFileSuite(ctx: SuiteContext, o: FileSuiteOptions): Promise<SuiteOutput> {
  if (o.data.length === 0) throw new MmalignError('MMALIGN_USAGE', 'the reward suite needs --data PAIRS.jsonl [...]');
  if (!ctx.model.capabilities.promptLogprobs)
    throw new MmalignError(
      'MMALIGN_CAPABILITY',
      `the reward suite scores pairs with the model's log-probabilities, and ${ctx.model.id} cannot score given text`,
      { hint: 'use an embedded checkpoint or an endpoint that returns prompt log-probs' },
    );
  const pairs: Array<
    { id: string; cat: string; group: string; sample: ReturnType<typeof imageSample> } & ReturnType<typeof pairOf>
  > = [];
  const images: string[] = [];
  for (const file of o.data) {
    for (const r of readRecords(file, RewardPairRecord)) {
      if (ctx.limit && pairs.length >= ctx.limit) break;
      const v = r.value;
      const text = v.query ?? v.prompt ?? v.Text;
      if (text === undefined) throw new MmalignError('MMALIGN_INVALID_RECORD', `${file}:${r.line}: query: missing`);
      const imgName = v.image ?? v.image_path ?? v.Image;
      if (!imgName)
        throw new MmalignError('MMALIGN_INVALID_RECORD', `${file}:${r.line}: image: missing (the image file name)`);
      const img = resolveImage(o.images, imgName, file, r.line);
      images.push(img);
      const pair = pairOf(v, file, r.line);
      const dataset = v.image_path?.split('/')[1];
      const cat = v.category ?? (dataset ? VLRB_GROUPS[dataset] : undefined) ?? 'all';
      const id = o.data.length > 1 ? `${path.basename(file)}/${v.id}` : String(v.id);
      pairs.push({
        id,
        cat,
        // pairs on the same image and prompt are one ACC+ item unless the file groups them itself
        group: v.group !== undefined ? `g:${v.group}` : `q:${img}\u0000${text}`,
        sample: imageSample(`reward/${id}`, img, text, 'reward'),
        ...pair,
      });
    }
  }
  const items: RewardItem[] = [];
  let ties = 0;
  const margins: number[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i];
    const lw = await ctx.logprob(p.sample, p.chosen);
    const ll = await ctx.logprob(p.sample, p.rejected);
    if (lw === null || ll === null)
      throw new MmalignError('MMALIGN_CAPABILITY', `reward: ${ctx.model.id} returned no log-prob for pair ${p.id}`);
    if (lw === ll) ties++;
    margins.push(lw - ll);
    items.push({
      id: p.id,
      category: p.cat,
      group: p.group,
      pred: lw === ll ? null : lw > ll ? 'chosen' : 'rejected',
      gold: 'chosen',
      options: ['chosen', 'rejected'],
    });
    if ((i + 1) % 50 === 0 || i + 1 === pairs.length) ctx.log(`reward: ${i + 1}/${pairs.length} pairs scored`);
  }
  // a tie is no preference: counted wrong, not left out
  const res = scoreRewardPairs(items, 'wrong');
  const e = rewardEntry(
    'reward',
    res,
    items.map((it) => it.id),
    ctx.boot,
  );
  e.rule = 'implicit reward Σ log π(response | image, prompt); ties wrong';
  e.metrics = {
    ...e.metrics,
    ties,
    n_items: new Set(pairs.map((p) => p.group)).size,
    mean_margin: margins.length ? margins.reduce((a, b) => a + b, 0) / margins.length : null,
  };
  return {
    entries: [e],
    decoding: { reward: { scoring: 'sum of response token log-probs, image given', length_normalised: false } },
    notes: [
      `reward pairs scored by ${ctx.model.id}'s own log-probability of each response (implicit reward, no reference model, not length-normalised, so shorter answers are favoured); the alternative is a generative judge asked which answer is better, scored with \`mmalign eval score reward --verdict vlreward|bracket\``,
      'ACC+ groups the pairs of one image + prompt (or the file\'s "group" field); it equals accuracy when every item has one pair',
    ],
    judge: null,
    files: [...o.data.map((f) => ({ path: f, sha256: sha256File(f), role: 'reward pairs' })), imagesDigest(images)],
  };
}
