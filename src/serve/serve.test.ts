import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, tempDir } from '../../test/helpers/cli.ts';
import { TINY_PNG } from '../construct/testing.ts';
import type { EmbeddedModel } from '../models/embedded.ts';
import { OpenAIBackend } from '../models/openai.ts';
import { resolveModel } from '../models/registry.ts';
import { createVlm, initTf, saveCheckpoint, WordTokenizer } from '../nn/index.ts';
import type { Sample } from '../schema/index.ts';
import { requestSampleId } from './app.ts';
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
