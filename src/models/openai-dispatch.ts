import { HttpAbortError, type HttpClient, type HttpReply, HttpTimeoutError, httpClient } from './openai-http.ts';

/**
 * Request dispatch for OpenAI-compatible servers: a pool of endpoints, each with its own concurrency limit, picked
 * least-busy (ties round-robin); bounded retries with exponential backoff + full jitter on 429 / 5xx / connection
 * errors / timeouts / unparseable bodies, honouring `Retry-After`. Failures come back as data, never as throws,
 * so a long run survives a flaky server.
 */

/** A counting semaphore: at most `limit` holders; waiters are served first-in first-out. */
export class Semaphore {
  #active = 0;
  readonly #waiters: (() => void)[] = [];
  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`semaphore limit must be >= 1, got ${limit}`);
  }
  get active(): number {
    return this.#active;
  }
  get waiting(): number {
    return this.#waiters.length;
  }
  async acquire(): Promise<void> {
    if (this.#active < this.limit) {
      this.#active++;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
  release(): void {
    const next = this.#waiters.shift();
    // hand the slot straight to the next waiter: `active` stays the same
    if (next) next();
    else this.#active--;
  }
}

export interface EndpointConfig {
  /** base URL ending in /v1, e.g. http://127.0.0.1:8000/v1 */
  url: string;
  apiKey?: string;
  /** requests in flight at most on this endpoint */
  concurrency?: number;
}

export interface RetryPolicy {
  /** retries after the first attempt (so maxRetries + 1 attempts at most) */
  maxRetries: number;
  /** first backoff; attempt k waits up to base · 2^k (full jitter) */
  baseDelayMs: number;
  maxDelayMs: number;
  /** a Retry-After longer than this is clamped to it */
  maxRetryAfterMs: number;
  /** per-attempt timeout, body included */
  timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 4,
  baseDelayMs: 250,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 60_000,
  timeoutMs: 120_000,
};

export interface EndpointStats {
  url: string;
  requests: number;
  failures: number;
  retries: number;
  inFlight: number;
}

export class Endpoint {
  readonly sem: Semaphore;
  requests = 0;
  failures = 0;
  retries = 0;
  /** epoch ms before which this endpoint is avoided (after connection errors / 429) */
  coolUntil = 0;
  readonly url: string;
  readonly apiKey?: string;
  readonly http: HttpClient;
  constructor(cfg: EndpointConfig) {
    this.url = cfg.url.replace(/\/+$/, '');
    this.apiKey = cfg.apiKey;
    this.sem = new Semaphore(cfg.concurrency ?? 8);
    this.http = httpClient(this.url, this.sem.limit);
  }
  load(): number {
    return (this.sem.active + this.sem.waiting) / this.sem.limit;
  }
  stats(): EndpointStats {
    return {
      url: this.url,
      requests: this.requests,
      failures: this.failures,
      retries: this.retries,
      inFlight: this.sem.active,
    };
  }
}

/** What one attempt produced: a parsed JSON body, or a classified failure. */
export type AttemptResult =
  | { ok: true; status: number; body: unknown }
  | { ok: false; code: string; message: string; status?: number; retryable: boolean; retryAfterMs?: number };

export type CallResult =
  | { ok: true; body: unknown; endpoint: string; attempts: number }
  | {
      ok: false;
      code: string;
      message: string;
      status?: number;
      retryable: boolean;
      endpoint: string;
      attempts: number;
    };

/** Parse `Retry-After`: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

const RETRYABLE_STATUS = new Set([408, 409, 425, 429, 500, 502, 503, 504]);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function connectionCode(e: unknown): string | undefined {
  // undici wraps socket errors as TypeError('fetch failed', { cause: { code } })
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** POST JSON once with a timeout; classify what happened. */
export async function attempt(
  ep: Endpoint,
  path: string,
  payload: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<AttemptResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (ep.apiKey) headers.authorization = `Bearer ${ep.apiKey}`;
  let res: HttpReply;
  try {
    res = await ep.http.post(path, payload, headers, timeoutMs, signal);
  } catch (e) {
    return classifyThrown(e, timeoutMs, signal);
  }
  const text = res.text;
  if (res.status < 200 || res.status >= 300) {
    return {
      ok: false,
      code: res.status === 429 ? 'rate_limited' : res.status >= 500 ? 'server_error' : 'http_error',
      status: res.status,
      message: `HTTP ${res.status} from ${ep.url}${path}: ${errorText(text)}`,
      retryable: RETRYABLE_STATUS.has(res.status),
      retryAfterMs: parseRetryAfter(res.retryAfter),
    };
  }
  try {
    return { ok: true, status: res.status, body: JSON.parse(text) };
  } catch {
    // a 200 with a body that is not JSON: truncated by a proxy or a dying server; worth another try
    return {
      ok: false,
      code: 'bad_json',
      status: res.status,
      message: `invalid JSON from ${ep.url}${path} (${text.length} bytes): ${JSON.stringify(text.slice(0, 120))}`,
      retryable: true,
    };
  }
}

function errorText(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    if (typeof j.error === 'string') return j.error;
    if (j.error && typeof j.error.message === 'string') return j.error.message;
    if (typeof j.message === 'string') return j.message;
    if (typeof j.detail === 'string') return j.detail;
  } catch {
    // not JSON: show the start of the body
  }
  return text.slice(0, 300) || '(empty body)';
}

