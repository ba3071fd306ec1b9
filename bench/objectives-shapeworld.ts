/**
 * The ShapeWorld experiment, end to end on the embedded model:
 *  1. pairs: chosen = the clean caption from ground truth, rejected = the same caption with one object replaced by
 *     the absent prior partner of a drawn trigger (an injected co-occurrence hallucination, length-matched);
 *  2. dpo, mdpo and an `sft`-on-chosen control from the same SFT checkpoint, held-out CHAIR-i / CHAIR-s / recall /
 *     well-formed share on test captions before and after (stack.md: CHAIR alone can be gamed by broken output);
 *  3. grpo with the verifiable reward on count questions, held-out greedy accuracy before and after.
 *
 *   npx tsx bench/objectives-shapeworld.ts --sft out/ckpt/sft [--out DIR] [--pairs 400] [--steps 60]
 *        [--grpo-steps 40] [--grpo-lr 1e-4] [--seed 0] [--only dpo,mdpo,sft,grpo (any pair objective)] [--lr 2e-4] [--beta 0.1]
 *        [--recipe recipes/shapes-hallucination.yaml]   (ShapeWorld knobs: the recipe's `world.config`, which the
 *                                                         SFT checkpoint should have been trained on)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { disposeVlm, generateText, initTf, loadCheckpoint, type Vlm } from '../src/nn/index.ts';
import { loadRecipe } from '../src/recipe/index.ts';
import type { Sample } from '../src/schema/index.ts';
import { loadPromptData, type PromptExample, trainGrpo } from '../src/train/grpo.ts';
import { trainPreference } from '../src/train/pref.ts';
import { loadPrefData } from '../src/train/pref-data.ts';
import { makeReward } from '../src/train/rewards.ts';
import {
  type CaptionObject,
  type Category,
  type Color,
  checkAnswer,
  DEFAULT_PRIORS,
  formatCaption,
  generateWorld,
  parseCaption,
  priorPartners,
  type Size,
} from '../src/world/index.ts';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : d;
};
const sftDir = opt('sft', 'out/ckpt/sft');
const out = opt('out', '/tmp/mmalign-shapeworld-exp');
const nPairs = Number(opt('pairs', '400'));
const steps = Number(opt('steps', '60'));
const grpoSteps = Number(opt('grpo-steps', '40'));
const seed = Number(opt('seed', '0'));
const grpoLr = Number(opt('grpo-lr', '1e-4'));
const only = new Set(opt('only', 'dpo,mdpo,sft,grpo').split(','));
const prefLr = Number(opt('lr', '2e-4'));
const beta = Number(opt('beta', '0.1'));
const log = (...x: unknown[]) => console.log(new Date().toISOString().slice(11, 19), ...x);

await initTf();
mkdirSync(out, { recursive: true });
const trainDir = path.join(out, 'world-train');
const testDir = path.join(out, 'world-test');
const worldConfig = loadRecipe(opt('recipe', 'recipes/shapes-hallucination.yaml')).world.config;
generateWorld(worldConfig, {
  seed: 101 + seed,
  n: nPairs,
  outDir: trainDir,
  tasks: ['caption', 'count'],
  splits: ['train'],
});
generateWorld(worldConfig, {
  seed: 202 + seed,
  n: 120,
  outDir: testDir,
  tasks: ['caption', 'count'],
  splits: ['test'],
});

// --- 1. hallucination pairs -------------------------------------------------------------------------------
const trainPrompts = await loadPromptData(trainDir, { imageSize: 48, tasks: ['caption'] });
const truthObjects = (s: Sample): CaptionObject[] =>
  (s.truth?.objects ?? []).map((o) => ({
    category: o.name as Category,
    color: o.attributes?.color as Color,
    size: (o.attributes?.size ?? 'medium') as Size,
  }));
const lines: string[] = [];
for (const p of trainPrompts.prompts) {
  const objs = truthObjects(p.sample);
  const present = new Set(objs.map((o) => o.category));
  // the absent partner of a drawn trigger if there is one (train priors rarely leave one out), else any prior
  // partner category the scene lacks: the categories the SFT model learned to fill in from co-occurrence
  const trigger = objs.find((o) => priorPartners(o.category).some((q) => !present.has(q)));
  const partner = trigger
    ? priorPartners(trigger.category).find((q) => !present.has(q))!
    : DEFAULT_PRIORS.map((q) => q.partner).find((q) => !present.has(q));
  if (!partner) continue;
  const victim = objs.findIndex((o) => o !== trigger && !DEFAULT_PRIORS.some((q) => q.trigger === o.category));
  if (victim < 0) continue;
  const bad = objs.map((o, i) => (i === victim ? { ...o, category: partner } : o));
  lines.push(
    JSON.stringify({
      id: `pair-${p.sample.id}`,
      kind: 'pair',
      sampleId: p.sample.id,
      prompt: p.sample.messages,
      media: p.sample.media,
      chosen: { text: formatCaption(objs) },
      rejected: { text: formatCaption(bad) },
      provenance: {
        source: 'bench/objectives-shapeworld',
        createdAt: '2026-01-01T00:00:00Z',
        annotator: { kind: 'rule', id: 'shapeworld-truth' },
        strategy: 'co-occurrence hallucination injection (substitution)',
      },
    }),
  );
}
writeFileSync(path.join(trainDir, 'preferences.jsonl'), `${lines.join('\n')}\n`);
log(`pairs: ${lines.length} from ${trainPrompts.prompts.length} train captions`);

// --- evaluation: CHAIR on held-out captions, accuracy on held-out counts -----------------------------------
const testCaptions = (await loadPromptData(testDir, { imageSize: 48, tasks: ['caption'] })).prompts;
const testCounts = (await loadPromptData(testDir, { imageSize: 48, tasks: ['count'] })).prompts;
function chair(m: Vlm, prompts: readonly PromptExample[]) {
  const outs = generateText(
    m,
    prompts.map((p) => ({ image: p.image, prompt: p.prompt, key: p.sample.id })),
    { n: 1, temperature: 0, maxTokens: 40, seed: 0 },
  );
  let mentioned = 0;
  let halluc = 0;
  let withH = 0;
  let truth = 0;
  let missed = 0;
  let wellFormed = 0;
  let exact = 0;
  prompts.forEach((p, i) => {
    const text = outs[i]![0]!.text;
    const c = checkAnswer(p.sample, text);
    const parsed = parseCaption(text);
    mentioned += new Set(parsed.objects.map((o) => o.name)).size;
    halluc += c.hallucinated?.length ?? 0;
    if (c.hallucinated?.length) withH++;
    truth += new Set((p.sample.truth?.objects ?? []).map((o) => o.name)).size;
    missed += c.missed?.length ?? 0;
    if (parsed.wellFormed) wellFormed++;
    if (c.verdict === 'correct') exact++;
  });
  const n = prompts.length;
  const r = (x: number) => Number(x.toFixed(4));
  return {
    chairI: r(halluc / Math.max(1, mentioned)),
    chairS: r(withH / n),
    recall: r(1 - missed / Math.max(1, truth)),
    wellFormed: r(wellFormed / n),
    exact: r(exact / n),
    n,
  };
}
function countAccuracy(m: Vlm) {
  const outs = generateText(
    m,
    testCounts.map((p) => ({ image: p.image, prompt: p.prompt, key: p.sample.id })),
    { n: 1, temperature: 0, maxTokens: 8, seed: 0 },
  );
  const right = testCounts.filter((p, i) => checkAnswer(p.sample, outs[i]![0]!.text).verdict === 'correct').length;
  return Number((right / testCounts.length).toFixed(4));
}

const results: Record<string, unknown> = {
  sft: sftDir,
  seed,
  pairs: lines.length,
  steps,
  lr: prefLr,
  beta,
  grpoSteps,
  grpoLr,
};
{
  const base = await loadCheckpoint(sftDir);
  results.baseline = { chair: chair(base, testCaptions), countAccuracy: countAccuracy(base) };
  log('baseline', JSON.stringify(results.baseline));
  disposeVlm(base);
}

// --- 2. preference runs -------------------------------------------------------------------------------------
const prefData = await loadPrefData(trainDir, { imageSize: 48 });
for (const objective of [...only].filter((o) => o !== 'grpo')) {
  const model = await loadCheckpoint(sftDir);
  const t0 = performance.now();
  const r = await trainPreference({
    config: {
      objective,
      beta,
      steps,
      batchSize: 16,
      seed,
      evalEvery: 20,
      patience: 0,
      optim: { lr: prefLr, minLr: prefLr / 10, warmupSteps: 5 },
    },
    model,
    train: prefData.examples,
    outDir: path.join(out, `run-${objective}`),
    data: { path: prefData.file, sha256: prefData.sha256, samples: prefData.examples.length },
    onProgress: (p) => {
      if (p.eval) log(objective, p.step, JSON.stringify(p.eval));
    },
  });
  results[objective] = {
    prefBefore: r.before,
    prefAfter: r.after,
    chairAfter: chair(model, testCaptions),
    wallSeconds: Math.round((performance.now() - t0) / 1000),
  };
  log(objective, JSON.stringify(results[objective]));
  disposeVlm(model);
}

// --- 3. GRPO on counting -------------------------------------------------------------------------------------
if (only.has('grpo')) {
  const model = await loadCheckpoint(sftDir);
  const reference = await loadCheckpoint(sftDir, { trainable: false });
  const train = (await loadPromptData(trainDir, { imageSize: 48, tasks: ['count'] })).prompts;
  const t0 = performance.now();
  const r = await trainGrpo({
    config: {
      objective: 'grpo',
      steps: grpoSteps,
      promptsPerStep: 8,
      groupSize: 4,
      maxTokens: 8,
      seed,
      evalEvery: 0,
      optim: { lr: grpoLr, minLr: grpoLr / 10, warmupSteps: 3 },
    },
    model,
    reference,
    reward: makeReward(['verifiable']).fn,
    train,
    eval: testCounts,
    outDir: path.join(out, 'run-grpo'),
    onProgress: (p) => {
      if (p.step % 10 === 0) log('grpo', p.step, JSON.stringify(p.metrics));
    },
  });
  results.grpo = { before: r.before, after: r.after, wallSeconds: Math.round((performance.now() - t0) / 1000) };
  log('grpo', JSON.stringify(results.grpo));
}
writeFileSync(path.join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
log('results', JSON.stringify(results));
