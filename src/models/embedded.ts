import path from 'node:path';
import {
  disposeVlm,
  EOS,
  encodeItem,
  initTf,
  loadCheckpoint,
  loadImageRgb,
  responseLogprobs,
  tf,
  type Vlm,
} from '../nn/index.ts';
import { type MediaRef, promptText, type Sample } from '../schema/index.ts';
import { generateParallel, samplingPool } from '../train/parallel/index.ts';
import { MmalignError } from '../util/errors.ts';
import type {
  CallContext,
  Capabilities,
  GenerateParams,
  GenerateResult,
  LogprobsOptions,
  LogprobsResult,
  VisionLanguageModel,
} from './types.ts';

/**
 * The embedded tfjs VLM behind the shared `VisionLanguageModel` interface. One image per sample (the first image
 * part); video/audio and multi-image samples come back as errors. Token log-probs count the answer's words and its
 * end token `<eos>` (as TRL's DPO scoring counts EOS), so `total` = log π(y | I, x) of the whole answer.
 * Visual modes for `logprobs`: `given` = the sample's image, `replace` = the first image of `visual.media`
 * (I_neg), `none` = the model's learned no-image tokens (see src/nn/vlm.ts).
 */
export const EMBEDDED_CAPABILITIES: Capabilities = {
  generate: true,
  sampledLogprobs: true,
  promptLogprobs: true,
  images: true,
  video: false,
  audio: false,
  maxImages: 1,
  prefill: true,
};

export class EmbeddedModel implements VisionLanguageModel {
  readonly id: string;
  readonly capabilities = EMBEDDED_CAPABILITIES;
  get contextTokens(): number {
    return this.vlm.config.maxTextLen;
  }
  readonly vlm: Vlm;
  readonly #images = new Map<string, Promise<Uint8Array>>();

  constructor(vlm: Vlm, id: string) {
    this.vlm = vlm;
    this.id = id;
  }

  async #image(media: readonly MediaRef[], ctx?: CallContext): Promise<Uint8Array | null> {
    const other = media.find((m) => m.kind !== 'image');
    if (other) {
      throw new MmalignError('MMALIGN_UNSUPPORTED_MEDIA', `the embedded model takes images only, not ${other.kind}`);
    }
    if (media.length > 1) {
      throw new MmalignError('MMALIGN_UNSUPPORTED_MEDIA', `the embedded model takes 1 image, got ${media.length}`);
    }
    const ref = media[0];
    if (ref?.kind !== 'image') return null;
    const file = path.resolve(ctx?.mediaRoot ?? '.', ref.path);
    let p = this.#images.get(file);
    if (!p) {
      p = loadImageRgb(file, this.vlm.config.imageSize);
      this.#images.set(file, p);
      p.catch(() => this.#images.delete(file));
      if (this.#images.size > 4096) this.#images.delete(this.#images.keys().next().value as string);
    }
    return p;
  }

  async generate(samples: readonly Sample[], params: GenerateParams, ctx?: CallContext): Promise<GenerateResult[]> {
    const results: GenerateResult[] = samples.map((s) => ({
      ok: false,
      sampleId: s.id,
      error: { code: 'MMALIGN_INTERNAL', message: 'not run' },
    }));
    const ready: { index: number; image: Uint8Array | null; prompt: string; answerPrefix?: string; key: string }[] = [];
    await Promise.all(
      samples.map(async (s, index) => {
        try {
          ready.push({
            index,
            image: await this.#image(s.media, ctx),
            prompt: promptText(s.messages, false),
            answerPrefix: assistantPrefill(s),
            key: s.id,
          });
        } catch (e) {
          const err = e as MmalignError;
          results[index] = {
            ok: false,
            sampleId: s.id,
            error: { code: err.code ?? 'MMALIGN_MEDIA', message: err.message },
          };
        }
      }),
    );
    if (ctx?.signal?.aborted) throw new MmalignError('MMALIGN_ABORTED', 'generation aborted');
    ready.sort((a, b) => a.index - b.index);
    // split across the replicas `--workers` asked for (same output for any number: seeds are per sample)
    const outs = await generateParallel(await samplingPool(), this.vlm, ready, {
      n: params.n,
      temperature: params.temperature,
      topP: params.topP,
      maxTokens: params.maxTokens,
      seed: params.seed,
      stop: params.stop,
    });
    ready.forEach((r, i) => {
      const gens = outs[i] ?? [];
      const promptTokens =
        this.vlm.tokenizer.encode(r.prompt).length +
        2 +
        (r.answerPrefix ? this.vlm.tokenizer.encode(r.answerPrefix).length : 0);
      results[r.index] = {
        ok: true,
        sampleId: samples[r.index]?.id as string,
        generations: gens.map((g) => ({
          text: g.text,
          finishReason: g.finishReason,
          ...(params.logprobs
            ? { logprobs: g.tokens.map((token, k) => ({ token, logprob: g.logprobs[k] as number })) }
            : {}),
        })),
        usage: { promptTokens, completionTokens: gens.reduce((n, g) => n + g.tokens.length, 0) },
      };
    });
    return results;
  }

  async logprobs(sample: Sample, response: string, opts?: LogprobsOptions, ctx?: CallContext): Promise<LogprobsResult> {
    const visual = opts?.visual ?? { mode: 'given' };
    const image =
      visual.mode === 'none'
        ? null
        : await this.#image(visual.mode === 'replace' ? visual.media.slice(0, 1) : sample.media, ctx);
    const prompt = promptText(sample.messages, false);
    const { ids, answerStart } = encodeItem(
      this.vlm.tokenizer,
      { prompt, answer: response },
      this.vlm.config.maxTextLen,
    );
    const out = tf.tidy(
      () => responseLogprobs(this.vlm, [{ image, prompt, response }], { visual: image ? 'given' : 'none' }).tokenLogps,
    );
    const row = out.dataSync() as Float32Array; // [T − 1]: entry t scores ids[t + 1]
    out.dispose();
    const tokens = ids.slice(answerStart).map((id, k) => ({
      token: id === EOS ? '<eos>' : this.vlm.tokenizer.token(id),
      logprob: row[answerStart + k - 1] as number,
    }));
    return { tokens, total: tokens.reduce((a, t) => a + t.logprob, 0) };
  }

  async close(): Promise<void> {
    disposeVlm(this.vlm);
  }
}

/** Loads a checkpoint folder (see `mmalign train sft`) as a VisionLanguageModel on the wasm backend. */
/** The text of a final assistant turn: the answer start a prefill request asks the model to continue. */
function assistantPrefill(s: Sample): string | undefined {
  const last = s.messages[s.messages.length - 1];
  if (last?.role !== 'assistant') return undefined;
  return typeof last.content === 'string'
    ? last.content
    : last.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

export async function loadEmbeddedModel(ckptDir: string): Promise<EmbeddedModel> {
  await initTf();
  const vlm = await loadCheckpoint(ckptDir, { trainable: false });
  return new EmbeddedModel(vlm, `embedded:${path.basename(path.resolve(ckptDir))}`);
}
