import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { cohenKappaOverlap } from '../../judges/agreement.ts';
import {
  judgeSample,
  PAIRWISE_TEMPLATE,
  parseRubric,
  parseVerdict,
  parseYesNo,
  RUBRIC_TEMPLATE,
} from '../../judges/ai.ts';
import { preferenceId } from '../../judges/pairing.ts';
import { ruleScore } from '../../judges/rule.ts';
import type { GenerateParams, GenerateResult, VisionLanguageModel } from '../../models/types.ts';
import {
  type Annotator,
  type AnnotatorKind,
  type Preference,
  type PreferenceOf,
  promptText,
  type Response,
  type Sample,
} from '../../schema/index.ts';
import { MmalignError } from '../../util/errors.ts';
import { parseCaption, popeQuestionText } from '../../world/index.ts';
import { defineStage, type StageEnv, type WorkItem, type WorkOutcome } from '../stage.ts';
import { checkStageNames, groupBy, readResponses, readSamples, requireFinished } from './common.ts';

/**
 * Annotation: every judge kind writes ONE `rubric` Preference per sample that scores all its responses (from any
 * number of response stages), with the annotator in provenance and, in `provenance.extra.responses`, how each
 * response was made (strategy, visual condition, injected segments) for the pair stage. Pointwise judges put their
 * score under one aspect (`rule`, `claims`, `reward`, or the rubric's aspects); the pairwise judge also keeps every
 * verdict in `provenance.extra.pairwise` (both orders, consistent or not), and its score is the Copeland count
 * (win 1, tie ½). Failed judge requests fail the item (retried on the next run); an unparseable reply is data.
 *
 * Kinds: rule (ShapeWorld truth / reference), ai-rubric (VLFeedback aspects), ai-pairwise (both orders;
 * disagreement → tie or drop), ai-claims (RLAIF-V divide-and-conquer, score = −#rejected claims), reward-model
 * (a checkpoint of src/train/rm.ts), self (the policy judges its own outputs, SIMA: model must be the policy),
 * human (writes a task file of Sample + Response lines for `mmalign studio import --type ranking`, then reads
 * the studio's exported Preferences).
 * The summary gives Cohen's kappa against the judge stages in `compare` on shared response pairs, and the
 * accuracy of this judge's pair orderings against the rule judge on ShapeWorld (calibration).
 */
export const JUDGE_KINDS = {
  rule: 'ground truth (ShapeWorld) or the reference answer',
  'ai-rubric': 'per-aspect scores from any backend (VLFeedback)',
  'ai-pairwise': 'pairwise comparison, both orders (position-swap consistency)',
  'ai-claims': 'RLAIF-V claims → yes/no questions with the image; score = −#rejected',
  'reward-model': 'a reward-model checkpoint (src/train/rm.ts)',
  self: 'the policy judges its own responses (SIMA), by `method`',
  human: 'studio task file out, studio export in',
} as const;
type JudgeKind = keyof typeof JUDGE_KINDS;
const KINDS = Object.keys(JUDGE_KINDS) as [JudgeKind, ...JudgeKind[]];

const Params = z.strictObject({
  kind: z.enum(KINDS),
  /** response stages to judge */
  responses: z.array(z.string().min(1)).min(1),
  /** the Samples stage the responses answer */
  samples: z.string().default('source'),
  model: z.string().optional(),
  /** for `self`: how the policy judges */
  method: z.enum(['rubric', 'pairwise', 'claims']).default('claims'),
  /** reward-model checkpoint folder, relative to the config */
  checkpoint: z.string().optional(),
  aspects: z.array(z.string().min(1)).min(1).default(['helpfulness', 'visual_faithfulness', 'ethics']),
  scale: z.tuple([z.number(), z.number()]).default([1, 5]),
  template: z.string().optional(),
  onDisagree: z.enum(['tie', 'drop']).default('tie'),
  /** pairwise: at most this many response pairs per sample (in a fixed order) */
  maxPairs: z.number().int().positive().default(10),
  /** AI judges: open_model (default: local checkpoints, servers) or closed_model (default for `openai:MODEL` without a URL) */
  annotatorKind: z.enum(['open_model', 'closed_model']).optional(),
  /** other judge stages to report Cohen's kappa against */
  compare: z.array(z.string()).default([]),
  /** human: the task file written for the studio, and the studio's export read back (relative to the run) */
  tasks: z.string().optional(),
  results: z.string().optional(),
});
type P = z.output<typeof Params>;

