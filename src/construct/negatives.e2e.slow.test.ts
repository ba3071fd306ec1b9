import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { parseYesNo } from '../judges/ai.ts';
import { ruleScore } from '../judges/rule.ts';
import { loadEmbeddedModel } from '../models/embedded.ts';
import { createVlm, initTf, loadImageRgb, responseLogprobs, saveCheckpoint, tf, WordTokenizer } from '../nn/index.ts';
import type { Preference, PreferenceOf, Response, Sample } from '../schema/index.ts';
import { requestSampleId } from '../serve/app.ts';
import { startServer } from '../serve/server.ts';
import { AdamW, OptimConfig, trainableWeights, trainStep } from '../train/common.ts';
import { CAPTION_PROMPT, CATEGORIES, COLORS, popeQuestionText } from '../world/index.ts';
import { parseConstructConfig } from './config.ts';
import { runPipeline } from './pipeline.ts';
import { STAGES } from './stages/index.ts';
import { splitClaims } from './stages/judge.ts';

const STAGE_LIST = [
  { stage: 'source', shapeworld: { tasks: ['caption'], n: 4, split: 'test' } },
  { stage: 'responses', models: ['policy'], n: 2 },
  { stage: 'corrupt', input: 'source', corruptions: ['blur', { name: 'crop', params: { keep: 0.5 } }] },
  { stage: 'responses', name: 'responses-neg', input: 'corrupt', models: ['policy'], n: 1 },
  { stage: 'inject', input: 'source', strategies: ['random', 'attribute', 'count'] },
  { stage: 'judge', name: 'judge-rule', kind: 'rule', responses: ['responses', 'responses-neg', 'inject'] },
  {
    stage: 'judge',
    name: 'judge-claims',
    kind: 'ai-claims',
    model: 'policy',
    responses: ['responses', 'responses-neg', 'inject'],
    compare: ['judge-rule'],
  },
  { stage: 'pair', name: 'pairs', input: 'judge-rule', imagePairs: 'corrupt', keepRankings: true },
  { stage: 'pair', name: 'pairs-claims', input: 'judge-claims', mode: 'all_pairs' },
  { stage: 'export', name: 'trl', input: 'pairs', format: 'trl', kinds: ['pair'] },
];

const lines = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

/**
 * The must-show: ShapeWorld → responses sampled from `mmalign serve` (the embedded model over real HTTP on
 * loopback) → corrupted images and responses under them → injected hallucinations → the rule judge AND the
 * embedded model as an RLAIF-V claims judge (over the same HTTP server) → pairs → TRL export, checked field by field.
 */
