/**
 * SFT training throughput of the default embedded VLM (DEFAULT_SFT_CONFIG.model) on tfjs-wasm, one thread:
 *   1. fixed-shape steps (random images and ids, batch × [P image + T text] positions) — the number to compare;
 *   2. the same architecture and shapes trained by PyTorch CPU (bench/train_throughput_torch.py) when python3 with
 *      torch is importable (Debian's python3-torch; tries `python3`, then /usr/bin/python3), at 1 thread; the column
 *      is skipped with a note otherwise;
 *   3. a short real SFT run on freshly generated ShapeWorld captions + yes/no questions (tokens/s as trainers report it).
 *
 * usage: npx tsx bench/train-throughput.ts [--steps 30] [--sft-steps 60] [--no-torch] [--no-sft]
 * The machine's load is printed with the numbers: absolute rates depend on it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createVlm, initTf, numPatches, parameterCount, tf, tokenLogprobs, WordTokenizer } from '../src/nn/index.ts';
import { AdamW, DEFAULT_SFT_CONFIG, loadSftData, trainableWeights, trainSft, trainStep } from '../src/train/index.ts';
import { generateWorld, worldVocabulary } from '../src/world/index.ts';

const args = process.argv.slice(2);
const flag = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const STEPS = flag('steps', 30);
const SFT_STEPS = flag('sft-steps', 60);
const BATCH = DEFAULT_SFT_CONFIG.batchSize;
/** text positions per row: a ShapeWorld caption row is ~30 tokens (<bos> prompt <sep> caption <eos>) */
const TEXT_LEN = 34;

function out(line: string) {
  process.stdout.write(`${line}\n`);
}

async function tfjsFixed() {
  await initTf();
  const tok = new WordTokenizer(['<pad>', '<unk>', '<bos>', '<sep>', '<eos>', ...worldVocabulary()]);
  const m = createVlm(DEFAULT_SFT_CONFIG.model, tok, 0);
  const cfg = m.config;
  const opt = new AdamW(trainableWeights(m), DEFAULT_SFT_CONFIG.optim);
  const I = cfg.imageSize;
  const images = tf.randomUniform([BATCH, I, I, 3], -1, 1, 'float32', 1);
  const ids = tf.randomUniform([BATCH, TEXT_LEN], 5, cfg.vocabSize, 'int32', 2);
  const maskData = new Float32Array(BATCH * (TEXT_LEN - 1));
  for (let b = 0; b < BATCH; b++)
    for (let t = Math.floor(TEXT_LEN / 3); t < TEXT_LEN - 1; t++) maskData[b * (TEXT_LEN - 1) + t] = 1;
  const mask = tf.tensor2d(maskData, [BATCH, TEXT_LEN - 1]);
  const step = () =>
    trainStep(
      opt,
      1e-3,
      () => tf.div(tf.neg(tf.sum(tf.mul(tokenLogprobs(m.weights, cfg, images, ids), mask))), tf.sum(mask)) as tf.Scalar,
    );
  for (let i = 0; i < 3; i++) step();
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) step();
  const perStep = (performance.now() - t0) / STEPS;
  return {
    cfg,
    parameters: parameterCount(m.weights),
    msPerStep: perStep,
    positionsPerSec: (BATCH * (numPatches(cfg) + TEXT_LEN)) / (perStep / 1000),
  };
}

function torchFixed(
  cfg: object,
): { positionsPerSec: number; msPerStep: number; torch: string; parameters: number } | string {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'train_throughput_torch.py');
  const arg = JSON.stringify({ ...cfg, batch: BATCH, textLen: TEXT_LEN, steps: Math.max(10, STEPS), threads: 1 });
  for (const py of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    const r = spawnSync(py, [script, arg], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) return `torch run failed: ${r.stderr.trim().split('\n').at(-1)}`;
    return JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
  }
  return 'PyTorch not importable by python3 or /usr/bin/python3 (apt-get install -y python3-torch to measure it): column skipped';
}

async function realSft() {
  const dir = mkdtempSync(path.join(tmpdir(), 'mmalign-bench-'));
  try {
    generateWorld({}, { seed: 1, n: 400, outDir: dir, tasks: ['caption', 'exist'], splits: ['train'] });
    const data = await loadSftData(dir, { imageSize: DEFAULT_SFT_CONFIG.model.imageSize, split: 'train' });
    const r = await trainSft({
      config: { ...DEFAULT_SFT_CONFIG, steps: SFT_STEPS, evalEvery: 0, checkpointEvery: 0 },
      train: data.examples,
    });
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
out(`# train-throughput  node ${process.version}  load average before: ${load()}`);
const tj = await tfjsFixed();
out(
  `tfjs-wasm (1 thread)  params=${tj.parameters}  batch=${BATCH}×(${numPatches(tj.cfg)}+${TEXT_LEN}) positions  ` +
    `${tj.msPerStep.toFixed(1)} ms/step  ${Math.round(tj.positionsPerSec)} positions/s`,
);
if (!args.includes('--no-torch')) {
  const { vocabSize: _v, ...arch } = tj.cfg;
  const t = torchFixed({ ...arch, vocabSize: tj.cfg.vocabSize });
  if (typeof t === 'string') out(`pytorch: ${t}`);
  else {
    out(
      `pytorch ${t.torch} CPU (1 thread)  params=${t.parameters}  ${t.msPerStep.toFixed(1)} ms/step  ` +
        `${Math.round(t.positionsPerSec)} positions/s`,
    );
    out(`ratio tfjs-wasm / pytorch = ${(tj.positionsPerSec / t.positionsPerSec).toFixed(2)}×`);
  }
}
if (!args.includes('--no-sft')) {
  const r = await realSft();
  out(
    `real SFT on ShapeWorld caption+exist (${SFT_STEPS} steps, batch ${BATCH}): ${Math.round(r.tokensPerSec)} text tokens/s, ` +
      `${Math.round(r.positionsPerSec)} positions/s, ${(r.wallMs / 1000).toFixed(1)} s`,
  );
}
out(`# load average after: ${load()}`);
