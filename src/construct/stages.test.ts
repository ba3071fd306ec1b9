import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { ruleScore } from '../judges/rule.ts';
import type { Preference, PreferenceOf, Response, Sample } from '../schema/index.ts';
import { parseConstructConfig } from './config.ts';
import { runPipeline } from './pipeline.ts';
import { STAGES } from './stages/index.ts';
import { pairLabels } from './stages/judge.ts';

/**
 * The negative / judge / pair / export stages against a scripted OpenAI-compatible judge on loopback (its reply
 * is a function of the question, so every expected value is computed here independently of the stage).
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Reply = (question: string) => string;

async function scripted(reply: Reply, fail?: () => boolean): Promise<{ url: string; asked: string[] }> {
  const asked: string[] = [];
  const server: Server = createServer((req, res) => {
    if (fail?.()) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"scripted 500"}}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        messages: { role: string; content: string | { type: string; text?: string }[] }[];
      };
      const last = body.messages.filter((m) => m.role === 'user').at(-1)!;
      const q =
        typeof last.content === 'string'
          ? last.content
          : last.content
              .filter((p) => p.type === 'text')
              .map((p) => p.text)
              .join('');
      asked.push(q);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: reply(q) }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 7, completion_tokens: 2 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, asked };
}

const lines = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

function setup(stages: unknown[], models: Record<string, unknown> = {}) {
  const t = tempDir('mmalign-stages-');
  cleanups.push(t.cleanup);
  const cfg = parseConstructConfig(
    {
      seed: 3,
      models,
      stages: [
        { stage: 'source', shapeworld: { tasks: ['caption'], n: 3, split: 'test' } },
        { stage: 'inject', strategies: ['random', 'attribute'] },
        ...stages,
      ],
    },
    STAGES,
    { dir: t.dir },
  );
  return { cfg, runDir: path.join(t.dir, 'run'), dir: t.dir };
}

const section = (q: string, label: string) => new RegExp(`${label}: (.*)`).exec(q)?.[1] ?? '';
const words = (s: string) => s.trim().split(/\s+/).length;

describe('judge stage: ai-pairwise with position swap', () => {
  it('a judge that prefers the shorter answer is consistent in both orders; pairs follow its verdicts', async () => {
    // shorter answer wins, equal length → tie: the same verdict whatever the order
    const judge = await scripted((q) => {
      const a = words(section(q, 'Answer A'));
      const b = words(section(q, 'Answer B'));
      return a < b ? 'A' : b < a ? 'B' : 'tie';
    });
    const { cfg, runDir } = setup(
      [
        { stage: 'judge', name: 'rule', kind: 'rule', responses: ['inject'] },
        {
          stage: 'judge',
          name: 'pw',
          kind: 'ai-pairwise',
          model: 'j',
          annotatorKind: 'closed_model',
          responses: ['inject'],
          compare: ['rule'],
        },
        { stage: 'pair', name: 'pairs', input: 'pw', keepRankings: true },
        { stage: 'judge', name: 'late', kind: 'rule', responses: ['inject'], compare: ['later'] },
        { stage: 'judge', name: 'later', kind: 'rule', responses: ['inject'] },
        { stage: 'export', name: 'lf', input: 'pairs', format: 'llamafactory', kinds: ['pair'] },
      ],
      { j: { spec: `openai:j@${judge.url}`, concurrency: 2 } },
    );
    const s = await runPipeline(cfg, { runDir });
    const by = Object.fromEntries(s.stages.map((x) => [x.name, x]));
    const judged = lines<PreferenceOf<'rubric'>>(by.pw.output);
    const nPairs = judged.reduce((t, j) => t + (j.responses.length * (j.responses.length - 1)) / 2, 0);
    expect(judge.asked).toHaveLength(2 * nPairs);
    expect(by.pw.stats).toMatchObject({
      positionSwap: { pairs: nPairs, consistent: nPairs, agreement: 1, dropped: 0 },
    });
    expect(by.pw.usage).toEqual({ requests: 2 * nPairs, promptTokens: 14 * nPairs, completionTokens: 4 * nPairs });
    for (const j of judged) {
      expect(j.provenance.annotator).toMatchObject({ kind: 'closed_model', id: 'j' });
      // Copeland: each response's wins (+½ per tie) = what the shorter-wins rule gives
      j.responses.forEach((a, i) => {
        let w = 0;
        j.responses.forEach((b, k) => {
          if (k !== i) w += words(a.text) < words(b.text) ? 1 : words(a.text) === words(b.text) ? 0.5 : 0;
        });
        expect(j.scores[i].copeland.score).toBe(w);
      });
    }
    // kappa against the rule judge is over the same response pairs
    const k = (by.pw.stats as { kappa: { rule: { n: number } } }).kappa.rule;
    expect(k.n).toBe(pairLabels(lines<Preference>(by.rule.output)).size);
    expect(by.late.stats).toMatchObject({ kappa: { later: { error: expect.stringMatching(/list it earlier/) } } });
    const prefs = lines<Preference>(by.pairs.output);
    for (const p of prefs.filter((x): x is PreferenceOf<'pair'> => x.kind === 'pair'))
      expect(words(p.chosen.text)).toBeLessThan(words(p.rejected.text));
    expect(prefs.filter((p) => p.kind === 'ranking')).toHaveLength(3);
    const ex = by.lf.stats as { written: number; out: string };
    expect(ex.written).toBe(prefs.filter((p) => p.kind === 'pair').length);
    expect(existsSync(ex.out)).toBe(true);
  });

  it('a judge that always says "A" disagrees with itself: ties or drops, counted', async () => {
    const judge = await scripted(() => 'A');
    for (const onDisagree of ['tie', 'drop'] as const) {
      const { cfg, runDir } = setup(
        [
          { stage: 'judge', name: 'pw', kind: 'ai-pairwise', model: 'j', responses: ['inject'], onDisagree },
          { stage: 'pair', name: 'pairs', input: 'pw' },
        ],
        { j: { spec: `openai:j@${judge.url}` } },
      );
      const s = await runPipeline(cfg, { runDir });
      const st = s.stages.find((x) => x.name === 'pw')!.stats as {
        positionSwap: { pairs: number; consistent: number; disagreeAsTie: number; dropped: number };
      };
      expect(st.positionSwap.consistent).toBe(0);
      expect(st.positionSwap.pairs).toBeGreaterThan(0);
      expect(onDisagree === 'tie' ? st.positionSwap.disagreeAsTie : st.positionSwap.dropped).toBe(
        st.positionSwap.pairs,
      );
      expect(s.stages.find((x) => x.name === 'pairs')!.records).toBe(0);
    }
  });
});

describe('judge stage: rubric, self, human; negatives by model', () => {
  it('ai-rubric parses aspect lines; self needs the policy; rewrite makes model negatives', async () => {
    const judge = await scripted((q) =>
      q.startsWith('Rewrite') ? 'a huge purple moon.' : 'helpfulness: 4\nvisual_faithfulness: 2\nethics: 5',
    );
    expect(() =>
      setup([{ stage: 'judge', kind: 'self', model: 'j', responses: ['inject'] }], {
        j: { spec: `openai:j@${judge.url}` },
      }),
    ).toThrow(/not marked policy: true/);
    const { cfg, runDir } = setup(
      [
        { stage: 'rewrite', input: 'source', model: 'j', temperature: 0 },
        { stage: 'judge', name: 'rubric', kind: 'ai-rubric', model: 'j', responses: ['inject', 'rewrite'] },
        { stage: 'judge', name: 'self', kind: 'self', method: 'rubric', model: 'p', responses: ['inject'] },
      ],
      { j: { spec: `openai:j@${judge.url}` }, p: { spec: `openai:p@${judge.url}`, policy: true } },
    );
    const s = await runPipeline(cfg, { runDir });
    const by = Object.fromEntries(s.stages.map((x) => [x.name, x]));
    const rw = lines<Response>(by.rewrite.output).filter((r) => r.provenance.strategy === 'rewrite');
    expect(rw).toHaveLength(3);
    expect(rw[0]).toMatchObject({ text: 'a huge purple moon.', model: 'j', visual: 'clean' });
    for (const j of lines<PreferenceOf<'rubric'>>(by.rubric.output)) {
      expect(j.scale).toEqual([1, 5]);
      for (const sc of j.scores)
        expect(sc).toEqual({ helpfulness: { score: 4 }, visual_faithfulness: { score: 2 }, ethics: { score: 5 } });
    }
    const self = lines<PreferenceOf<'rubric'>>(by.self.output);
    expect(self[0].provenance.annotator).toMatchObject({ kind: 'self', id: 'p' });
  });

  it('dropout stops with a capability error on a backend without prefill', async () => {
    const judge = await scripted(() => 'x');
    const { cfg, runDir } = setup([{ stage: 'dropout', input: 'source', model: 'j' }], {
      j: { spec: `openai:j@${judge.url}` },
    });
    await expect(runPipeline(cfg, { runDir })).rejects.toThrow(/does not support prefill/);
  });

  it('dropout with the embedded model: the kept prefix, then a continuation decoded without the image', async () => {
    const { createVlm, initTf, saveCheckpoint, WordTokenizer } = await import('../nn/index.ts');
    await initTf();
    const t = tempDir('mmalign-ckpt-');
    cleanups.push(t.cleanup);
    const ckpt = path.join(t.dir, 'ckpt');
    const tok = WordTokenizer.fromTexts(['Describe the image.', 'a large red circle and a small blue square.']);
    const arch = { imageSize: 16, patchSize: 4, dModel: 16, nHeads: 2, encLayers: 1, decLayers: 1, mlpRatio: 2 };
    await saveCheckpoint(ckpt, createVlm({ ...arch, maxTextLen: 40 }, tok, 5));
    const { cfg, runDir } = setup([{ stage: 'dropout', input: 'source', model: 'e', maxTokens: 4 }], {
      e: { spec: `embedded:${ckpt}` },
    });
    const s = await runPipeline(cfg, { runDir });
    const out = lines<Response>(s.stages.find((x) => x.name === 'dropout')!.output).filter(
      (r) => r.provenance.strategy === 'dropout',
    );
    expect(out).toHaveLength(3);
    const sources = lines<Sample>(s.stages.find((x) => x.name === 'source')!.output);
    for (const r of out) {
      expect(r).toMatchObject({ visual: 'none', provenance: { strategy: 'dropout' } });
      const good = sources.find((x) => r.sampleId === x.id)?.reference as string;
      const kept = good
        .split(' ')
        .slice(0, Math.ceil(good.split(' ').length / 2))
        .join(' ');
      expect(r.text.startsWith(kept.replace(/[.,]$/, ''))).toBe(true);
    }
  });

  it('human: writes a studio task file, waits for labels, then imports them', async () => {
    const { cfg, runDir } = setup([{ stage: 'judge', name: 'human', kind: 'human', responses: ['inject'] }]);
    cfg.maxFailedFraction = 0;
    await expect(runPipeline(cfg, { runDir })).rejects.toThrow(/3 of 3 items failed.*no human label yet/);
    const taskFile = path.join(runDir, 'human-human.tasks.jsonl');
    const taskLines = lines<Sample | Response>(taskFile);
    expect(taskLines.filter((x) => 'messages' in x)).toHaveLength(3);
    // the real studio import turns it into one ranking task per sample, its media found from the file's folder
    const { openDb } = await import('../studio/server/db.ts');
    const { importRecords } = await import('../studio/server/import.ts');
    const db = openDb(path.join(runDir, 'studio'));
    try {
      expect(importRecords(db, path.join(runDir, 'studio'), taskFile, { type: 'ranking' })).toMatchObject({ tasks: 3 });
    } finally {
      db.close();
    }
    const inj = lines<Response>(path.join(runDir, 'stages/inject/out.jsonl'));
    const tasks = [...new Map(inj.map((r) => [r.sampleId, r.sampleId])).keys()].map((sampleId) => {
      const s = lines<Sample>(path.join(runDir, 'stages/source/out.jsonl')).find((x) => x.id === sampleId)!;
      return {
        sampleId,
        prompt: s.messages,
        media: s.media,
        responses: inj.filter((r) => r.sampleId === sampleId).map((r) => ({ text: r.text, responseId: r.id })),
      };
    });
    // the studio's export: a human pair per sample (here: the rule judge's preferred answer first)
    const samples = new Map(lines<Sample>(path.join(runDir, 'stages/source/out.jsonl')).map((x) => [x.id, x]));
    const results = tasks.map((t) => {
      const s = samples.get(t.sampleId)!;
      const sorted = [...t.responses].sort((a, b) => ruleScore(s, b.text).score - ruleScore(s, a.text).score);
      return {
        kind: 'pair',
        id: `h-${t.sampleId}`,
        sampleId: t.sampleId,
        prompt: t.prompt,
        media: t.media,
        chosen: sorted[0],
        rejected: sorted.at(-1),
        provenance: { source: 'studio', annotator: { kind: 'human', id: 'ann1' }, createdAt: 'x' },
      };
    });
    writeFileSync(path.join(runDir, 'human-human.results.jsonl'), results.map((r) => JSON.stringify(r)).join('\n'));
    const s = await runPipeline(cfg, { runDir });
    const h = s.stages.find((x) => x.name === 'human')!;
    expect(h).toMatchObject({ done: 3, failed: 0, doneNow: 3 });
    expect(lines<Preference>(h.output).map((p) => p.id)).toEqual(results.map((r) => r.id));
  });
});

describe('judge stage: reward model', () => {
  it('scores every response with the RM checkpoint, as scoreWithRewardModel does in process', async () => {
    const { initTf, createVlm, WordTokenizer, loadImageRgb } = await import('../nn/index.ts');
    const { newRewardModel, saveRewardModel, loadRewardModel, scoreWithRewardModel } = await import('../train/rm.ts');
    const { CAPTION_PROMPT, CATEGORIES, COLORS } = await import('../world/index.ts');
    await initTf();
    const tok = WordTokenizer.fromTexts([CAPTION_PROMPT, 'a and , . small medium large', ...CATEGORIES, ...COLORS]);
    const vlm = createVlm(
      { imageSize: 16, patchSize: 8, dModel: 16, nHeads: 2, encLayers: 1, decLayers: 1, mlpRatio: 2, maxTextLen: 32 },
      tok,
      2,
      false,
    );
    const { cfg, runDir, dir } = setup([
      { stage: 'judge', name: 'rm', kind: 'reward-model', checkpoint: 'rm', responses: ['inject'] },
    ]);
    await saveRewardModel(path.join(dir, 'rm'), newRewardModel(vlm, 4), {});
    const s = await runPipeline(cfg, { runDir });
    const out = lines<PreferenceOf<'rubric'>>(s.stages.at(-1)!.output);
    expect(out).toHaveLength(3);
    const rm = await loadRewardModel(path.join(dir, 'rm'), { trainable: false });
    const j = out[0];
    expect(j.provenance.annotator).toMatchObject({ kind: 'reward_model', id: 'rm' });
    const image = await loadImageRgb(path.join(runDir, j.media[0].path ?? ''), 16);
    const want = scoreWithRewardModel(
      rm,
      j.responses.map((a) => ({ image, prompt: CAPTION_PROMPT, response: a.text })),
    );
    for (const i of j.responses.keys()) expect(j.scores[i].reward.score).toBeCloseTo(want[i], 5);
    expect(new Set(want).size).toBe(want.length);
  });
});

describe('corrupt stage on a JSONL source', () => {
  it('writes I_neg into the run folder and refers to it from the data folder', async () => {
    const { writeSampleSet } = await import('./testing.ts');
    const t = tempDir('mmalign-corrupt-');
    cleanups.push(t.cleanup);
    const file = writeSampleSet(path.join(t.dir, 'data'), 3);
    const cfg = parseConstructConfig(
      {
        stages: [
          { stage: 'source', files: [file] },
          { stage: 'corrupt', corruptions: ['black', 'noise', 'other'] },
        ],
      },
      STAGES,
      { dir: t.dir },
    );
    const runDir = path.join(t.dir, 'run');
    const s = await runPipeline(cfg, { runDir });
    const out = lines<Sample>(s.stages[1].output);
    // `other` needs a different image: every sample shares the same PNG, so it is skipped
    expect(out.map((x) => x.id).sort()).toEqual([
      'q00000#black',
      'q00000#noise',
      'q00001#black',
      'q00001#noise',
      'q00002#black',
      'q00002#noise',
    ]);
    for (const x of out) {
      expect(x.media[0].path).toMatch(/^\.\.\/run\/media\//);
      expect(existsSync(path.join(t.dir, 'data', x.media[0].path ?? ''))).toBe(true);
    }
    expect(existsSync(path.join(t.dir, 'data/media'))).toBe(false);
  });
});

describe('judge stage failures are data', () => {
  it('a judge server that answers 500 fails the items, keeps nothing half-done, and a rerun finishes', async () => {
    let down = true;
    const judge = await scripted(
      () => 'yes',
      () => down,
    );
    const { cfg, runDir } = setup(
      [{ stage: 'judge', name: 'claims', kind: 'ai-claims', model: 'j', responses: ['inject'] }],
      { j: { spec: `openai:j@${judge.url}`, maxRetries: 0 } },
    );
    await expect(runPipeline(cfg, { runDir })).rejects.toThrow(/claims.*3 of 3 items failed.*500/);
    expect(readFileSync(path.join(runDir, 'stages/claims/out.jsonl'), 'utf8')).toBe('');
    down = false;
    const s = await runPipeline(cfg, { runDir });
    const c = s.stages.find((x) => x.name === 'claims')!;
    expect(c).toMatchObject({ done: 3, doneNow: 3, failed: 0, records: 3 });
    // a judge that says yes to every claim rejects none: every response scores 0
    for (const j of lines<PreferenceOf<'rubric'>>(c.output)) for (const sc of j.scores) expect(sc.claims.score).toBe(0);
  });
});