function classifyThrown(e: unknown, timeoutMs: number, outer?: AbortSignal): AttemptResult {
  if (outer?.aborted || e instanceof HttpAbortError)
    return { ok: false, code: 'aborted', message: 'request aborted by caller', retryable: false };
  if (e instanceof HttpTimeoutError)
    return { ok: false, code: 'timeout', message: `no complete reply within ${timeoutMs} ms`, retryable: true };
  const code = connectionCode(e);
  const msg = e instanceof Error ? e.message : String(e);
  return {
    ok: false,
    code: 'connection',
    message: `connection failed${code ? ` (${code})` : ''}: ${msg}`,
    retryable: true,
  };
}

/**
 * A pool of endpoints. `call` picks the least-loaded endpoint not cooling down (round-robin among ties),
 * holds one of its slots for the attempt, and retries elsewhere (or later) when the failure is retryable.
 */
export class EndpointPool {
  readonly endpoints: Endpoint[];
  #rr = 0;
  constructor(
    configs: readonly EndpointConfig[],
    readonly retry: RetryPolicy = DEFAULT_RETRY,
    readonly random: () => number = Math.random,
  ) {
    if (configs.length === 0) throw new RangeError('an endpoint pool needs at least one endpoint');
    this.endpoints = configs.map((c) => new Endpoint(c));
  }

  capacity(): number {
    return this.endpoints.reduce((s, e) => s + e.sem.limit, 0);
  }

  pick(exclude?: Endpoint): Endpoint {
    const now = Date.now();
    let best: Endpoint | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    const n = this.endpoints.length;
    for (let i = 0; i < n; i++) {
      const ep = this.endpoints[(this.#rr + i) % n];
      // cooling or just-failed endpoints are used only when nothing else is available
      const score = ep.load() + (ep.coolUntil > now ? 1e6 : 0) + (ep === exclude && n > 1 ? 1e3 : 0);
      if (score < bestScore) {
        best = ep;
        bestScore = score;
      }
    }
    this.#rr = (this.#rr + 1) % n;
    return best!;
  }

  backoffMs(k: number, retryAfterMs?: number): number {
    const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** k);
    const jittered = this.random() * cap;
    if (retryAfterMs === undefined) return jittered;
    return Math.min(this.retry.maxRetryAfterMs, Math.max(retryAfterMs, jittered));
  }

  async call(path: string, payload: string, signal?: AbortSignal): Promise<CallResult> {
    let last: Endpoint | undefined;
    let attempts = 0;
    for (let k = 0; ; k++) {
      const ep = this.pick(last);
      await ep.sem.acquire();
      let r: AttemptResult;
      try {
        attempts++;
        ep.requests++;
        if (k > 0) ep.retries++;
        r = await attempt(ep, path, payload, this.retry.timeoutMs, signal);
      } finally {
        ep.sem.release();
      }
      if (r.ok) return { ok: true, body: r.body, endpoint: ep.url, attempts };
      ep.failures++;
      last = ep;
      const exhausted = k >= this.retry.maxRetries;
      if (!r.retryable || exhausted) {
        const tail = r.retryable ? ` (gave up after ${attempts} attempts)` : '';
        return {
          ok: false,
          code: r.code,
          message: `${r.message}${tail}`,
          status: r.status,
          retryable: r.retryable,
          endpoint: ep.url,
          attempts,
        };
      }
      const wait = this.backoffMs(k, r.retryAfterMs);
      if (r.code === 'connection' || r.code === 'rate_limited') ep.coolUntil = Date.now() + wait;
      try {
        await sleep(wait, signal);
      } catch {
        return {
          ok: false,
          code: 'aborted',
          message: 'request aborted by caller',
          retryable: false,
          endpoint: ep.url,
          attempts,
        };
      }
    }
  }

  stats(): EndpointStats[] {
    return this.endpoints.map((e) => e.stats());
  }

  close(): void {
    for (const e of this.endpoints) e.http.close();
  }
}
