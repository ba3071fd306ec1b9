/**
 * bench/construct: requests/s the construction pipeline (source → responses, ledger, JSONL, validation, retries
 * machinery) sustains against a fast loopback OpenAI-compatible server with 1, 16 and 256 requests in flight,
 * beside the raw requests/s the same server gives a plain load generator (C loops of fetch, same request bodies)
 * in the same run. Goal: pipeline ≥ 90% of raw at 256 in flight.
 *
 *   npx tsx bench/construct.ts [--requests 3000] [--json]
 *
 * The raw rates are measured before and after each pipeline run and averaged, to cancel drift on a shared machine.
 * Two raw loads: fetch (what the issue asks for) and node:http with a keep-alive agent (the transport the
 * pipeline's OpenAI client uses), so the pipeline's own overhead is visible apart from the transport's.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConstructConfig } from '../src/construct/config.ts';
import { runPipeline } from '../src/construct/pipeline.ts';
import { STAGES } from '../src/construct/stages/index.ts';
import { writeSampleSet } from '../src/construct/testing.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const REQUESTS = arg('--requests', 3000);
const LEVELS = [1, 16, 256];

async function startStub(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'construct-stub.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (c) => reject(new Error(`stub exited ${c}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

/** C loops of fetch, each posting the body the pipeline would send for sample i, until `total` replies. */
async function raw(url: string, bodies: string[], conc: number, total: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      for (let i = next++; i < total; i = next++) {
        const r = await fetch(`${url}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: bodies[i % bodies.length],
        });
        await r.json();
      }
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

/** The same loop over node:http with a keep-alive agent: the transport the pipeline's client uses. */
async function rawHttp(url: string, bodies: string[], conc: number, total: number): Promise<number> {
  const u = new URL(`${url}/chat/completions`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
  const post = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const buf = Buffer.from(body);
      const req = http.request(
        {
          agent,
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': buf.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            JSON.parse(Buffer.concat(chunks).toString('utf8'));
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(buf);
    });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      for (let i = next++; i < total; i = next++) await post(bodies[i % bodies.length]);
    }),
  );
  agent.destroy();
  return total / ((performance.now() - t0) / 1000);
}

async function pipeline(url: string, dir: string, file: string, conc: number, tag: string): Promise<number> {
  const cfg = parseConstructConfig(
    {
      seed: 1,
      concurrency: conc,
      models: { m: { spec: `openai:fixture@${url}`, concurrency: conc } },
      stages: [
        { stage: 'source', files: [file] },
        { stage: 'responses', models: ['m'], n: 1 },
      ],
    },
    STAGES,
    { dir },
  );
  const s = await runPipeline(cfg, { runDir: path.join(dir, `run-${tag}`) });
  const resp = s.stages[1];
  if (resp.done !== resp.planned || resp.failed) throw new Error(`pipeline run incomplete: ${JSON.stringify(resp)}`);
  return resp.doneNow / (resp.elapsedMs / 1000);
}

const dir = mkdtempSync(path.join(tmpdir(), 'mmalign-bench-construct-'));
const stub = await startStub();
try {
  const rows: {
    inFlight: number;
    requests: number;
    rawRps: number;
    rawHttpRps: number;
    pipelineRps: number;
    ratio: number;
    ratioHttp: number;
  }[] = [];
  for (const conc of LEVELS) {
    const n = conc === 1 ? Math.min(REQUESTS, 600) : REQUESTS;
    const file = writeSampleSet(path.join(dir, `set-${conc}`), n);
    const png = readFileSync(path.join(dir, `set-${conc}`, 'img/p.png')).toString('base64');
    const bodies = Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        model: 'fixture',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
              { type: 'text', text: `question ${i}` },
            ],
          },
        ],
        n: 1,
        seed: i,
      }),
    );
    await raw(stub.url, bodies, conc, Math.min(n, 200)); // warm the connection pool
    await rawHttp(stub.url, bodies, conc, Math.min(n, 200));
    const r1 = await raw(stub.url, bodies, conc, n);
    const h1 = await rawHttp(stub.url, bodies, conc, n);
    const p = await pipeline(stub.url, dir, file, conc, String(conc));
    const h2 = await rawHttp(stub.url, bodies, conc, n);
    const r2 = await raw(stub.url, bodies, conc, n);
    const rawRps = (r1 + r2) / 2;
    const rawHttpRps = (h1 + h2) / 2;
    rows.push({
      inFlight: conc,
      requests: n,
      rawRps,
      rawHttpRps,
      pipelineRps: p,
      ratio: p / rawRps,
      ratioHttp: p / rawHttpRps,
    });
  }
  const load = loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ load, cpus: cpus().length, rows })}\n`);
  else {
    process.stdout.write(`${cpus().length} CPUs, load average ${load} (shared machine: rates vary run to run)\n`);
    process.stdout.write(
      'in-flight  requests  raw fetch req/s  raw node:http req/s  pipeline req/s  vs fetch  vs node:http\n',
    );
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    for (const r of rows)
      process.stdout.write(
        `${String(r.inFlight).padStart(9)}  ${String(r.requests).padStart(8)}  ${r.rawRps.toFixed(0).padStart(15)}  ${r.rawHttpRps.toFixed(0).padStart(19)}  ${r.pipelineRps.toFixed(0).padStart(14)}  ${pct(r.ratio).padStart(8)}  ${pct(r.ratioHttp).padStart(11)}\n`,
      );
    const at256 = rows.find((r) => r.inFlight === 256);
    if (at256)
      process.stdout.write(
        `goal ≥ 90% of the raw fetch loop at 256 in flight: ${at256.ratio >= 0.9 ? 'met' : 'NOT met'} (${pct(at256.ratio)}); ` +
          `against a node:http loop (same transport as the pipeline, so this is the pipeline's own overhead): ${pct(at256.ratioHttp)}\n`,
      );
  }
} finally {
  stub.stop();
  rmSync(dir, { recursive: true, force: true });
}
