import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { MmalignError } from '../util/errors.ts';
import { decodeSafetensors, encodeSafetensors, type StTensor } from './safetensors.ts';
import { tf } from './tf.ts';
import { WordTokenizer } from './tokenizer.ts';
import { checkConfig, disposeWeights, initWeights, namedWeights, VlmConfig, type VlmWeights } from './vlm.ts';

/**
 * A checkpoint is a folder: `model.safetensors` (weights by dotted name, float32), `config.json` (model config,
 * the training config that produced it, the sha256 of its training data) and `tokenizer.json`. Trainers may add
 * `optimizer.safetensors` + `trainer_state.json` for resuming. `config.json` is written last, so a folder without
 * it is an interrupted write, never mistaken for a checkpoint.
 */
export const MODEL_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
export const TOKENIZER_FILE = 'tokenizer.json';

export const CheckpointConfig = z.looseObject({
  format: z.literal('mmalign-vlm'),
  version: z.literal(1),
  model: VlmConfig,
  parameters: z.number().int(),
  /** the training config (SFT, DPO, ...) that produced these weights; free-form per trainer */
  training: z.record(z.string(), z.unknown()).nullable(),
  data: z.strictObject({ path: z.string(), sha256: z.string(), samples: z.number().int() }).nullable(),
  createdAt: z.string(),
});
export type CheckpointConfig = z.infer<typeof CheckpointConfig>;

/** The embedded model: config, weights and tokenizer travel together. */
export interface Vlm {
  config: VlmConfig;
  weights: VlmWeights;
  tokenizer: WordTokenizer;
  /** config.json of the checkpoint it was loaded from */
  checkpoint?: CheckpointConfig;
}

/** A fresh model; `vocabSize` is taken from the tokenizer. */
export function createVlm(
  config: Omit<z.input<typeof VlmConfig>, 'vocabSize'>,
  tokenizer: WordTokenizer,
  seed: number,
  trainable = true,
): Vlm {
  const cfg = checkConfig({ ...config, vocabSize: tokenizer.size });
  return { config: cfg, weights: initWeights(cfg, seed, trainable), tokenizer };
}

export function disposeVlm(m: Vlm): void {
  disposeWeights(m.weights);
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Tensors → named float32 records, read outside any tidy (stack.md trap 3). */
export function tensorsToSt(entries: [string, tf.Tensor][]): Map<string, StTensor> {
  return new Map(
    entries.map(([name, t]) => [name, { dtype: 'F32', shape: [...t.shape], data: t.dataSync() as Float32Array }]),
  );
}

/** Writes `file` through a temporary name and a rename, so a crash never leaves half a file under the real name. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

export async function saveCheckpoint(
  dir: string,
  m: Vlm,
  info: { training?: Record<string, unknown> | null; data?: CheckpointConfig['data'] } = {},
): Promise<CheckpointConfig> {
  await mkdir(dir, { recursive: true });
  await rm(path.join(dir, CONFIG_FILE), { force: true });
  const entries = namedWeights(m.weights);
  await writeFileAtomic(
    path.join(dir, MODEL_FILE),
    encodeSafetensors(tensorsToSt(entries), { format: 'pt', producer: 'mmalign' }),
  );
  await writeFileAtomic(path.join(dir, TOKENIZER_FILE), `${JSON.stringify(m.tokenizer.toJSON())}\n`);
  const config: CheckpointConfig = {
    format: 'mmalign-vlm',
    version: 1,
    model: m.config,
    parameters: entries.reduce((n, [, v]) => n + v.size, 0),
    training: info.training ?? null,
    data: info.data ?? null,
    createdAt: new Date().toISOString(),
  };
  await writeFileAtomic(path.join(dir, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
  return config;
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new MmalignError('MMALIGN_BAD_CHECKPOINT', `missing ${file}`, {
      hint: 'a checkpoint folder holds model.safetensors, config.json and tokenizer.json (see `mmalign train sft`)',
    });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new MmalignError('MMALIGN_BAD_CHECKPOINT', `${file}: not JSON (${(e as Error).message})`);
  }
}

export async function isCheckpoint(dir: string): Promise<boolean> {
  return stat(path.join(dir, CONFIG_FILE)).then(
    () => true,
    () => false,
  );
}

export async function readCheckpointConfig(dir: string): Promise<CheckpointConfig> {
  const file = path.join(dir, CONFIG_FILE);
  const parsed = CheckpointConfig.safeParse(await readJson(file));
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new MmalignError('MMALIGN_BAD_CHECKPOINT', `${file}: ${i?.path.join('.')}: ${i?.message}`);
  }
  return parsed.data;
}

/**
 * Loads a checkpoint folder. Every weight of the config's architecture must be present with its exact shape;
 * extra tensors are an error too (they mean the file belongs to another architecture).
 */
export async function loadCheckpoint(dir: string, opts: { trainable?: boolean } = {}): Promise<Vlm> {
  const config = await readCheckpointConfig(dir);
  const tokenizer = WordTokenizer.fromJSON(await readJson(path.join(dir, TOKENIZER_FILE)));
  if (tokenizer.size !== config.model.vocabSize) {
    throw new MmalignError(
      'MMALIGN_BAD_CHECKPOINT',
      `${dir}: tokenizer has ${tokenizer.size} tokens but config.json says vocabSize ${config.model.vocabSize}`,
    );
  }
  const file = path.join(dir, MODEL_FILE);
  const { tensors } = decodeSafetensors(await readFile(file), file);
  const weights = initWeights(checkConfig(config.model), 0, opts.trainable ?? true);
  const named = namedWeights(weights);
  try {
    for (const [name, v] of named) {
      const t = tensors.get(name);
      if (!t) throw new MmalignError('MMALIGN_BAD_CHECKPOINT', `${file}: missing tensor ${name}`);
      if (t.shape.join(',') !== v.shape.join(',')) {
        throw new MmalignError(
          'MMALIGN_BAD_CHECKPOINT',
          `${file}: tensor ${name} has shape [${t.shape}], the config needs [${v.shape}]`,
        );
      }
      const value = tf.tensor(t.data, t.shape, 'float32');
      v.assign(value);
      value.dispose();
    }
    const extra = [...tensors.keys()].filter((k) => !named.some(([n]) => n === k));
    if (extra.length) {
      throw new MmalignError('MMALIGN_BAD_CHECKPOINT', `${file}: unexpected tensors ${extra.slice(0, 5).join(', ')}`);
    }
  } catch (e) {
    disposeWeights(weights);
    throw e;
  }
  return { config: config.model, weights, tokenizer, checkpoint: config };
}
