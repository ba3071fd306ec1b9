import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ModelCapabilityError } from '../models/errors.ts';
import type { GenerateParams, VisionLanguageModel } from '../models/types.ts';
import type { ContentPart, ImageRef, Message, Sample } from '../schema/index.ts';
import { nowIso } from '../schema/index.ts';
import { MediaInputError, type MediaStore } from './media.ts';
import { ChatCompletionRequest, describeIssues, type WireRequestMessage } from './request.ts';

/**
 * The OpenAI-compatible HTTP surface of any `VisionLanguageModel`: `GET /v1/models`, `POST /v1/chat/completions`.
 *
 * Prompt log-probs (extension, shaped like vLLM's): send the text to score as the final assistant message with
 * `prompt_logprobs: 0` and `continue_final_message: true` (or `add_generation_prompt: false`). The reply holds
 * no generation (one empty choice, finish_reason "length") and
 *   `prompt_logprobs: [null, {"<i>": {logprob, rank: null, decoded_token}}, ...]`
 * — one leading `null` standing for the whole context (image + earlier messages, which mmalign does not score),
 * then one entry per token of the final message, keyed by its position — plus `mmalign_scored_tokens`, the
 * number of those entries, so a client need not align tokens to text.
 */
export interface ServeAppOptions {
  model: VisionLanguageModel;
  media: MediaStore;
  /** name reported by /v1/models and in replies; defaults to model.id */
  name?: string;
  /** when set, every /v1 request needs `Authorization: Bearer <apiKey>` */
  apiKey?: string;
  /** request body cap in bytes (images travel inline); default DEFAULT_MAX_BODY_BYTES */
  maxBodyBytes?: number;
}

/** 20 MB: a few full-size images as base64 fit, a runaway client does not. */
export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024;

/**
 * Messages that reach a client never show where the server keeps files: absolute paths (the media folder, a
 * checkpoint) become `<server path>`.
 */
