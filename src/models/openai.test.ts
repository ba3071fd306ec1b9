import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promptText, type Sample } from '../schema/index.ts';
import { type RunningServer, startServer } from '../serve/index.ts';
import { ModelCapabilityError } from './errors.ts';
import { OpenAIBackend } from './openai.ts';
import { parseRetryAfter, Semaphore } from './openai-dispatch.ts';
import { resolveModel } from './registry.ts';
import type { CallContext, GenerateParams, GenerateResult, LogprobsOptions, VisionLanguageModel } from './types.ts';

/**
 * A small deterministic model, so protocol tests can check exact values end to end: each generation says which
 * image bytes it saw (sha256 prefix), the prompt, the seed and its index; a response's log-prob is −(1 + k/10) per
 * word k, minus 1 per word when no image is given.
 */
class EchoModel implements VisionLanguageModel {
  readonly id = 'echo';
  readonly capabilities = {
    generate: true,
    sampledLogprobs: true,
    promptLogprobs: true,
    images: true,
    video: false,
    audio: false,
  };
  calls = 0;
  async generate(samples: readonly Sample[], p: GenerateParams, ctx: CallContext = {}): Promise<GenerateResult[]> {
    return samples.map((s) => {
      this.calls++;
      const shas = s.media.map((m) =>
        createHash('sha256')
          .update(readFileSync(path.join(ctx.mediaRoot ?? '.', m.kind === 'image' ? m.path : '')))
          .digest('hex')
          .slice(0, 8),
      );
      const gens = Array.from({ length: p.n ?? 1 }, (_, i) => {
        const text = `saw[${shas.join(',')}] ${promptText(s.messages)} seed=${p.seed ?? '-'} t=${p.temperature ?? '-'} #${i}`;
        return {
          text,
          finishReason: 'stop' as const,
          logprobs: p.logprobs ? text.split(' ').map((w, k) => ({ token: w, logprob: -k / 10 })) : undefined,
        };
      });
      return { ok: true as const, sampleId: s.id, generations: gens, usage: { promptTokens: 5, completionTokens: 7 } };
    });
  }
  async logprobs(s: Sample, response: string, o: LogprobsOptions = {}) {
    const noImage = o.visual?.mode === 'none' || s.media.length === 0;
    const tokens = response.split(' ').map((w, k) => ({ token: w, logprob: -(1 + k / 10) - (noImage ? 1 : 0) }));
    return { tokens, total: tokens.reduce((a, t) => a + t.logprob, 0) };
  }
}

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const PNG_SHA = createHash('sha256').update(PNG).digest('hex').slice(0, 8);

function sample(id: string, withImage = true): Sample {
  return {
    id,
    messages: [
      {
        role: 'user',
        content: withImage
          ? [
              { type: 'image', media: 0 },
              { type: 'text', text: 'what is here?' },
            ]
          : 'what is here?',
      },
    ],
    media: withImage ? [{ kind: 'image', path: 'img/a.png' }] : [],
    provenance: { source: 'test', createdAt: '2026-01-01T00:00:00Z' },
  };
}

