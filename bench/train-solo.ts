/**
 * One fused SFT step loop on its own, for bench/train-throughput.ts's ceiling line: `rows` rows of the fixed batch,
 * prints `{"msPerStep": …}`. Two of these at once, with nothing shared, show what two cores give this model when
 * no step ever waits for another: the most a data-parallel step can reach on the machine.
 *
 * usage: npx tsx bench/train-solo.ts <rows> <steps>
 */
import { createVlm, initTf, WordTokenizer } from '../src/nn/index.ts';
import { Rng } from '../src/nn/rng.ts';
import { AdamW, DEFAULT_SFT_CONFIG, trainableWeights, trainStep } from '../src/train/index.ts';
import { sftShardLoss } from '../src/train/losses.ts';
import { worldVocabulary } from '../src/world/index.ts';

const rows = Number(process.argv[2] ?? 16);
const steps = Number(process.argv[3] ?? 60);
await initTf();
const tok = new WordTokenizer(['<pad>', '<unk>', '<bos>', '<sep>', '<eos>', ...worldVocabulary()]);
const m = createVlm(DEFAULT_SFT_CONFIG.model, tok, 0);
const opt = new AdamW(trainableWeights(m), DEFAULT_SFT_CONFIG.optim);
const rng = new Rng(7);
const words = tok.vocab.slice(5);
const text = (n: number) => Array.from({ length: n }, () => words[Math.floor(rng.next() * words.length)]).join(' ');
// the fixed batch's rows: 10 prompt words, 21 answer words (34 text positions with <bos> <sep> <eos>)
const items = Array.from({ length: rows }, () => ({
  image: Uint8Array.from({ length: m.config.imageSize * m.config.imageSize * 3 }, () => Math.floor(rng.next() * 256)),
  prompt: text(10),
  response: text(21),
}));
const denom = rows * 22;
for (let i = 0; i < 5; i++) trainStep(opt, 1e-3, () => sftShardLoss(m, items, denom));
const t0 = performance.now();
for (let i = 0; i < steps; i++) trainStep(opt, 1e-3, () => sftShardLoss(m, items, denom));
process.stdout.write(`${JSON.stringify({ msPerStep: (performance.now() - t0) / steps })}\n`);
