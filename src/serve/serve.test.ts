import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, tempDir } from '../../test/helpers/cli.ts';
import { TINY_PNG } from '../construct/testing.ts';
import type { EmbeddedModel } from '../models/embedded.ts';
import { OpenAIBackend } from '../models/openai.ts';
import { resolveModel } from '../models/registry.ts';
import { createVlm, initTf, saveCheckpoint, WordTokenizer } from '../nn/index.ts';
import type { Sample } from '../schema/index.ts';
import { requestSampleId, scrubPaths } from './app.ts';
import { type RunningServer, startServer } from './server.ts';

/** The OpenAI client against `mmalign serve` with a real (tiny, untrained) embedded checkpoint. */
const t = tempDir('mmalign-serve-');
afterAll(() => t.cleanup());
const ckpt = path.join(t.dir, 'ckpt');

const sample = (image = true): Sample => ({
  id: 's1',
  messages: [
    {
      role: 'user',
      content: image
        ? [
            { type: 'image', media: 0 },
            { type: 'text', text: 'describe the image' },
          ]
        : 'describe the image',
    },
  ],
  media: image ? [{ kind: 'image', path: 'p.png' }] : [],
  provenance: { source: 'test', createdAt: '2026-01-01T00:00:00Z' },
});

describe('mmalign serve with the embedded model', () => {
  let server: RunningServer;
  let local: EmbeddedModel;
  beforeAll(async () => {
    writeFileSync(path.join(t.dir, 'p.png'), TINY_PNG);
    await initTf();
    const tok = WordTokenizer.fromTexts(['describe the image', 'a red circle and a blue square .']);
    const vlm = createVlm(
      { imageSize: 16, patchSize: 8, dModel: 16, nHeads: 2, encLayers: 1, decLayers: 1, mlpRatio: 2, maxTextLen: 24 },
      tok,
      3,
      false,
    );
    mkdirSync(ckpt, { recursive: true });
    await saveCheckpoint(ckpt, vlm);
    const m = await resolveModel(`embedded:${ckpt}`);
    local = m as EmbeddedModel;
    server = await startServer({ model: local, port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await local?.close?.();
  });

  it('samples through HTTP exactly what the model samples in process (same seed)', async () => {
    const client = await resolveModel(server.url);
    expect(client).toBeInstanceOf(OpenAIBackend);
    const params = { n: 2, seed: 42, temperature: 1, maxTokens: 8, logprobs: true };
    const [viaHttp] = await client.generate([sample()], params, { mediaRoot: t.dir });
    const [again] = await client.generate([sample()], params, { mediaRoot: t.dir });
    const [other] = await client.generate([sample()], { ...params, seed: 43 }, { mediaRoot: t.dir });
    // the server keys sampling on a hash of the request; the same sample under that id, in process:
    const s = sample();
    const media = [{ kind: 'image' as const, path: 'x', sha256: createHash('sha256').update(TINY_PNG).digest('hex') }];
    const [direct] = await local.generate([{ ...s, id: requestSampleId(s.messages, media) }], params, {
      mediaRoot: t.dir,
    });
    expect(again).toEqual(viaHttp);
    expect(other).not.toEqual(viaHttp);
    expect(viaHttp.ok && direct.ok).toBe(true);
    if (!viaHttp.ok || !direct.ok) return;
    expect(viaHttp.generations.map((g) => g.text)).toEqual(direct.generations.map((g) => g.text));
    expect(viaHttp.generations[0].logprobs).toEqual(direct.generations[0].logprobs);
    expect(viaHttp.generations[0].finishReason).toBe(direct.generations[0].finishReason);
  });

  it('scores a response through prompt_logprobs exactly as the model does, with and without the image', async () => {
    const client = await resolveModel(server.url);
    expect(client.capabilities.promptLogprobs).toBe(true);
    const resp = 'a red circle .';
    for (const visual of [{ mode: 'given' as const }, { mode: 'none' as const }]) {
      const remote = await client.logprobs(sample(), resp, { visual }, { mediaRoot: t.dir });
      const direct = await local.logprobs(sample(), resp, { visual }, { mediaRoot: t.dir });
      expect(remote.tokens).toEqual(direct.tokens);
      expect(remote.total).toBe(direct.total);
    }
    const withImg = await client.logprobs(sample(), resp, {}, { mediaRoot: t.dir });
    const noImg = await client.logprobs(sample(), resp, { visual: { mode: 'none' } }, { mediaRoot: t.dir });
    expect(withImg.total).not.toBe(noImg.total);
  });
});

describe('mmalign serve refuses bad requests with a 400 naming the field, and never shows its paths', () => {
  let server: RunningServer;
  let model: EmbeddedModel;
  beforeAll(async () => {
    model = (await resolveModel(`embedded:${ckpt}`)) as EmbeddedModel;
    server = await startServer({ model, port: 0, maxBodyBytes: 1024 * 1024 });
  });
  afterAll(async () => {
    await server?.close();
    await model?.close?.();
  });
  const post = async (body: unknown) => {
    const r = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as { error: { message: string; type: string; param: string } } };
  };
  const withImage = (url: string, extra: object = {}) => ({
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'describe the image' },
          { type: 'image_url', image_url: { url } },
        ],
      },
    ],
    max_tokens: 4,
    ...extra,
  });

  it('bad media: not base64, not an image, the wrong type', async () => {
    const cases = [
      ['data:image/png;base64,!!!', 'not valid base64'],
      [`data:image/png;base64,${Buffer.from('hello, not a png').toString('base64')}`, 'does not hold a png image'],
      [`data:image/jpeg;base64,${Buffer.from(TINY_PNG).toString('base64')}`, 'says image/jpeg but holds a png image'],
    ] as const;
    for (const [url, text] of cases) {
      const r = await post(withImage(url));
      expect(r.status).toBe(400);
      expect(r.body.error.type).toBe('invalid_request_error');
      expect(r.body.error.param).toBe('messages.0.content.1.image_url');
      expect(r.body.error.message).toContain(text);
      expect(r.body.error.message).not.toContain(tmpdir());
    }
  });

  it('max_tokens above the context is a 400 saying the limit', async () => {
    const r = await post(
      withImage(`data:image/png;base64,${Buffer.from(TINY_PNG).toString('base64')}`, { max_tokens: 1e9 }),
    );
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe('max_tokens');
    expect(r.body.error.message).toBe(
      `max_tokens is 1000000000, more than the model's context of ${model.contextTokens} tokens; send at most ${model.contextTokens}`,
    );
    const ok = await post(withImage(`data:image/png;base64,${Buffer.from(TINY_PNG).toString('base64')}`));
    expect(ok.status).toBe(200);
  });

  it('a body over the limit is a 413 naming the flag; every 400 has a param', async () => {
    // the server answers as soon as it sees Content-Length and closes; read the reply even if the upload breaks off
    const payload = JSON.stringify(withImage(`data:image/png;base64,${'A'.repeat(2 * 1024 * 1024)}`));
    const big = await new Promise<{ status: number; body: { error: { message: string } } }>((resolve, reject) => {
      const req = request(`${server.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('error', (e) => (e as NodeJS.ErrnoException).code !== 'EPIPE' && reject(e));
      req.end(payload);
    });
    expect(big.status).toBe(413);
    expect(big.body.error.message).toContain("over the server's limit of 1.0 MB (mmalign serve --max-body-mb)");
    for (const body of [
      '{not json',
      { messages: [] },
      { messages: [{ role: 'tool', content: 'x' }] },
      { messages: [{ role: 'user', content: 'x' }], stream: true },
    ]) {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(r.body.error.param, JSON.stringify(body)).toBeTruthy();
    }
  });

  it('server paths are scrubbed from messages', () => {
    expect(scrubPaths('cannot decode /tmp/mmalign-serve-abc/0d/0d12.png: bad header')).toBe(
      'cannot decode <server path>: bad header',
    );
    expect(scrubPaths('no route GET /v1')).toBe('no route GET /v1');
  });
});

describe('mmalign serve CLI', () => {
  it('starts on a free port, prints its URL, serves /v1/models, enforces the key, stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--model', ckpt, '--port', '0', '--api-key', 'k1', '--name', 'tiny'],
      {
        env: { ...process.env, CI: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.trim());
      });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect((await fetch(`${url}/models`)).status).toBe(401);
    const r = await fetch(`${url}/models`, { headers: { authorization: 'Bearer k1' } });
    expect(((await r.json()) as { data: { id: string }[] }).data[0].id).toBe('tiny');
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