describe('OpenAIBackend against mmalign serve on loopback', () => {
  let server: RunningServer;
  let keyed: RunningServer;
  const model = new EchoModel();
  const root = mkdtempSync(path.join(tmpdir(), 'mmalign-oai-'));
  beforeAll(async () => {
    writeFileSync(path.join(root, 'a.png'), PNG);
    rmSync(path.join(root, 'img'), { force: true, recursive: true });
    await import('node:fs').then((fs) => {
      fs.mkdirSync(path.join(root, 'img'));
      fs.copyFileSync(path.join(root, 'a.png'), path.join(root, 'img/a.png'));
    });
    server = await startServer({ model, port: 0, name: 'echo-1' });
    keyed = await startServer({ model, port: 0, apiKey: 'sekret' });
  });
  afterAll(async () => {
    await server.close();
    await keyed.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('binds 127.0.0.1 and lists the model', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const r = await fetch(`${server.url}/models`);
    const j = (await r.json()) as { data: { id: string; owned_by: string }[] };
    expect(j.data).toEqual([expect.objectContaining({ id: 'echo-1', owned_by: 'mmalign' })]);
  });

  it('generates n samples with the image sent as a data: URL, params and log-probs carried through', async () => {
    const b = new OpenAIBackend({ model: 'echo-1', endpoints: [{ url: server.url }] });
    const [r] = await b.generate(
      [sample('s1')],
      { n: 3, seed: 7, temperature: 0.5, logprobs: true },
      { mediaRoot: root },
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.generations.map((g) => g.text)).toEqual(
      [0, 1, 2].map((i) => `saw[${PNG_SHA}] <image>what is here? seed=7 t=0.5 #${i}`),
    );
    expect(r.generations[0].logprobs?.slice(0, 2)).toEqual([
      { token: `saw[${PNG_SHA}]`, logprob: 0 },
      { token: '<image>what', logprob: -0.1 },
    ]);
    expect(r.usage).toEqual({ promptTokens: 5, completionTokens: 7 });
    expect(b.usage()).toMatchObject({ requests: 1, attempts: 1, failures: 0, promptTokens: 5, completionTokens: 7 });
  });

  it('scores a response through prompt_logprobs, with the image given, removed or replaced', async () => {
    const b = (await resolveModel(server.url)) as OpenAIBackend;
    expect(b.capabilities.promptLogprobs).toBe(true);
    const resp = 'a red circle';
    const given = await b.logprobs(sample('s1'), resp, {}, { mediaRoot: root });
    expect(given.tokens.map((t) => t.token)).toEqual(['a', 'red', 'circle']);
    expect(given.total).toBeCloseTo(-(1 + 1.1 + 1.2), 10);
    const none = await b.logprobs(sample('s1'), resp, { visual: { mode: 'none' } }, { mediaRoot: root });
    expect(none.total).toBeCloseTo(-(2 + 2.1 + 2.2), 10);
    const repl = await b.logprobs(
      sample('s1'),
      resp,
      { visual: { mode: 'replace', media: [{ kind: 'image', path: 'a.png' }] } },
      { mediaRoot: root },
    );
    expect(repl.total).toBeCloseTo(given.total, 10);
  });

  it('enforces the API key (401) and accepts the right one', async () => {
    const r = await fetch(`${keyed.url}/models`);
    expect(r.status).toBe(401);
    const bad = new OpenAIBackend({ model: 'echo', endpoints: [{ url: keyed.url, apiKey: 'wrong' }] });
    const [e] = await bad.generate([sample('s', false)], {});
    expect(e).toMatchObject({ ok: false, error: { status: 401, retryable: false } });
    expect(bad.usage().attempts).toBe(1);
    const good = new OpenAIBackend({ model: 'echo', endpoints: [{ url: keyed.url, apiKey: 'sekret' }] });
    const [g] = await good.generate([sample('s', false)], {});
    expect(g.ok).toBe(true);
  });

  it('rejects invalid bodies with 400 naming the field', async () => {
    const post = (body: unknown) =>
      fetch(`${server.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    let r = await post({ messages: [{ role: 'user', content: 'hi' }], n: 0 });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/^invalid request: n: /);
    r = await post({ messages: [{ role: 'tool', content: 'x' }] });
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(
      /messages\.0\.role: role must be/,
    );
    r = await post({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: 'https://x/y.png' }] }] });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/does not fetch remote images/);
    r = await post({ messages: [{ role: 'user', content: 'hi' }], prompt_logprobs: 0 });
    expect(r.status).toBe(400);
    r = await fetch(`${server.url}/chat/completions`, { method: 'POST', body: '{"messages": [' });
    expect(r.status).toBe(400);
    r = await post({ model: 'other', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(404);
  });

  it('declares prompt log-probs unsupported on a plain OpenAI endpoint', async () => {
    const b = new OpenAIBackend({ model: 'echo-1', endpoints: [{ url: server.url }] });
    await expect(b.logprobs(sample('s1'), 'x')).rejects.toBeInstanceOf(ModelCapabilityError);
    await expect(b.logprobs(sample('s1'), 'x')).rejects.toThrow(/vllm:MODEL@URL/);
  });
});

/** A loopback server whose behaviour per request is scripted by the test. */
interface Stub {
  url: string;
  port: number;
  hits: number;
  bodies: { n?: number; seed?: number }[];
  maxInFlight: number;
  close(): Promise<void>;
}

type Handler = (i: number, req: IncomingMessage, res: ServerResponse, body: { n?: number }) => void;

function reply(res: ServerResponse, n: number, tag = 'ok') {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      choices: Array.from({ length: n }, (_, i) => ({
        index: i,
        message: { content: `${tag}-${i}` },
        finish_reason: 'stop',
      })),
      usage: { prompt_tokens: 3, completion_tokens: n },
    }),
  );
}

async function stub(handler: Handler, port = 0): Promise<Stub> {
  let inFlight = 0;
  const s: Stub = { url: '', port: 0, hits: 0, bodies: [], maxInFlight: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => {
      data += c;
    });
    req.on('end', () => {
      const i = s.hits++;
      inFlight++;
      s.maxInFlight = Math.max(s.maxInFlight, inFlight);
      res.on('close', () => inFlight--);
      const body = JSON.parse(data || '{}') as { n?: number; seed?: number };
      s.bodies.push(body);
      handler(i, req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  s.port = (server.address() as AddressInfo).port;
  s.url = `http://127.0.0.1:${s.port}/v1`;
  s.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return s;
}

const fast = { baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 };

describe('OpenAIBackend against a misbehaving server', () => {
  it('retries 500s and returns exactly n generations', async () => {
    const s = await stub((i, _q, res, b) => {
      if (i < 2) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"boom"}}');
      } else reply(res, b.n ?? 1);
    });
    const b = new OpenAIBackend({ model: 'm', endpoints: [{ url: s.url }], retry: { ...fast, maxRetries: 3 } });
    const [r] = await b.generate([sample('x', false)], { n: 2 });
    expect(r).toMatchObject({ ok: true, generations: [{ text: 'ok-0' }, { text: 'ok-1' }] });
    expect(s.hits).toBe(3);
    expect(b.usage()).toMatchObject({ requests: 1, attempts: 3, failures: 0 });
    await s.close();
  });

  it('gives up after maxRetries with a clear error', async () => {
    const s = await stub((_i, _q, res) => {
      res.writeHead(503);
      res.end('overloaded');
    });
    const b = new OpenAIBackend({ model: 'm', endpoints: [{ url: s.url }], retry: { ...fast, maxRetries: 2 } });
    const [r] = await b.generate([sample('x', false)], {});
    expect(r).toMatchObject({ ok: false, error: { code: 'server_error', status: 503, retryable: true } });
    if (!r.ok) expect(r.error.message).toMatch(/HTTP 503 .*overloaded \(gave up after 3 attempts\)/);
    expect(s.hits).toBe(3);
    await s.close();
  });

  it('does not retry a 400', async () => {
    const s = await stub((_i, _q, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"bad n"}}');
    });
    const b = new OpenAIBackend({ model: 'm', endpoints: [{ url: s.url }], retry: fast });
    const [r] = await b.generate([sample('x', false)], {});
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'http_error', status: 400, message: expect.stringMatching(/bad n/) },
    });
    expect(s.hits).toBe(1);
    await s.close();
  });

  it('times out slow replies, retries, and records only the reply it waited for', async () => {
    const s = await stub((i, _q, res, b) => {
      if (i === 0) setTimeout(() => reply(res, b.n ?? 1, 'late'), 600);
      else reply(res, b.n ?? 1, 'fresh');
    });
    const b = new OpenAIBackend({ model: 'm', endpoints: [{ url: s.url }], retry: { ...fast, timeoutMs: 200 } });
    const [r] = await b.generate([sample('x', false)], { n: 2 });
    expect(r).toMatchObject({ ok: true, generations: [{ text: 'fresh-0' }, { text: 'fresh-1' }] });
    await new Promise((res) => setTimeout(res, 500));
    if (r.ok) expect(r.generations).toHaveLength(2);
    await s.close();
  });

  it('reports a timeout when every reply is too slow', async () => {
    const s = await stub((_i, _q, res) => setTimeout(() => reply(res, 1), 400));
    const b = new OpenAIBackend({
      model: 'm',
      endpoints: [{ url: s.url }],
      retry: { ...fast, timeoutMs: 100, maxRetries: 1 },
    });
    const [r] = await b.generate([sample('x', false)], {});
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'timeout', message: expect.stringMatching(/within 100 ms.*2 attempts/) },
    });
    await s.close();
  });

  it('retries truncated JSON', async () => {
    const s = await stub((i, _q, res, b) => {
      if (i === 0) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"choices":[{"message":{"content":"hal');
      } else reply(res, b.n ?? 1);
    });
    const b = new OpenAIBackend({ model: 'm', endpoints: [{ url: s.url }], retry: fast });
    const [r] = await b.generate([sample('x', false)], {});
    expect(r).toMatchObject({ ok: true, generations: [{ text: 'ok-0' }] });
    expect(s.hits).toBe(2);
    await s.close();
  });

  it('retries a reply cut short by a dying connection (declared length not reached)', async () => {
    const s = await stub((i, _q, res, b) => {
      if (i === 0) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
        res.write('{"choices":[{"message":{"content":"par');
        setTimeout(() => res.socket?.destroy(), 20);
      } else reply(res, b.n ?? 1);
    });
    const b = new OpenAIBackend({ model: 'm', endpoints: [{ url: s.url }], retry: fast });
    const [r] = await b.generate([sample('x', false)], {});
    expect(r).toMatchObject({ ok: true, generations: [{ text: 'ok-0' }] });
    expect(b.usage().attempts).toBe(2);
    await s.close();
  });

  it('rejects a well-formed reply that is not a completion, without retrying', async () => {
    const s = await stub((_i, _q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices":[]}');
    });
    const b = new OpenAIBackend({ model: 'm', endpoints: [{ url: s.url }], retry: fast });
    const [r] = await b.generate([sample('x', false)], {});
    expect(r).toMatchObject({ ok: false, error: { code: 'bad_response', message: expect.stringMatching(/choices/) } });
    expect(s.hits).toBe(1);
    await s.close();
  });

  it('honours Retry-After on 429', async () => {
    const times: number[] = [];
    const s = await stub((i, _q, res, b) => {
      times.push(Date.now());
      if (i === 0) {
        res.writeHead(429, { 'retry-after': '1' });
        res.end('slow down');
      } else reply(res, b.n ?? 1);
    });
    const b = new OpenAIBackend({ model: 'm', endpoints: [{ url: s.url }], retry: fast });
    const [r] = await b.generate([sample('x', false)], {});
    expect(r.ok).toBe(true);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(950);
    await s.close();
  });

  it('survives a server that refuses connections for a while', async () => {
    const probe = await stub(() => {});
    const port = probe.port;
    await probe.close();
    const b = new OpenAIBackend({
      model: 'm',
      endpoints: [{ url: `http://127.0.0.1:${port}/v1` }],
      retry: { baseDelayMs: 50, maxDelayMs: 200, maxRetries: 20, timeoutMs: 2000 },
    });
    let late: Stub | undefined;
    const started = setTimeout(async () => {
      late = await stub((_i, _q, res, body) => reply(res, body.n ?? 1), port);
    }, 400);
    const [r] = await b.generate([sample('x', false)], { n: 1 });
    clearTimeout(started);
    expect(r).toMatchObject({ ok: true, generations: [{ text: 'ok-0' }] });
    expect(b.usage().attempts).toBeGreaterThan(1);
    expect(late?.hits).toBe(1);
    await late?.close();
  });

  it('keeps each endpoint under its concurrency limit and spreads load', async () => {
    const mk = () => stub((_i, _q, res, b) => setTimeout(() => reply(res, b.n ?? 1), 30));
    const [a, c] = await Promise.all([mk(), mk()]);
    const b = new OpenAIBackend({
      model: 'm',
      endpoints: [
        { url: a.url, concurrency: 2 },
        { url: c.url, concurrency: 3 },
      ],
      retry: fast,
    });
    const rs = await b.generate(
      Array.from({ length: 40 }, (_, i) => sample(`s${i}`, false)),
      {},
    );
    expect(rs.every((r) => r.ok)).toBe(true);
    expect(a.maxInFlight).toBeLessThanOrEqual(2);
    expect(c.maxInFlight).toBeLessThanOrEqual(3);
    expect(a.hits + c.hits).toBe(40);
    expect(a.hits).toBeGreaterThan(8);
    expect(c.hits).toBeGreaterThan(a.hits);
    await Promise.all([a.close(), c.close()]);
  });

  it('asks again when a server ignores n, trims extra choices, and varies the seed', async () => {
    const s = await stub((i, _q, res) => reply(res, i === 0 ? 1 : 5, `r${i}`));
    const b = new OpenAIBackend({ model: 'm', endpoints: [{ url: s.url }], retry: fast });
    const [r] = await b.generate([sample('x', false)], { n: 3, seed: 10 });
    expect(r).toMatchObject({ ok: true, generations: [{ text: 'r0-0' }, { text: 'r1-0' }, { text: 'r1-1' }] });
    expect(s.bodies.map((x) => [x.n, x.seed])).toEqual([
      [3, 10],
      [2, 11],
    ]);
    await s.close();
  });
});

describe('dispatch helpers', () => {
  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0.5')).toBe(500);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', Date.parse('2026-01-01T00:00:00Z'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
  it('semaphore admits at most limit holders, FIFO', async () => {
    const sem = new Semaphore(2);
    const order: number[] = [];
    await sem.acquire();
    await sem.acquire();
    const w = [3, 4].map((k) => sem.acquire().then(() => order.push(k)));
    expect(sem.waiting).toBe(2);
    sem.release();
    await w[0];
    expect(order).toEqual([3]);
    expect(sem.active).toBe(2);
    sem.release();
    await w[1];
    expect(order).toEqual([3, 4]);
  });
});
