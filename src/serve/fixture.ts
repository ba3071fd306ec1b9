import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fast, deterministic OpenAI-compatible server on loopback, for tests and benchmarks of HTTP clients and the
 * construction pipeline (not a model: use `mmalign serve` for that). A reply's text is a hash of the request's
 * messages, seed and choice index, so a redone request gets the same answer and an uninterrupted run can be compared
 * byte for byte with a resumed one. `behave` scripts failures per request: HTTP errors, slow replies, truncated
 * JSON, 429 with Retry-After, or a dropped connection.
 */
export type Behaviour =
  | { kind: 'ok'; delayMs?: number }
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  | { kind: 'garbage' }
  | { kind: 'hang'; ms: number }
  | { kind: 'drop' };

export interface FixtureOptions {
  port?: number;
  host?: string;
  /** per request i (0-based, arrival order) */
  behave?: (i: number) => Behaviour;
}

export interface FixtureServer {
  url: string;
  port: number;
  /** requests received */
  readonly hits: number;
  /** requests answered 200 with a completion */
  readonly served: number;
  setBehaviour(b: (i: number) => Behaviour): void;
  close(): Promise<void>;
}

interface Body {
  messages?: unknown;
  n?: number;
  seed?: number;
  max_tokens?: number;
}

export function fixtureText(body: Body, index: number): string {
  const h = createHash('sha256')
    .update(JSON.stringify([body.messages, body.seed ?? null, index]))
    .digest('hex');
  return `answer ${h.slice(0, 12)}`;
}

export async function startFixtureServer(opts: FixtureOptions = {}): Promise<FixtureServer> {
  let behave = opts.behave ?? (() => ({ kind: 'ok' }) as Behaviour);
  let hits = 0;
  let served = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const i = hits++;
      if (req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"object":"list","data":[{"id":"fixture","object":"model","owned_by":"fixture"}]}');
        return;
      }
      const b = behave(i);
      const answer = () => {
        let body: Body;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body;
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end('{"error":{"message":"bad json"}}');
          return;
        }
        const n = body.n ?? 1;
        const choices = Array.from({ length: n }, (_, k) => ({
          index: k,
          message: { role: 'assistant', content: fixtureText(body, k) },
          finish_reason: 'stop',
        }));
        served++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: `fx-${i}`,
            object: 'chat.completion',
            choices,
            usage: { prompt_tokens: 10, completion_tokens: 3 * n },
          }),
        );
      };
      switch (b.kind) {
        case 'ok':
          if (b.delayMs) setTimeout(answer, b.delayMs);
          else answer();
          return;
        case 'status':
          res.writeHead(b.status, {
            'content-type': 'application/json',
            ...(b.retryAfter ? { 'retry-after': b.retryAfter } : {}),
          });
          res.end(b.body ?? `{"error":{"message":"scripted ${b.status}"}}`);
          return;
        case 'garbage':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"choices":[{"message":{"content":"tru');
          return;
        case 'hang':
          setTimeout(answer, b.ms);
          return;
        case 'drop':
          req.socket.destroy();
          return;
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    get hits() {
      return hits;
    },
    get served() {
      return served;
    },
    setBehaviour(fn) {
      behave = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
