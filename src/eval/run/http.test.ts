import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/cli.ts';
import { resolveEvalModel } from './model.ts';
import { runSuite } from './runner.ts';

/**
 * `eval run` against an OpenAI-compatible endpoint on loopback (a real HTTP server): every request must carry the
 * scene image as a data: URL and the benchmark's greedy decoding; the server answers "yes" to every question.
 */
describe('eval run over an OpenAI-compatible endpoint', () => {
  const { dir, cleanup } = tempDir();
  let server: Server;
  let url = '';
  const seen: Array<{ text: string; image: boolean; temperature: unknown; max: unknown }> = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.url === '/v1/models')
          return res.end(
            JSON.stringify({ object: 'list', data: [{ id: 'yes-bot', object: 'model', owned_by: 'test' }] }),
          );
        const j = JSON.parse(body) as {
          messages: Array<{ content: string | Array<{ type: string; text?: string; image_url?: { url: string } }> }>;
          temperature?: number;
          max_tokens?: number;
          max_completion_tokens?: number;
        };
        const content = j.messages[j.messages.length - 1].content;
        const parts = typeof content === 'string' ? [{ type: 'text', text: content }] : content;
        seen.push({
          text: parts.find((p) => p.type === 'text')?.text ?? '',
          image: parts.some(
            (p) => p.type === 'image_url' && (p.image_url?.url ?? '').startsWith('data:image/png;base64,'),
          ),
          temperature: j.temperature,
          max: j.max_tokens ?? j.max_completion_tokens,
        });
        res.end(
          JSON.stringify({
            choices: [{ index: 0, message: { role: 'assistant', content: 'yes' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 1, completion_tokens: 1 },
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    cleanup();
  });

  it('sends images and decoding settings, and scores the replies', async () => {
    const model = await resolveEvalModel(url);
    expect(model.id).toContain('yes-bot');
    const r = await runSuite({
      suite: 'shapes',
      modelSpec: url,
      model,
      out: path.join(dir, 'run'),
      seed: 1,
      limit: 3,
      resamples: 50,
    });
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.every((s) => s.image)).toBe(true);
    expect(seen.every((s) => s.temperature === 0)).toBe(true);
    expect(seen.find((s) => s.text.startsWith('Is there'))?.max).toBe(8);
    const pope = r.metrics.benchmarks.find((e) => e.id === 'pope/all');
    expect(pope?.metrics.recall).toBe(1);
    expect(pope?.guards.yes_ratio).toBe(1);
    // "yes" is no caption: nothing named, nothing hallucinated, and the guards say so
    const chair = r.metrics.benchmarks.find((e) => e.id === 'chair/captions');
    expect(chair?.headline.value).toBeNull();
    expect(chair?.guards.recall).toBe(0);
    expect(chair?.guards.parse_rate).toBe(0);
    expect(r.metrics.notes?.some((n) => n.includes('cannot score given text'))).toBe(true);
  });
});
