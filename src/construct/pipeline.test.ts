import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { type Behaviour, fixtureText, startFixtureServer } from '../serve/fixture.ts';
import { parseConstructConfig } from './config.ts';
import { runPipeline } from './pipeline.ts';
import { STAGES } from './stages/index.ts';
import { derivedSeed } from './stages/responses.ts';
import { readOutput, TINY_PNG, writeSampleSet } from './testing.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(n: number) {
  const t = tempDir('mmalign-construct-');
  cleanups.push(t.cleanup);
  const file = writeSampleSet(t.dir, n);
  return { dir: t.dir, file };
}

function config(dir: string, file: string, models: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return parseConstructConfig(
    {
      seed: 5,
      models,
      ...extra,
      stages: [
        { stage: 'source', files: [file] },
        { stage: 'responses', models: Object.keys(models), n: 2, maxTokens: 16 },
      ],
    },
    STAGES,
    { file: path.join(dir, 'c.yaml'), dir },
  );
}

describe('construction pipeline on a loopback server', () => {
  it('samples n responses per prompt from a pool, exactly once, and resumes to a no-op', async () => {
    const fx = await startFixtureServer();
    cleanups.push(() => fx.close());
    const { dir, file } = setup(30);
    const cfg = config(dir, file, {
      pol: { spec: `openai:fixture@${fx.url}`, concurrency: 4, temperature: 0.7, policy: true },
      ref: { spec: `openai:fixture@${fx.url}`, concurrency: 2, temperature: 1.2 },
    });
    const runDir = path.join(dir, 'run');
    const events: string[] = [];
    const s = await runPipeline(cfg, { runDir, onEvent: (e) => events.push(e.type) });
    expect(s.ok).toBe(true);
    const [src, resp] = s.stages;
    expect(src).toMatchObject({ planned: 30, done: 30, records: 30, failed: 0 });
    expect(resp).toMatchObject({ planned: 60, done: 60, doneNow: 60, records: 120, failed: 0, attemptsNow: 60 });
    expect(resp.usage).toEqual({ requests: 60, promptTokens: 600, completionTokens: 360 });
    expect(fx.served).toBe(60);
    expect(events.filter((e) => e === 'progress')).toHaveLength(90);

    const out = readOutput(resp.output);
    expect(out.duplicates).toEqual([]);
    expect(out.ids).toHaveLength(120);
    const r = out.byId.get('q00007/pol/1') as unknown as {
      text: string;
      params: { seed: number; temperature: number };
      provenance: { policy: string; responseModels: string[] };
      visual: string;
    };
    expect(r.params).toMatchObject({ temperature: 0.7, n: 2, maxTokens: 16, seed: derivedSeed(5, 'q00007', 'pol') });
    expect(r.provenance).toMatchObject({
      policy: 'on',
      responseModels: ['pol'],
      source: 'testset',
      strategy: 'sample',
    });
    expect(r.visual).toBe('clean');
    expect((out.byId.get('q00007/ref/0') as unknown as { provenance: { policy: string } }).provenance.policy).toBe(
      'off',
    );
    // the text is the fixture's hash of what it received: the image travelled as a data: URL, the seed derived
    const sent = [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: `data:image/png;base64,${TINY_PNG.toString('base64')}` } },
          { type: 'text', text: 'question 7' },
        ],
      },
    ];
    expect(r.text).toBe(fixtureText({ messages: sent, seed: derivedSeed(5, 'q00007', 'pol') }, 1));

    const again = await runPipeline(cfg, { runDir });
    expect(again.stages[1]).toMatchObject({ doneBefore: 60, doneNow: 0, done: 60, records: 120 });
    expect(fx.served).toBe(60);
    expect(readOutput(resp.output).ids).toEqual(out.ids);
  });

  it('refuses to resume a stage whose parameters changed', async () => {
    const fx = await startFixtureServer();
    cleanups.push(() => fx.close());
    const { dir, file } = setup(3);
    const runDir = path.join(dir, 'run');
    await runPipeline(config(dir, file, { pol: { spec: `openai:fixture@${fx.url}`, temperature: 0.7 } }), { runDir });
    await expect(
      runPipeline(config(dir, file, { pol: { spec: `openai:fixture@${fx.url}`, temperature: 0.9 } }), { runDir }),
    ).rejects.toThrow(/stage "responses" .* was run with different parameters/);
  });

  it('completes through 500s, timeouts, garbage JSON, dropped connections and 429s, with no duplicates', async () => {
    const script: Behaviour[] = [
      { kind: 'status', status: 500 },
      { kind: 'hang', ms: 1500 },
      { kind: 'garbage' },
      { kind: 'drop' },
      { kind: 'status', status: 429, retryAfter: '0' },
      { kind: 'status', status: 502 },
    ];
    // one request in three misbehaves, in turn
    const fx = await startFixtureServer({
      behave: (i) => (i % 3 === 0 ? script[(i / 3) % script.length] : { kind: 'ok' }),
    });
    cleanups.push(() => fx.close());
    const { dir, file } = setup(40);
    const cfg = config(dir, file, {
      pol: { spec: `openai:fixture@${fx.url}`, concurrency: 6, timeoutMs: 300, retryDelayMs: 5, maxRetries: 6 },
    });
    const s = await runPipeline(cfg, { runDir: path.join(dir, 'run') });
    const resp = s.stages[1];
    expect(resp).toMatchObject({ done: 40, failed: 0, records: 80 });
    expect(resp.attemptsNow).toBeGreaterThan(40);
    const out = readOutput(resp.output);
    expect(out.duplicates).toEqual([]);
    expect(new Set(out.ids).size).toBe(80);
    // every recorded text is the answer to its own request, never a late reply to another
    for (const id of out.ids) expect(out.byId.get(id)?.text).toMatch(/^answer /);
  });

  it('stops with a clear error when the server dies, keeps what was written, and finishes on rerun', async () => {
    let dead = false;
    const fx = await startFixtureServer({
      behave: (i) => {
        if (i >= 25) dead = true;
        return dead ? { kind: 'status', status: 500 } : { kind: 'ok' };
      },
    });
    cleanups.push(() => fx.close());
    const { dir, file } = setup(50);
    const cfg = config(
      dir,
      file,
      { pol: { spec: `openai:fixture@${fx.url}`, concurrency: 2, retryDelayMs: 1, maxRetries: 1 } },
      { maxConsecutiveFailures: 5 },
    );
    const runDir = path.join(dir, 'run');
    const err = await runPipeline(cfg, { runDir }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      /stage "responses" stopped: \d+ items failed in a row; last: HTTP 500 .*scripted 500.*gave up after 2 attempts/,
    );
    expect((err as Error).message).toMatch(/items are committed in .*out\.jsonl; fix the cause and rerun/);
    const out = readOutput(path.join(runDir, 'stages/responses/out.jsonl'));
    expect(out.duplicates).toEqual([]);
    expect(out.ids.length).toBeGreaterThanOrEqual(2 * 20);
    expect(out.ids.length).toBeLessThan(100);

    dead = false;
    fx.setBehaviour(() => ({ kind: 'ok' }));
    const s = await runPipeline(cfg, { runDir });
    expect(s.stages[1]).toMatchObject({ done: 50, failed: 0, records: 100 });
    const fin = readOutput(path.join(runDir, 'stages/responses/out.jsonl'));
    expect(fin.duplicates).toEqual([]);
    expect(fin.ids.slice(0, out.ids.length)).toEqual(out.ids);
    expect(new Set(fin.ids).size).toBe(100);
  });

  it('runs through a server that refuses connections for a while', async () => {
    const probe = await startFixtureServer();
    const port = probe.port;
    await probe.close();
    const { dir, file } = setup(10);
    const cfg = config(dir, file, {
      pol: { spec: `openai:fixture@http://127.0.0.1:${port}/v1`, concurrency: 3, retryDelayMs: 50, maxRetries: 12 },
    });
    const later = new Promise<Awaited<ReturnType<typeof startFixtureServer>>>((resolve) =>
      setTimeout(() => resolve(startFixtureServer({ port })), 500),
    );
    const s = await runPipeline(cfg, { runDir: path.join(dir, 'run') });
    const fx = await later;
    cleanups.push(() => fx.close());
    expect(s.stages[1]).toMatchObject({ done: 10, failed: 0, records: 20 });
    expect(fx.served).toBe(10);
    expect(readOutput(s.stages[1].output).duplicates).toEqual([]);
  });

  it('fixture texts are a function of the request', () => {
    expect(fixtureText({ messages: [1], seed: 2 }, 0)).toBe(fixtureText({ messages: [1], seed: 2 }, 0));
    expect(fixtureText({ messages: [1], seed: 2 }, 0)).not.toBe(fixtureText({ messages: [1], seed: 3 }, 0));
  });
});