interface Item {
  sample: Sample;
  responses: Response[];
}

interface PairVerdict {
  a: string;
  b: string;
  /** a, b, tie, or null (dropped: unparseable, or inconsistent with onDisagree=drop) */
  winner: 'a' | 'b' | 'tie' | null;
  consistent: boolean;
  raw: [string, string];
}

const JUDGE_PARAMS: GenerateParams = { n: 1, temperature: 0, maxTokens: 64, seed: 0 };

/** RLAIF-V claims of a response: ShapeWorld captions → one claim per distinct object; else one per sentence. */
export function splitClaims(text: string): { claim: string; question: string }[] {
  const cap = parseCaption(text);
  if (cap.wellFormed && cap.objects.length) {
    const names = [...new Set(cap.objects.map((o) => o.name))];
    return names.map((n) => ({
      claim: `there is ${/^[aeiou]/.test(n) ? 'an' : 'a'} ${n}`,
      question: popeQuestionText(n),
    }));
  }
  return text
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 2)
    .map((s) => ({ claim: s, question: `Is the following statement about the image true? "${s}" Answer yes or no.` }));
}

function effective(p: P): 'rule' | 'rubric' | 'pairwise' | 'claims' | 'reward' | 'human' {
  if (p.kind === 'self') return p.method;
  return p.kind === 'ai-rubric'
    ? 'rubric'
    : p.kind === 'ai-pairwise'
      ? 'pairwise'
      : p.kind === 'ai-claims'
        ? 'claims'
        : p.kind === 'reward-model'
          ? 'reward'
          : p.kind;
}

/** Pair labels of one judge's records: key `sample|idA|idB` (ids sorted) → a / b / tie. */
export function pairLabels(records: readonly Preference[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of records) {
    if (r.kind !== 'rubric') continue;
    const extra = r.provenance.extra ?? {};
    const verdicts = extra.pairwise as PairVerdict[] | undefined;
    if (verdicts) {
      for (const v of verdicts) {
        if (v.winner === null) continue;
        const [x, y] = [v.a, v.b].sort();
        const w = v.winner === 'tie' ? 'tie' : (v.winner === 'a' ? v.a : v.b) === x ? 'a' : 'b';
        out.set(`${r.sampleId}|${x}|${y}`, w);
      }
      continue;
    }
    const aspect = extra.aspect as string | undefined;
    const scored = r.responses
      .map((a, i) => ({ id: a.responseId ?? String(i), s: scoreOf(r.scores[i], aspect) }))
      .filter((x): x is { id: string; s: number } => x.s !== undefined);
    for (let i = 0; i < scored.length; i++)
      for (let j = i + 1; j < scored.length; j++) {
        const [p, q] = scored[i].id < scored[j].id ? [scored[i], scored[j]] : [scored[j], scored[i]];
        out.set(`${r.sampleId}|${p.id}|${q.id}`, p.s > q.s ? 'a' : p.s < q.s ? 'b' : 'tie');
      }
  }
  return out;
}

/** The score of one response: the named aspect, else the mean over the aspects it has. */
export function scoreOf(s: Record<string, { score: number }> | undefined, aspect?: string): number | undefined {
  if (!s) return undefined;
  if (aspect && aspect in s) return s[aspect].score;
  const v = Object.values(s).map((x) => x.score);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined;
}

async function readPrefs(file: string): Promise<Preference[]> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Preference);
}

function usageOf(results: readonly GenerateResult[]) {
  return {
    requests: results.length,
    promptTokens: results.reduce((t, r) => t + ((r.ok && r.usage?.promptTokens) || 0), 0),
    completionTokens: results.reduce((t, r) => t + ((r.ok && r.usage?.completionTokens) || 0), 0),
  };
}