export function scrubPaths(message: string): string {
  return message.replace(/(?:[A-Za-z]:)?(?:[\\/][^\s'"`:,;()[\]{}<>]+){2,}/g, '<server path>');
}

type Status = 400 | 401 | 404 | 413 | 500 | 501 | 503;

function errorBody(message: string, type: string, param?: string) {
  return { error: { message, type, param: param ?? null, code: null } };
}

function keyMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The id a request's Sample gets: a hash of its messages and image bytes. Models may key their sampling RNG on the
 * sample id (the embedded one does), so the same request with the same seed gives the same answer, as with vLLM.
 */
export function requestSampleId(messages: readonly Message[], media: readonly ImageRef[]): string {
  return `req-${createHash('sha256')
    .update(JSON.stringify([messages, media.map((m) => m.sha256)]))
    .digest('hex')
    .slice(0, 24)}`;
}

/** Wire messages → a Sample with media refs in the store; `messages` excludes nothing (the caller slices). */
async function toSample(messages: readonly WireRequestMessage[], store: MediaStore): Promise<Sample> {
  const media: ImageRef[] = [];
  const out: Message[] = [];
  for (const m of messages) {
    const role = m.role === 'developer' ? 'system' : m.role;
    if (typeof m.content === 'string') {
      out.push({ role, content: m.content });
      continue;
    }
    const parts: ContentPart[] = [];
    for (const p of m.content) {
      if (p.type === 'text') parts.push({ type: 'text', text: p.text });
      else {
        const url = typeof p.image_url === 'string' ? p.image_url : p.image_url.url;
        try {
          media.push(await store.put(url));
        } catch (e) {
          if (e instanceof MediaInputError)
            e.param ??= `messages.${messages.indexOf(m)}.content.${m.content.indexOf(p)}.image_url`;
          throw e;
        }
        parts.push({ type: 'image', media: media.length - 1 });
      }
    }
    out.push({ role, content: parts });
  }
  return {
    id: requestSampleId(out, media),
    messages: out,
    media,
    provenance: { source: 'serve', createdAt: nowIso() },
  };
}

function messageText(m: WireRequestMessage): string {
  if (typeof m.content === 'string') return m.content;
  return m.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

export function createServeApp(opts: ServeAppOptions): Hono {
  const { model, media } = opts;
  const name = opts.name ?? model.id;
  const created = Math.floor(Date.now() / 1000);
  const app = new Hono();

  app.get('/health', (c) => c.json({ ok: true }));

  app.use('/v1/*', async function apiKey(c, next) {
    if (!opts.apiKey) return next();
    const h = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    if (!m || !keyMatches(m[1].trim(), opts.apiKey))
      return c.json(
        errorBody('invalid or missing API key (send Authorization: Bearer <key>)', 'authentication_error'),
        401,
      );
    return next();
  });

  app.get('/v1/models', (c) =>
    c.json({ object: 'list', data: [{ id: name, object: 'model', created, owned_by: 'mmalign' }] }),
  );

  app.post(
    '/v1/chat/completions',
    bodyLimit({
      maxSize: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      onError: (c) =>
        c.json(
          errorBody(
            `request body is over the server's limit of ${((opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES) / 1024 / 1024).toFixed(1)} MB (mmalign serve --max-body-mb)`,
            'invalid_request_error',
            'messages',
          ),
          413,
        ),
    }),
    async function chatCompletions(c) {
      const fail = (status: Status, message: string, type = 'invalid_request_error', param?: string) =>
        c.json(errorBody(status >= 500 ? scrubPaths(message) : message, type, param), status);
      let raw: unknown;
      try {
        raw = await c.req.json();
      } catch {
        return fail(400, 'request body is not valid JSON', undefined, 'body');
      }
      const parsed = ChatCompletionRequest.safeParse(raw);
      if (!parsed.success)
        return fail(
          400,
          `invalid request: ${describeIssues(parsed.error)}`,
          undefined,
          parsed.error.issues[0]?.path.map(String).join('.') || 'body',
        );
      const req = parsed.data;
      if (req.stream)
        return fail(400, 'stream=true is not supported by mmalign serve; send stream=false', undefined, 'stream');
      if (req.tools?.length) return fail(400, 'tools are not supported by mmalign serve', undefined, 'tools');
      if (req.model !== undefined && req.model !== name)
        return fail(
          404,
          `model "${req.model}" is not served here; GET /v1/models lists "${name}"`,
          'not_found_error',
          'model',
        );
      const id = `chatcmpl-${randomUUID()}`;
      const base = { id, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: name };

      if (req.prompt_logprobs !== undefined && req.prompt_logprobs !== null) {
        const last = req.messages[req.messages.length - 1];
        const scoring =
          last.role === 'assistant' && (req.continue_final_message || req.add_generation_prompt === false);
        if (!scoring)
          return fail(
            400,
            'mmalign serve returns prompt_logprobs only for a final assistant message: send the text to score as the last message (role "assistant") with continue_final_message=true',
            undefined,
            'prompt_logprobs',
          );
        let sample: Sample;
        try {
          sample = await toSample(req.messages.slice(0, -1), media);
        } catch (e) {
          if (e instanceof MediaInputError) return fail(400, e.message, undefined, e.param ?? 'messages');
          throw e;
        }
        const response = messageText(last);
        try {
          const visual = sample.media.length ? ({ mode: 'given' } as const) : ({ mode: 'none' } as const);
          const lp = await model.logprobs(sample, response, { visual }, { mediaRoot: media.root });
          const entries = lp.tokens.map((t, i) => ({
            [String(i)]: { logprob: t.logprob, rank: null, decoded_token: t.token },
          }));
          return c.json({
            ...base,
            choices: [
              { index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'length', logprobs: null },
            ],
            usage: { prompt_tokens: lp.tokens.length, completion_tokens: 0, total_tokens: lp.tokens.length },
            prompt_logprobs: [null, ...entries],
            mmalign_scored_tokens: entries.length,
          });
        } catch (e) {
          if (e instanceof ModelCapabilityError)
            return fail(501, e.message, 'not_implemented_error', 'prompt_logprobs');
          return fail(500, `scoring failed: ${(e as Error).message}`, 'server_error');
        }
      }

      let sample: Sample;
      try {
        sample = await toSample(req.messages, media);
      } catch (e) {
        if (e instanceof MediaInputError) return fail(400, e.message, undefined, e.param ?? 'messages');
        throw e;
      }
      const params: GenerateParams = { n: req.n };
      if (req.temperature !== undefined) params.temperature = req.temperature;
      if (req.top_p !== undefined) params.topP = req.top_p;
      if (req.seed !== undefined) params.seed = req.seed;
      const maxTokens = req.max_completion_tokens ?? req.max_tokens;
      const context = model.contextTokens;
      if (maxTokens !== undefined && context !== undefined && maxTokens > context)
        return fail(
          400,
          `${req.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens'} is ${maxTokens}, more than the model's context of ${context} tokens; send at most ${context}`,
          undefined,
          req.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens',
        );
      if (maxTokens !== undefined) params.maxTokens = maxTokens;
      if (req.stop) params.stop = typeof req.stop === 'string' ? [req.stop] : req.stop;
      if (req.logprobs) params.logprobs = true;
      let result: Awaited<ReturnType<VisionLanguageModel['generate']>>[number];
      try {
        [result] = await model.generate([sample], params, { mediaRoot: media.root });
      } catch (e) {
        return fail(500, `generation failed: ${(e as Error).message}`, 'server_error');
      }
      if (!result.ok) {
        const status: Status = result.error.retryable ? 503 : 500;
        return fail(status, `generation failed: ${result.error.message} [${result.error.code}]`, 'server_error');
      }
      return c.json({
        ...base,
        choices: result.generations.map((g, index) => ({
          index,
          message: { role: 'assistant', content: g.text },
          finish_reason: g.finishReason,
          // alternatives (top_logprobs) are not computed: each entry lists none
          logprobs: params.logprobs
            ? {
                content: (g.logprobs ?? []).map((t) => ({
                  token: t.token,
                  logprob: t.logprob,
                  bytes: null,
                  top_logprobs: [],
                })),
              }
            : null,
        })),
        usage: {
          prompt_tokens: result.usage?.promptTokens ?? 0,
          completion_tokens: result.usage?.completionTokens ?? 0,
          total_tokens: (result.usage?.promptTokens ?? 0) + (result.usage?.completionTokens ?? 0),
        },
      });
    },
  );

  app.notFound((c) => c.json(errorBody(`no route ${c.req.method} ${c.req.path}`, 'not_found_error'), 404));
  app.onError((e, c) => c.json(errorBody(scrubPaths(`internal error: ${e.message}`), 'server_error'), 500));
  return app;
}