describe('construct: ShapeWorld → serve → negatives → judges → pairs → TRL', () => {
  const t = tempDir('mmalign-neg-e2e-');
  afterAll(() => t.cleanup());

  it('runs every stage and the TRL rows match the pairs', async () => {
    await initTf();
    const words = [CAPTION_PROMPT, 'yes no . , and a', ...CATEGORIES, ...COLORS, 'small medium large'];
    const tok = WordTokenizer.fromTexts([...words, ...CATEGORIES.map((c) => popeQuestionText(c))]);
    const vlm = createVlm(
      { imageSize: 16, patchSize: 8, dModel: 16, nHeads: 2, encLayers: 1, decLayers: 1, mlpRatio: 2, maxTextLen: 32 },
      tok,
      3,
      true,
    );
    const runDir = path.join(t.dir, 'run');
    const config = (url: string) =>
      parseConstructConfig(
        {
          seed: 5,
          models: { policy: { spec: url, concurrency: 2, temperature: 1, maxTokens: 8, policy: true } },
          stages: STAGE_LIST,
        },
        STAGES,
        { dir: t.dir },
      );
    // the source first (it needs no model), so the judge model can be trained on its scenes
    await runPipeline(config('http://127.0.0.1:9/v1'), { runDir, only: ['source'] });
    const scenes = lines<Sample>(path.join(runDir, 'stages/source/out.jsonl'));
    // a few steps on yes/no object questions (the POPE wording the claims judge asks) and captions: enough that
    // the judge answers yes/no, so its verdicts are data (it is not meant to be a calibrated judge)
    const items: { image: Uint8Array; prompt: string; response: string }[] = [];
    for (const sc of scenes) {
      const image = await loadImageRgb(path.join(runDir, sc.media[0].path ?? ''), 16);
      const drawn = new Set((sc.truth?.objects ?? []).map((o) => o.name));
      for (const c of CATEGORIES)
        items.push({ image, prompt: popeQuestionText(c), response: drawn.has(c) ? 'yes' : 'no' });
      items.push({ image, prompt: CAPTION_PROMPT, response: String(sc.truth?.caption) });
    }
    const opt = new AdamW(trainableWeights(vlm), OptimConfig.parse({ lr: 1e-2, warmupSteps: 0 }));
    for (let i = 0; i < 40; i++)
      trainStep(opt, 1e-2, () => {
        const sc = responseLogprobs(vlm, items);
        return tf.div(tf.neg(tf.sum(sc.tokenLogps)), tf.sum(sc.mask)) as tf.Scalar;
      });
    opt.dispose();
    const ckpt = path.join(t.dir, 'ckpt');
    mkdirSync(ckpt);
    await saveCheckpoint(ckpt, vlm);
    const model = await loadEmbeddedModel(ckpt);
    const server = await startServer({ model, port: 0 });
    try {
      const cfg = config(server.url);
      const s = await runPipeline(cfg, { runDir });
      const by = Object.fromEntries(s.stages.map((x) => [x.name, x]));
      for (const x of s.stages) expect([x.name, x.failed, x.done]).toEqual([x.name, 0, x.planned]);
      expect(by.corrupt.records).toBe(8);
      expect(by['responses-neg'].records).toBe(8);

      const samples = new Map(lines<Sample>(by.source.output).map((x) => [x.id, x]));
      // I_neg: new images in the run's media store, same size class, recorded against the original sample
      const negSamples = lines<Sample>(by.corrupt.output);
      for (const n of negSamples) {
        const orig = samples.get(n.provenance.extra?.negOf as string)!;
        expect(n.id).toBe(`${orig.id}#${n.provenance.extra?.corruption}`);
        expect(n.media[0].sha256).not.toBe(orig.media[0].sha256);
        const bytes = readFileSync(path.join(runDir, n.media[0].path ?? ''));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(n.media[0].sha256);
        expect(n.truth).toBeUndefined();
      }
      const neg = lines<Response>(by['responses-neg'].output);
      for (const r of neg) {
        expect(r.visual).toBe('corrupted');
        expect(samples.has(r.sampleId)).toBe(true);
        expect(r.provenance.strategy).toMatch(/^sample:corrupt:(blur|crop)$/);
      }

      // injected: exact-truth negatives, one swapped phrase, the span recorded
      const inj = lines<Response>(by.inject.output);
      const refs = inj.filter((r) => r.model === 'reference');
      expect(refs).toHaveLength(4);
      for (const r of refs) expect(ruleScore(samples.get(r.sampleId)!, r.text).score).toBe(0);
      const injected = inj.filter((r) => r.model === 'rule:inject');
      expect(injected.length).toBeGreaterThanOrEqual(4);
      for (const r of injected) {
        const sc = ruleScore(samples.get(r.sampleId)!, r.text);
        expect(sc.score).toBeLessThan(0);
        const segs = r.provenance.extra?.segments as { start: number; end: number; text: string }[] | undefined;
        expect(segs).toHaveLength(1);
        for (const seg of segs ?? []) expect(r.text.slice(seg.start, seg.end)).toBe(seg.text);
      }

      // the rule judge: one rubric per sample, scores = ruleScore
      const rule = lines<PreferenceOf<'rubric'>>(by['judge-rule'].output);
      expect(rule).toHaveLength(4);
      for (const j of rule) {
        expect(j.provenance.annotator).toEqual({ kind: 'rule', id: 'shapeworld-truth', version: 'rule' });
        expect(j.responses).toHaveLength(2 + 2 + 1 + injected.filter((r) => r.sampleId === j.sampleId).length);
        for (const [i, a] of j.responses.entries())
          expect(j.scores[i].rule.score).toBe(ruleScore(samples.get(j.sampleId)!, a.text).score);
      }
      expect((by['judge-rule'].stats as { vsRule: { accuracy: number } }).vsRule.accuracy).toBe(1);

      // the AI judge = the embedded model over HTTP: its verdicts are what the model answers in process
      const claims = lines<PreferenceOf<'rubric'>>(by['judge-claims'].output);
      expect(claims).toHaveLength(4);
      const j = claims[0];
      expect(j.provenance.annotator.kind).toBe('open_model');
      const sample = samples.get(j.sampleId)!;
      const reqs = j.responses.flatMap((a, i) => splitClaims(a.text).map((c, k) => ({ i, k, q: c.question })));
      expect(reqs.length).toBeGreaterThan(0);
      const asked = reqs.map(({ q }) => {
        const messages: Sample['messages'] = [
          {
            role: 'user',
            content: [
              { type: 'image', media: 0 },
              { type: 'text', text: q },
            ],
          },
        ];
        const id = requestSampleId(messages, [{ kind: 'image', path: 'x', sha256: sample.media[0].sha256 }]);
        return { ...sample, id, messages } as Sample;
      });
      const direct = await model.generate(
        asked,
        { n: 1, temperature: 0, maxTokens: 8, seed: 0 },
        { mediaRoot: runDir },
      );
      j.responses.forEach((_, i) => {
        const mine = reqs.map((r, n) => ({ r, n })).filter(({ r }) => r.i === i);
        const no = mine.filter(({ n }) => {
          const d = direct[n];
          return d.ok && parseYesNo(d.generations[0].text) === 'no';
        }).length;
        expect(j.scores[i].claims.score).toBe(0 - no);
      });
      // the trained judge answers: real yes AND no verdicts, not all unparsed
      const verdicts = claims.flatMap((c) => c.scores.map((x) => x.claims.rationale ?? '')).join(';');
      expect(verdicts).toMatch(/: yes\b/);
      expect(verdicts).toMatch(/: no\b/);
      const cs = by['judge-claims'].stats as {
        vsRule: { pairs: number; accuracy: number };
        kappa: Record<string, { n: number }>;
      };
      expect(cs.vsRule.pairs).toBeGreaterThan(0);
      expect(cs.vsRule.accuracy).toBeGreaterThanOrEqual(0);
      expect(cs.kappa['judge-rule'].n).toBeGreaterThan(0);
      expect(by['judge-claims'].usage.requests).toBeGreaterThan(0);

      // pairs: rule-judged, length-matched against injected negatives, rankings kept, segments and image pairs
      const prefs = lines<Preference>(by.pairs.output);
      const pairs = prefs.filter((p): p is PreferenceOf<'pair'> => p.kind === 'pair');
      expect(pairs.length).toBeGreaterThanOrEqual(1);
      expect(new Set(prefs.map((p) => p.id)).size).toBe(prefs.length);
      for (const p of pairs) {
        expect(p.chosenReward! - p.rejectedReward!).toBe(p.margin);
        expect(p.margin).toBeGreaterThan(0);
        const w = (x: string) => x.split(/\s+/).length;
        if (p.provenance.strategy?.startsWith('inject'))
          expect(
            Math.max(w(p.chosen.text), w(p.rejected.text)) / Math.min(w(p.chosen.text), w(p.rejected.text)),
          ).toBeLessThanOrEqual(1.25);
      }
      const imagePairs = prefs.filter((p) => p.kind === 'image_pair');
      expect(imagePairs).toHaveLength(8);
      expect(prefs.filter((p) => p.kind === 'ranking')).toHaveLength(4);
      const segs = prefs.filter((p): p is PreferenceOf<'segments'> => p.kind === 'segments');
      for (const sg of segs) {
        const sp = sg.segments[0];
        expect(sg.rejected.text.slice(sp.start, sp.end)).toBe(sp.text);
        expect(sg.chosen.text).toBe(
          sg.rejected.text.slice(0, sp.start) + sp.correction + sg.rejected.text.slice(sp.end),
        );
      }
      const st = by.pairs.stats as {
        byKind: Record<string, number>;
        annotatorKinds: Record<string, number>;
        lengthRatio: number;
      };
      expect(st.byKind.pair).toBe(pairs.length);
      expect(st.annotatorKinds.rule).toBe(prefs.length);

      // TRL export: one row per pair, field by field
      const ex = by.trl.stats as { out: string; written: number };
      expect(ex.written).toBe(pairs.length);
      const rows = lines<{
        prompt: { role: string; content: { type: string; text?: string }[] }[];
        chosen: { role: string; content: { type: string; text: string }[] }[];
        rejected: { role: string; content: { type: string; text: string }[] }[];
        images: string[];
      }>(ex.out);
      expect(rows).toHaveLength(pairs.length);
      const exported = lines<PreferenceOf<'pair'>>(by.trl.output).filter((p) => p.kind === 'pair');
      rows.forEach((row, i) => {
        const p = exported[i];
        expect(Object.keys(row).sort()).toEqual(['chosen', 'images', 'prompt', 'rejected']);
        expect(row.prompt).toEqual([
          { role: 'user', content: [{ type: 'image' }, { type: 'text', text: CAPTION_PROMPT }] },
        ]);
        expect(row.chosen).toEqual([{ role: 'assistant', content: [{ type: 'text', text: p.chosen.text }] }]);
        expect(row.rejected).toEqual([{ role: 'assistant', content: [{ type: 'text', text: p.rejected.text }] }]);
        expect(row.images).toHaveLength(1);
        const img = path.join(path.dirname(ex.out), row.images[0]);
        expect(existsSync(img)).toBe(true);
        expect(createHash('sha256').update(readFileSync(img)).digest('hex')).toBe(p.media[0].sha256);
      });

      // resume: a second run over the same folder redoes nothing and changes nothing
      const before = readFileSync(by.pairs.output, 'utf8');
      const again = await runPipeline(cfg, { runDir });
      expect(again.stages.map((x) => x.doneNow)).toEqual(again.stages.map(() => 0));
      expect(readFileSync(by.pairs.output, 'utf8')).toBe(before);
    } finally {
      await server.close();
      await model.close();
    }
  }, 120_000);
});
