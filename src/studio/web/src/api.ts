/** The JSON API with the caller's Bearer token; media are fetched the same way and shown through blob: URLs. */
const KEY = 'mmalign-studio-token';

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function token(): string | null {
  return localStorage.getItem(KEY);
}
export function setToken(t: string | null): void {
  if (t) localStorage.setItem(KEY, t);
  else localStorage.removeItem(KEY);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: {
      Authorization: `Bearer ${token() ?? ''}`,
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) {
    let msg = text;
    try {
      const j = JSON.parse(text) as { error?: string; issues?: { path: string; message: string }[] };
      msg = [j.error, ...(j.issues ?? []).map((i) => `${i.path}: ${i.message}`)].filter(Boolean).join('; ');
    } catch {}
    throw new ApiError(res.status, msg || res.statusText);
  }
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('application/json') ? JSON.parse(text) : text) as T;
}

const blobs = new Map<string, Promise<string>>();
export function mediaUrl(url: string): Promise<string> {
  let p = blobs.get(url);
  if (!p) {
    p = fetch(url, { headers: { Authorization: `Bearer ${token() ?? ''}` } }).then(async (r) => {
      if (!r.ok) throw new ApiError(r.status, `media ${url}: ${r.status}`);
      return URL.createObjectURL(await r.blob());
    });
    blobs.set(url, p);
  }
  return p;
}

export interface Me {
  name: string;
  role: 'annotator' | 'admin';
  project: string;
}
export interface MediaView {
  kind: 'image' | 'video' | 'audio';
  url?: string;
  frames: string[];
}
export type ContentPart = { type: 'text'; text: string } | { type: 'image' | 'video' | 'audio'; media: number };
export interface TaskView {
  id: number;
  type: 'pairwise' | 'rating' | 'ranking' | 'segments' | 'binary';
  status: string;
  prompt: { role: string; content: string | ContentPart[] }[];
  media: MediaView[];
  responses: { text: string }[];
  draft: unknown;
  submitted: { submissionId: string; label: unknown } | null;
  suggestions: { judge: string; label: unknown }[];
  aspects: string[];
  scale: [number, number];
}
