import type { Sample } from '../schema/index.ts';
import { MmalignError } from '../util/errors.ts';
import { ModelCapabilityError } from './errors.ts';
import {
  DEFAULT_RETRY,
  type EndpointConfig,
  EndpointPool,
  type EndpointStats,
  type RetryPolicy,
} from './openai-dispatch.ts';
import {
  ChatCompletionResponse,
  DataUrlCache,
  MediaUnsupportedError,
  responseLogprobs,
  toWireMessages,
} from './openai-wire.ts';
import type {
  CallContext,
  Capabilities,
  GenerateParams,
  GenerateResult,
  Generation,
  LogprobsOptions,
  LogprobsResult,
  ModelError,
  VisionLanguageModel,
} from './types.ts';

/**
 * A `VisionLanguageModel` over any OpenAI-compatible `/v1/chat/completions` server (vLLM, SGLang, Ollama,
 * llama.cpp, hosted APIs, `mmalign serve`). Images go as `image_url` data: URLs read from `ctx.mediaRoot`
 * (or as http URLs when the record holds one). Prompt log-probs use vLLM's `prompt_logprobs` extension
 * (https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html, "extra parameters"): the response is
 * sent as a final assistant message with `continue_final_message: true, add_generation_prompt: false`.
 */
export interface OpenAIBackendOptions {
  /** the `model` field sent to the server */
  model: string;
  endpoints: readonly EndpointConfig[];
  retry?: Partial<RetryPolicy>;
  /** declare prompt log-probs available (vLLM, mmalign serve); otherwise `logprobs()` throws ModelCapabilityError */
  promptLogprobs?: boolean;
  /** a server that ignores `n` is asked again until n generations are in hand; at most this many requests */
  maxRequestsPerPrompt?: number;
  /** id used in records; defaults to `openai:<model>` */
  id?: string;
  random?: () => number;
}

export interface UsageTotals {
  requests: number;
  attempts: number;
  failures: number;
  promptTokens: number;
  completionTokens: number;
}

export class OpenAIBackend implements VisionLanguageModel {
  readonly id: string;
  readonly capabilities: Capabilities;
  readonly pool: EndpointPool;
  readonly #opts: OpenAIBackendOptions;
  readonly #cache = new DataUrlCache();
  readonly #usage: UsageTotals = { requests: 0, attempts: 0, failures: 0, promptTokens: 0, completionTokens: 0 };

  constructor(opts: OpenAIBackendOptions) {
    this.#opts = opts;
    this.id = opts.id ?? `openai:${opts.model}`;
    this.pool = new EndpointPool(opts.endpoints, { ...DEFAULT_RETRY, ...opts.retry }, opts.random);
    this.capabilities = {
      generate: true,
      sampledLogprobs: true,
      promptLogprobs: opts.promptLogprobs ?? false,
      images: true,
      video: true,
      audio: false,
    };
  }

  /** total requests in flight the endpoints accept */
  capacity(): number {
    return this.pool.capacity();
  }

