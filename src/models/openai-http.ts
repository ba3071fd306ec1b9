import http from 'node:http';
import https from 'node:https';

/**
 * The HTTP transport of the OpenAI client: node:http(s) with one keep-alive agent per endpoint. Measured on this
 * project's machines, WHATWG `fetch` (undici, Node 20) spends ~0.5 ms CPU per small request, node:http a fraction
 * of that; at hundreds of requests in flight against a fast server the client's CPU is the bottleneck, so this is
 * what lets the construction pipeline keep up with the server (bench/construct.ts).
 */
export interface HttpReply {
  status: number;
  retryAfter: string | null;
  text: string;
}

export class HttpTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}
export class HttpAbortError extends Error {
  readonly code = 'ABORT_ERR';
}

export interface HttpClient {
  post(
    path: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<HttpReply>;
  close(): void;
}

export function httpClient(baseUrl: string, maxSockets: number): HttpClient {
  const u = new URL(baseUrl);
  const secure = u.protocol === 'https:';
  const mod = secure ? https : http;
  const agent = new mod.Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 10_000 });
  const basePath = u.pathname.replace(/\/+$/, '');
  return {
    post(path, body, headers, timeoutMs, signal) {
      return new Promise<HttpReply>((resolve, reject) => {
        if (signal?.aborted) return reject(new HttpAbortError('aborted'));
        const payload = Buffer.from(body);
        let settled = false;
        const done = (fn: () => void) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          fn();
        };
        const req = mod.request(
          {
            agent,
            host: u.hostname,
            port: u.port || (secure ? 443 : 80),
            method: 'POST',
            path: `${basePath}${path}`,
            headers: { ...headers, 'content-length': payload.length },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              // a reply cut short is an error (retried), never a short body taken as complete
              if (!res.complete)
                return done(() => reject(Object.assign(new Error('reply cut short'), { code: 'ECONNRESET' })));
              const rawRetry = res.headers['retry-after'];
              done(() =>
                resolve({
                  status: res.statusCode ?? 0,
                  retryAfter: (Array.isArray(rawRetry) ? rawRetry[0] : rawRetry) ?? null,
                  text: Buffer.concat(chunks).toString('utf8'),
                }),
              );
            });
            res.on('error', (e) => done(() => reject(e)));
            res.on('aborted', () =>
              done(() => reject(Object.assign(new Error('reply aborted'), { code: 'ECONNRESET' }))),
            );
          },
        );
        const timer = setTimeout(() => {
          const e = new HttpTimeoutError(`no complete reply within ${timeoutMs} ms`);
          done(() => reject(e));
          req.destroy(e);
        }, timeoutMs);
        const onAbort = () => {
          const e = new HttpAbortError('aborted');
          done(() => reject(e));
          req.destroy(e);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        req.on('error', (e) => done(() => reject(e)));
        req.end(payload);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
