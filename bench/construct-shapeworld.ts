/**
 * bench/construct-shapeworld: every negative strategy of the construct pipeline on a ShapeWorld caption set, with
 * the embedded model served by `mmalign serve` (real HTTP on loopback) as the policy AND as the AI judge. Prints
 * how many pairs each strategy produced, the AI judges' accuracy against the ShapeWorld rule judge (on response
 * pairs the rule orders strictly), Cohen's kappa with it, and the pairwise judge's position-swap agreement.
 *
 *   npx tsx bench/construct-shapeworld.ts [--checkpoint DIR] [--n 40] [--samples 4] [--json]
 *
 * The checkpoint defaults to the first trained SFT checkpoint found under runs/* /stages/sft-* /checkpoint (a
 * folder with model.safetensors); with none, the bench stops with a note (a random model's numbers mean nothing).
 * Dropout (image-free continuation) needs a backend with prefill; the served model has none, so it is reported as
 * skipped. Rewriting needs an instruction-following model; the embedded one is not, so it is off unless --rewrite.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConstructConfig } from '../src/construct/config.ts';
import { runPipeline } from '../src/construct/pipeline.ts';
import { STAGES } from '../src/construct/stages/index.ts';
import { loadEmbeddedModel } from '../src/models/embedded.ts';
import { initTf } from '../src/nn/index.ts';
import type { Preference } from '../src/schema/index.ts';
import { startServer } from '../src/serve/server.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const N = Number(opt('--n') ?? 40);
const SAMPLES = Number(opt('--samples') ?? 4);

function findCheckpoint(): string | undefined {
  const given = opt('--checkpoint');
  if (given) return path.resolve(given);
  const runs = path.resolve('runs');
  if (!existsSync(runs)) return undefined;
  for (const run of readdirSync(runs)) {
    const stages = path.join(runs, run, 'stages');
    if (!existsSync(stages)) continue;
    for (const st of readdirSync(stages).filter((s) => s.startsWith('sft-'))) {
      const ck = path.join(stages, st, 'checkpoint');
      if (existsSync(path.join(ck, 'model.safetensors'))) return ck;
    }
  }
  return undefined;
}

const lines = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

async function main() {
  const ckpt = findCheckpoint();
  if (!ckpt) {
    console.log('no trained SFT checkpoint found (runs/*/stages/sft-*/checkpoint); pass --checkpoint DIR. Skipped.');
    return;
  }
  await initTf();
  const model = await loadEmbeddedModel(ckpt);
  const server = await startServer({ model, port: 0 });
  const dir = mkdtempSync(path.join(tmpdir(), 'mmalign-bench-sw-'));
  const responses = [
    'responses',
    'responses-neg',
    'responses-blind',
    'inject',
    ...(args.includes('--rewrite') ? ['rewrite'] : []),
  ];
  try {
    const cfg = parseConstructConfig(
      {
        seed: 11,
        models: { policy: { spec: server.url, concurrency: 1, temperature: 1, maxTokens: 40, policy: true } },
        stages: [
          { stage: 'source', shapeworld: { tasks: ['caption'], n: N, split: 'test' } },
          { stage: 'responses', models: ['policy'], n: SAMPLES },
          {
            stage: 'corrupt',
            input: 'source',
            corruptions: ['blur', { name: 'crop', params: { keep: 0.5 } }, 'black'],
          },
          { stage: 'responses', name: 'responses-neg', input: 'corrupt', models: ['policy'], n: 1 },
          { stage: 'responses', name: 'responses-blind', input: 'source', models: ['policy'], n: 1, visual: 'none' },
          { stage: 'inject', input: 'source' },
          ...(args.includes('--rewrite') ? [{ stage: 'rewrite', input: 'source', model: 'policy' }] : []),
          { stage: 'judge', name: 'judge-rule', kind: 'rule', responses },
          {
            stage: 'judge',
            name: 'judge-claims',
            kind: 'ai-claims',
            model: 'policy',
            responses,
            compare: ['judge-rule'],
          },
          {
            stage: 'judge',
            name: 'judge-pairwise',
            kind: 'ai-pairwise',
            model: 'policy',
            responses,
            maxPairs: 6,
            compare: ['judge-rule'],
          },
          { stage: 'pair', name: 'pairs-rule', input: 'judge-rule', imagePairs: 'corrupt' },
          { stage: 'pair', name: 'pairs-claims', input: 'judge-claims' },
          { stage: 'pair', name: 'pairs-rule-all', input: 'judge-rule', mode: 'all_pairs' },
          { stage: 'export', name: 'trl', input: 'pairs-rule', format: 'trl', kinds: ['pair'] },
        ],
      },
      STAGES,
      { dir },
    );
    const t0 = Date.now();
    const s = await runPipeline(cfg, { runDir: path.join(dir, 'run') });
    const by = Object.fromEntries(s.stages.map((x) => [x.name, x]));
    const count = (name: string) => {
      const m: Record<string, number> = {};
      for (const p of lines<Preference>(by[name].output)) {
        const k =
          p.kind === 'pair'
            ? (p.provenance.strategy ?? '?')
            : p.kind === 'image_pair'
              ? `image_pair:${p.provenance.strategy}`
              : p.kind;
        m[k] = (m[k] ?? 0) + 1;
      }
      return m;
    };
    const result = {
      checkpoint: ckpt,
      prompts: N,
      samplesPerPrompt: SAMPLES,
      elapsedS: (Date.now() - t0) / 1000,
      dropout: 'skipped: the served embedded model has no prefill capability',
      stageRecords: Object.fromEntries(s.stages.map((x) => [x.name, x.records])),
      pairsByStrategy: {
        bestWorstRule: count('pairs-rule'),
        allPairsRule: count('pairs-rule-all'),
        bestWorstClaims: count('pairs-claims'),
      },
      claimsJudge: by['judge-claims'].stats,
      pairwiseJudge: by['judge-pairwise'].stats,
      trl: { written: (by.trl.stats as { written: number }).written },
      requests: Object.fromEntries(s.stages.filter((x) => x.usage.requests).map((x) => [x.name, x.usage.requests])),
    };
    if (args.includes('--json')) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(
        `checkpoint ${ckpt}; ${N} ShapeWorld caption prompts, ${SAMPLES} samples each; ${result.elapsedS.toFixed(1)} s`,
      );
      console.log(`records per stage: ${JSON.stringify(result.stageRecords)}`);
      for (const [k, v] of Object.entries(result.pairsByStrategy)) console.log(`pairs (${k}): ${JSON.stringify(v)}`);
      const fmt = (x: unknown) => JSON.stringify(x);
      const c = result.claimsJudge as Record<string, unknown>;
      const pw = result.pairwiseJudge as Record<string, unknown>;
      console.log(`AI claims judge vs rule: ${fmt(c.vsRule)}; kappa ${fmt(c.kappa)}`);
      console.log(`AI pairwise judge vs rule: ${fmt(pw.vsRule)}; kappa ${fmt(pw.kappa)}`);
      console.log(`position-swap: ${fmt(pw.positionSwap)}`);
      console.log(`dropout: ${result.dropout}; TRL rows: ${result.trl.written}; requests: ${fmt(result.requests)}`);
    }
  } finally {
    await server.close();
    await model.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