export const judgeStage = defineStage({
  description: 'annotate responses: rule, ai-rubric, ai-pairwise, ai-claims, reward-model, self, human',
  output: 'preference',
  needsInput: true,
  params: Params,
  create(p, ctx) {
    const how = effective(p);
    const needsModel = ['rubric', 'pairwise', 'claims'].includes(how);
    if (needsModel && !p.model)
      throw new MmalignError('MMALIGN_CONFIG', `judge "${ctx.name}" (${p.kind}) needs \`model\``);
    if (p.model) checkStageNames(ctx, [p.model]);
    if (p.kind === 'self' && p.model && !ctx.models[p.model].policy)
      throw new MmalignError(
        'MMALIGN_CONFIG',
        `judge "${ctx.name}": kind self means the policy judges its own outputs, but model "${p.model}" is not marked policy: true`,
      );
    if (how === 'reward' && !p.checkpoint)
      throw new MmalignError(
        'MMALIGN_CONFIG',
        `judge "${ctx.name}": reward-model needs \`checkpoint\` (a folder from mmalign train rm)`,
      );
    const checkpoint = p.checkpoint ? path.resolve(ctx.configDir, p.checkpoint) : undefined;
    const input = ctx.input!;
    const modelCfg = p.model ? ctx.models[p.model] : undefined;
    const annotatorKind: AnnotatorKind =
      p.kind === 'rule'
        ? 'rule'
        : p.kind === 'human'
          ? 'human'
          : p.kind === 'self'
            ? 'self'
            : p.kind === 'reward-model'
              ? 'reward_model'
              : (p.annotatorKind ?? (/^openai:[^@]*$/.test(modelCfg?.spec ?? '') ? 'closed_model' : 'open_model'));
    const annotator: Annotator = {
      kind: annotatorKind,
      id:
        p.kind === 'rule'
          ? 'shapeworld-truth'
          : p.kind === 'human'
            ? 'studio'
            : (p.model ?? path.basename(checkpoint ?? 'rm')),
      version: `${how}${p.template ? `:${preferenceId(p.template).slice(0, 8)}` : ''}`,
    };
    const aspectName =
      how === 'rule'
        ? 'rule'
        : how === 'claims'
          ? 'claims'
          : how === 'reward'
            ? 'reward'
            : how === 'pairwise'
              ? 'copeland'
              : undefined;
    let rm: Promise<import('../../train/rm.ts').RewardModel> | undefined;
    const tasksFile = (env: StageEnv) => path.resolve(env.runDir, p.tasks ?? `human-${ctx.name}.tasks.jsonl`);
    const resultsFile = (env: StageEnv) => path.resolve(env.runDir, p.results ?? `human-${ctx.name}.results.jsonl`);
    let human: Map<string, Preference[]> | undefined;

    const ask = async (m: VisionLanguageModel, qs: Sample[], env: StageEnv, maxTokens: number) =>
      m.generate(qs, { ...JUDGE_PARAMS, maxTokens }, { mediaRoot: env.mediaRoot, signal: env.signal });

    function record(
      sample: Sample,
      responses: Response[],
      scores: Record<string, { score: number; rationale?: string }>[],
      env: StageEnv,
      extra: Record<string, unknown> = {},
    ): PreferenceOf<'rubric'> {
      return {
        kind: 'rubric',
        id: preferenceId(sample.id, 'judge', ctx.name),
        sampleId: sample.id,
        prompt: sample.messages,
        media: sample.media,
        responses: responses.map((r) => ({ text: r.text, responseId: r.id, model: r.model })),
        scores,
        ...(how === 'rubric' ? { scale: p.scale } : {}),
        provenance: {
          source: sample.provenance.source,
          responseModels: [...new Set(responses.map((r) => r.model))],
          annotator,
          strategy: `judge:${p.kind}`,
          createdAt: env.now(),
          run: env.runId,
          extra: {
            judge: ctx.name,
            ...(aspectName ? { aspect: aspectName } : {}),
            responses: responses.map((r) => ({
              id: r.id,
              strategy: r.provenance.strategy ?? 'sample',
              visual: r.visual ?? 'clean',
              ...(r.provenance.extra?.segments ? { segments: r.provenance.extra.segments } : {}),
              ...(r.provenance.extra?.goodText !== undefined ? { goodText: r.provenance.extra.goodText } : {}),
            })),
            ...extra,
          },
        },
      };
    }

    async function judge(item: Item, env: StageEnv): Promise<WorkOutcome> {
      const { sample, responses } = item;
      if (how === 'rule') {
        const scores = responses.map((r) => {
          const s = ruleScore(sample, r.text);
          const why = [...s.hallucinated.map((h) => `hallucinated ${h}`), ...s.missed.map((m) => `missed ${m}`)];
          return { rule: { score: s.score, rationale: why.length ? why.join('; ') : s.verdict } };
        });
        return { ok: true, records: [record(sample, responses, scores, env)] };
      }
      if (how === 'human') {
        const got = human?.get(sample.id);
        if (!got?.length)
          return {
            ok: false,
            error: {
              code: 'MMALIGN_AWAITING_HUMAN',
              message: `no human label yet for ${sample.id}: import ${tasksFile(env)} with \`mmalign studio --project P import\`, export to ${resultsFile(env)}, rerun`,
              retryable: true,
            },
          };
        return { ok: true, records: got };
      }
      if (how === 'reward') {
        const { loadImageRgb } = await import('../../nn/image.ts');
        const { scoreWithRewardModel } = await import('../../train/rm.ts');
        rm ??= (async () => {
          const { initTf } = await import('../../nn/tf.ts');
          await initTf();
          const { loadRewardModel } = await import('../../train/rm.ts');
          return loadRewardModel(checkpoint!, { trainable: false });
        })();
        const model = await rm;
        const img = sample.media.find((m) => m.kind === 'image');
        const image = img ? await loadImageRgb(path.join(env.mediaRoot, img.path), model.model.config.imageSize) : null;
        const prompt = promptText(sample.messages, false);
        const s = scoreWithRewardModel(
          model,
          responses.map((r) => ({ image, prompt, response: r.text })),
        );
        return {
          ok: true,
          records: [
            record(
              sample,
              responses,
              s.map((x) => ({ reward: { score: x } })),
              env,
            ),
          ],
        };
      }
      const m = (await env.model(p.model!)).model;
      if (how === 'claims') {
        const per = responses.map((r) => splitClaims(r.text));
        const qs = per.flatMap((cs, i) =>
          cs.map((c, j) => judgeSample(sample, `${sample.id}#claim${i}.${j}`, c.question)),
        );
        const results = qs.length ? await ask(m, qs, env, 8) : [];
        const bad = results.find((r) => !r.ok);
        if (bad && !bad.ok) return { ok: false, error: bad.error };
        let k = 0;
        const scores = per.map((cs) => {
          const verdicts = cs.map((c) => {
            const r = results[k++];
            return { claim: c.claim, verdict: r.ok ? parseYesNo(r.generations[0]?.text ?? '') : null };
          });
          const rejected = verdicts.filter((v) => v.verdict === 'no');
          return {
            claims: {
              score: -rejected.length,
              rationale: verdicts.map((v) => `${v.claim}: ${v.verdict ?? 'unparsed'}`).join('; '),
            },
          };
        });
        return { ok: true, records: [record(sample, responses, scores, env)], usage: usageOf(results) };
      }
      const question = promptText(sample.messages, false);
      if (how === 'rubric') {
        const tpl = p.template ?? RUBRIC_TEMPLATE;
        const qs = responses.map((r, i) =>
          judgeSample(
            sample,
            `${sample.id}#rubric${i}`,
            tpl
              .replace('{question}', question)
              .replace('{answer}', r.text)
              .replace('{min}', String(p.scale[0]))
              .replace('{max}', String(p.scale[1]))
              .replace('{aspects}', p.aspects.join(', ')),
          ),
        );
        const results = await ask(m, qs, env, 96);
        const bad = results.find((r) => !r.ok);
        if (bad && !bad.ok) return { ok: false, error: bad.error };
        const scores = results.map((r) => {
          const parsed = r.ok ? parseRubric(r.generations[0]?.text ?? '', p.aspects, p.scale) : {};
          return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, { score: v }]));
        });
        const unparsed = scores.filter((s) => Object.keys(s).length < p.aspects.length).length;
        return {
          ok: true,
          records: [record(sample, responses, scores, env, { incomplete: unparsed })],
          usage: usageOf(results),
        };
      }
      // pairwise, both orders
      const tpl = p.template ?? PAIRWISE_TEMPLATE;
      const fill = (a: string, b: string) => tpl.replace('{question}', question).replace('{a}', a).replace('{b}', b);
      const pairs: [number, number][] = [];
      for (let i = 0; i < responses.length && pairs.length < p.maxPairs; i++)
        for (let j = i + 1; j < responses.length && pairs.length < p.maxPairs; j++) pairs.push([i, j]);
      const qs = pairs.flatMap(([i, j], k) => [
        judgeSample(sample, `${sample.id}#ab${k}`, fill(responses[i].text, responses[j].text)),
        judgeSample(sample, `${sample.id}#ba${k}`, fill(responses[j].text, responses[i].text)),
      ]);
      const results = qs.length ? await ask(m, qs, env, 16) : [];
      const bad = results.find((r) => !r.ok);
      if (bad && !bad.ok) return { ok: false, error: bad.error };
      const text = (r: GenerateResult) => (r.ok ? (r.generations[0]?.text ?? '') : '');
      const wins = responses.map(() => 0);
      const verdicts: PairVerdict[] = pairs.map(([i, j], k) => {
        const r1 = text(results[2 * k]);
        const r2 = text(results[2 * k + 1]);
        const v1 = parseVerdict(r1);
        const v2 = parseVerdict(r2);
        // back to identities: in the second order A is response j
        const id1 = v1 === 'A' ? 'a' : v1 === 'B' ? 'b' : v1;
        const id2 = v2 === 'A' ? 'b' : v2 === 'B' ? 'a' : v2;
        const consistent = id1 !== null && id1 === id2;
        let winner: PairVerdict['winner'] = consistent ? id1 : null;
        if (!consistent && id1 !== null && id2 !== null && p.onDisagree === 'tie') winner = 'tie';
        if (winner === 'a') wins[i] += 1;
        else if (winner === 'b') wins[j] += 1;
        else if (winner === 'tie') {
          wins[i] += 0.5;
          wins[j] += 0.5;
        }
        return { a: responses[i].id, b: responses[j].id, winner, consistent, raw: [r1, r2] };
      });
      return {
        ok: true,
        records: [
          record(
            sample,
            responses,
            wins.map((w) => ({ copeland: { score: w } })),
            env,
            { pairwise: verdicts },
          ),
        ],
        usage: usageOf(results),
      };
    }

    return {
      name: ctx.name,
      type: 'judge',
      output: 'preference',
      input,
      fingerprint: { ...p, spec: modelCfg?.spec, checkpoint },
      models: p.model ? [p.model] : [],
      count: (env) => env.countInput(p.samples).catch(() => undefined),
      async *plan(env): AsyncGenerator<WorkItem<Item>> {
        await requireFinished(env, ctx.name, [p.samples, ...p.responses]);
        const samples = await readSamples(env, p.samples, ctx.name);
        const all = await readResponses(env, p.responses, ctx.name);
        // one record per response id (several negative stages emit the same reference answer)
        const byId = new Map(all.map((r) => [r.id, r]));
        const bySample = groupBy([...byId.values()], (r) => r.sampleId);
        if (how === 'human') {
          const file = tasksFile(env);
          if (!existsSync(file)) {
            // unlabelled tasks for the studio: each sample (media paths relative to the task file) then its responses;
            // `mmalign studio --project P import FILE --type ranking` makes one ranking task per sample
            const lines: string[] = [];
            for (const [sid, rs] of bySample) {
              const s = samples.get(sid);
              if (!s || rs.length < 2) continue;
              const media = s.media.map((m) =>
                m.path === undefined
                  ? m
                  : { ...m, path: path.relative(path.dirname(file), path.resolve(env.mediaRoot, m.path)) },
              );
              lines.push(JSON.stringify({ ...s, media }));
              for (const r of rs) lines.push(JSON.stringify(r));
            }
            mkdirSync(path.dirname(file), { recursive: true });
            writeFileSync(`${file}.tmp`, `${lines.join('\n')}\n`);
            renameSync(`${file}.tmp`, file);
          }
          human = groupBy(await readPrefs(resultsFile(env)), (r) => r.sampleId);
        }
        for (const [sid, s] of samples) {
          const rs = bySample.get(sid);
          if (!rs?.length) continue;
          rs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
          yield { key: sid, data: { sample: s, responses: rs } };
        }
      },
      run: (item, env) => judge(item.data, env),
      async concurrency(env) {
        return p.model ? (await env.model(p.model)).capacity : 4;
      },
      async summarize(env, output) {
        const mine = await readPrefs(output);
        const labels = pairLabels(mine);
        const stats: Record<string, unknown> = { records: mine.length, pairLabels: labels.size };
        if (how === 'pairwise') {
          let total = 0;
          let consistent = 0;
          let dropped = 0;
          let ties = 0;
          for (const r of mine)
            for (const v of (r.provenance.extra?.pairwise ?? []) as PairVerdict[]) {
              total++;
              if (v.consistent) consistent++;
              if (v.winner === null) dropped++;
              if (!v.consistent && v.winner === 'tie') ties++;
            }
          stats.positionSwap = {
            pairs: total,
            consistent,
            agreement: total ? consistent / total : Number.NaN,
            disagreeAsTie: ties,
            dropped,
          };
        }
        // calibration against ShapeWorld truth: does the judge order each response pair as the rule judge does?
        const samples = await readSamples(env, p.samples, ctx.name);
        const truth = new Map<string, string>();
        for (const r of mine) {
          const s = samples.get(r.sampleId);
          if (s?.provenance.source !== 'shapeworld' || r.kind !== 'rubric') continue;
          const scored = r.responses.map((a, i) => ({ id: a.responseId ?? String(i), s: ruleScore(s, a.text).score }));
          for (let i = 0; i < scored.length; i++)
            for (let j = i + 1; j < scored.length; j++) {
              const [x, y] = scored[i].id < scored[j].id ? [scored[i], scored[j]] : [scored[j], scored[i]];
              if (x.s !== y.s) truth.set(`${r.sampleId}|${x.id}|${y.id}`, x.s > y.s ? 'a' : 'b');
            }
        }
        if (truth.size) {
          let n = 0;
          let right = 0;
          let decided = 0;
          for (const [k, t] of truth) {
            n++;
            const j = labels.get(k);
            if (j !== undefined && j !== 'tie') decided++;
            if (j === t) right++;
          }
          // accuracy counts a tie or a dropped pair as wrong; decidedAccuracy only over pairs the judge ordered
          stats.vsRule = {
            pairs: n,
            accuracy: right / n,
            decided,
            decidedAccuracy: decided ? right / decided : Number.NaN,
          };
        }
        const kappa: Record<string, unknown> = {};
        for (const other of p.compare) {
          try {
            await requireFinished(env, ctx.name, [other]);
          } catch {
            kappa[other] = { error: `judge stage "${other}" has not finished before "${ctx.name}"; list it earlier` };
            continue;
          }
          const theirs = pairLabels(await readPrefs(path.join(env.runDir, 'stages', other, 'out.jsonl')));
          const k = cohenKappaOverlap(labels, theirs);
          kappa[other] = k;
        }
        if (p.compare.length) stats.kappa = kappa;
        return stats;
      },
    };
  },
});
