import { existsSync, statSync } from 'node:fs';
import { MmalignError } from '../util/errors.ts';
import { OpenAIBackend } from './openai.ts';
import type { RetryPolicy } from './openai-dispatch.ts';
import type { VisionLanguageModel } from './types.ts';

/**
 * One string names any model: the forms below, tried in this order. The table is the single source of the help
 * text and of the "unknown model spec" error.
 */
export const MODEL_SPEC_FORMS = {
  'embedded:PATH': 'the embedded tfjs VLM from a checkpoint folder',
  'openai:MODEL@URL[,URL...]': 'an OpenAI-compatible server (no prompt log-probs); several URLs share the load',
  'vllm:MODEL@URL[,URL...]': 'a vLLM server (prompt log-probs through prompt_logprobs)',
  'http(s)://HOST:PORT/v1': 'an OpenAI-compatible server; the model is the first of GET /v1/models',
  PATH: 'a checkpoint folder (same as embedded:PATH)',
} as const;

export interface ResolveOptions {
  /** API key for HTTP backends; defaults to $MMALIGN_API_KEY, then $OPENAI_API_KEY */
  apiKey?: string;
  /** requests in flight per endpoint */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
}

async function loadEmbedded(dir: string): Promise<VisionLanguageModel> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new MmalignError('MMALIGN_MODEL_SPEC', `checkpoint folder "${dir}" does not exist`, {
      hint: 'train one with `mmalign train sft --out DIR`',
    });
  // imported on use so HTTP-only callers never load tfjs
  const { loadEmbeddedModel } = await import('./embedded.ts');
  return loadEmbeddedModel(dir);
}

function splitAt(spec: string, prefix: string): { model: string; urls: string[] } {
  const rest = spec.slice(prefix.length);
  const at = rest.lastIndexOf('@');
  if (at <= 0) throw new MmalignError('MMALIGN_MODEL_SPEC', `"${spec}": expected ${prefix}MODEL@URL`);
  const urls = rest
    .slice(at + 1)
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  for (const u of urls)
    if (!/^https?:\/\//i.test(u))
      throw new MmalignError('MMALIGN_MODEL_SPEC', `"${spec}": "${u}" is not an http(s) URL`);
  return { model: rest.slice(0, at), urls };
}

async function discover(url: string, apiKey?: string): Promise<{ id: string; ownedBy?: string }> {
  const base = url.replace(/\/+$/, '');
  let res: Response;
  try {
    res = await fetch(`${base}/models`, {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      signal: AbortSignal.timeout(15_000),
    });
  } catch (e) {
    throw new MmalignError('MMALIGN_MODEL_SPEC', `cannot reach ${base}/models: ${(e as Error).message}`, {
      hint: 'is the server up? name the model explicitly with openai:MODEL@URL to skip discovery',
    });
  }
  const body = (await res.json().catch(() => null)) as { data?: { id?: unknown; owned_by?: unknown }[] } | null;
  const first = body?.data?.[0];
  if (!res.ok || typeof first?.id !== 'string')
    throw new MmalignError('MMALIGN_MODEL_SPEC', `${base}/models did not list a model (HTTP ${res.status})`);
  return { id: first.id, ownedBy: typeof first.owned_by === 'string' ? first.owned_by : undefined };
}

/** Resolve a model spec string (see MODEL_SPEC_FORMS) to a ready backend. */
export async function resolveModel(spec: string, opts: ResolveOptions = {}): Promise<VisionLanguageModel> {
  const apiKey = opts.apiKey ?? process.env.MMALIGN_API_KEY ?? process.env.OPENAI_API_KEY;
  const endpoints = (urls: string[]) => urls.map((url) => ({ url, apiKey, concurrency: opts.concurrency }));
  if (spec.startsWith('embedded:')) return loadEmbedded(spec.slice('embedded:'.length));
  for (const [prefix, promptLogprobs] of [
    ['openai:', false],
    ['vllm:', true],
  ] as const) {
    if (spec.startsWith(prefix)) {
      const { model, urls } = splitAt(spec, prefix);
      return new OpenAIBackend({ model, endpoints: endpoints(urls), retry: opts.retry, promptLogprobs, id: spec });
    }
  }
  if (/^https?:\/\//i.test(spec)) {
    const urls = spec.split(',').map((u) => u.trim());
    const { id, ownedBy } = await discover(urls[0], apiKey);
    // both report themselves in owned_by, and both implement prompt_logprobs
    const promptLogprobs = ownedBy === 'vllm' || ownedBy === 'mmalign';
    return new OpenAIBackend({
      model: id,
      endpoints: endpoints(urls),
      retry: opts.retry,
      promptLogprobs,
      id: `${id}@${urls[0]}`,
    });
  }
  if (existsSync(spec) && statSync(spec).isDirectory()) return loadEmbedded(spec);
  const forms = Object.entries(MODEL_SPEC_FORMS)
    .map(([k, v]) => `${k} (${v})`)
    .join('; ');
  throw new MmalignError('MMALIGN_MODEL_SPEC', `cannot resolve model "${spec}"; expected one of: ${forms}`);
}