  usage(): UsageTotals {
    return { ...this.#usage };
  }

  endpointStats(): EndpointStats[] {
    return this.pool.stats();
  }

  async generate(samples: readonly Sample[], params: GenerateParams, ctx: CallContext = {}): Promise<GenerateResult[]> {
    return Promise.all(samples.map((s) => this.#generateOne(s, params, ctx)));
  }

  async #generateOne(sample: Sample, params: GenerateParams, ctx: CallContext): Promise<GenerateResult> {
    let messages: Awaited<ReturnType<typeof toWireMessages>>;
    try {
      messages = await toWireMessages(sample.messages, sample.media, ctx.mediaRoot ?? process.cwd(), this.#cache);
    } catch (e) {
      const code = e instanceof MediaUnsupportedError ? e.code : 'media_read';
      return { ok: false, sampleId: sample.id, error: { code, message: (e as Error).message, retryable: false } };
    }
    const want = params.n ?? 1;
    const generations: Generation[] = [];
    const usage = { promptTokens: 0, completionTokens: 0 };
    const maxRequests = this.#opts.maxRequestsPerPrompt ?? Math.max(4, want);
    for (let req = 0; generations.length < want; req++) {
      if (req >= maxRequests)
        return {
          ok: false,
          sampleId: sample.id,
          error: {
            code: 'short_n',
            message: `${this.id}: ${generations.length}/${want} generations after ${req} requests (the server ignores n?)`,
            retryable: false,
          },
        };
      const n = want - generations.length;
      const body: Record<string, unknown> = { model: this.#opts.model, messages, n };
      if (params.temperature !== undefined) body.temperature = params.temperature;
      if (params.topP !== undefined) body.top_p = params.topP;
      if (params.maxTokens !== undefined) body.max_tokens = params.maxTokens;
      // a follow-up request for missing generations must not repeat the first one's seed
      if (params.seed !== undefined) body.seed = params.seed + req;
      if (params.stop?.length) body.stop = params.stop;
      if (params.logprobs) body.logprobs = true;
      const r = await this.#post(body, ctx);
      if (!r.ok) return { ok: false, sampleId: sample.id, error: r.error };
      const parsed = r.body;
      usage.promptTokens += parsed.usage?.prompt_tokens ?? 0;
      usage.completionTokens += parsed.usage?.completion_tokens ?? 0;
      // a server may return more choices than asked: keep exactly the ones we asked for, never duplicates
      for (const c of parsed.choices.slice(0, n)) {
        const g: Generation = {
          text: c.message.content ?? '',
          finishReason: c.finish_reason === 'length' ? 'length' : 'stop',
        };
        if (params.logprobs && c.logprobs?.content)
          g.logprobs = c.logprobs.content.map((t) => ({ token: t.token, logprob: t.logprob ?? -9999 }));
        generations.push(g);
      }
    }
    return { ok: true, sampleId: sample.id, generations, usage };
  }

  async #post(
    body: Record<string, unknown>,
    ctx: CallContext,
  ): Promise<{ ok: true; body: ChatCompletionResponse } | { ok: false; error: ModelError }> {
    this.#usage.requests++;
    const r = await this.pool.call('/chat/completions', JSON.stringify(body), ctx.signal);
    this.#usage.attempts += r.attempts;
    if (!r.ok) {
      this.#usage.failures++;
      return { ok: false, error: { code: r.code, message: r.message, status: r.status, retryable: r.retryable } };
    }
    const parsed = ChatCompletionResponse.safeParse(r.body);
    if (!parsed.success) {
      this.#usage.failures++;
      const issue = parsed.error.issues[0];
      return {
        ok: false,
        error: {
          code: 'bad_response',
          message: `${r.endpoint}: reply is not a chat completion (${issue.path.join('.') || '(body)'}: ${issue.message})`,
          retryable: false,
        },
      };
    }
    this.#usage.promptTokens += parsed.data.usage?.prompt_tokens ?? 0;
    this.#usage.completionTokens += parsed.data.usage?.completion_tokens ?? 0;
    return { ok: true, body: parsed.data };
  }

  async close(): Promise<void> {
    this.pool.close();
  }

  async logprobs(
    sample: Sample,
    response: string,
    opts: LogprobsOptions = {},
    ctx: CallContext = {},
  ): Promise<LogprobsResult> {
    if (!this.capabilities.promptLogprobs)
      throw new ModelCapabilityError(
        this.id,
        'promptLogprobs',
        'this endpoint is not declared to return prompt log-probs; vLLM and `mmalign serve` do: set promptLogprobs: true (spec `vllm:MODEL@URL`)',
      );
    const visual = opts.visual ?? { mode: 'given' };
    const media = visual.mode === 'none' ? null : visual.mode === 'replace' ? visual.media : sample.media;
    let messages: Awaited<ReturnType<typeof toWireMessages>>;
    try {
      messages = await toWireMessages(sample.messages, media, ctx.mediaRoot ?? process.cwd(), this.#cache);
    } catch (e) {
      throw new MmalignError('MMALIGN_MEDIA', `${this.id}: ${(e as Error).message}`, { cause: e });
    }
    messages.push({ role: 'assistant', content: response });
    const body = {
      model: this.#opts.model,
      messages,
      max_tokens: 1,
      temperature: 0,
      prompt_logprobs: 0,
      add_generation_prompt: false,
      continue_final_message: true,
    };
    const r = await this.#post(body, ctx);
    if (!r.ok)
      throw new MmalignError(
        'MMALIGN_MODEL_REQUEST',
        `${this.id}: scoring sample ${sample.id} failed: ${r.error.message}`,
        {
          hint: r.error.retryable ? 'the server kept failing; check it is up and not overloaded' : undefined,
        },
      );
    let tokens: ReturnType<typeof responseLogprobs>;
    try {
      tokens = responseLogprobs(r.body, response);
    } catch (e) {
      throw new ModelCapabilityError(
        this.id,
        'promptLogprobs',
        `${(e as Error).message}; is this server vLLM-compatible?`,
      );
    }
    return { tokens, total: tokens.reduce((s, t) => s + t.logprob, 0) };
  }
}
