import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve } from '@hono/node-server';
import type { VisionLanguageModel } from '../models/types.ts';
import { createServeApp } from './app.ts';
import { MediaStore } from './media.ts';

export interface StartServerOptions {
  model: VisionLanguageModel;
  /** 0 picks a free port */
  port?: number;
  /** default 127.0.0.1: never exposed beyond the machine unless asked */
  host?: string;
  apiKey?: string;
  name?: string;
  /** where received images are stored; a temp folder removed on close by default */
  mediaDir?: string;
  /** request body cap in bytes (default 20 MB) */
  maxBodyBytes?: number;
}

export interface RunningServer {
  /** base URL ending in /v1 */
  url: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

/** Start `mmalign serve` in this process; resolves once the socket listens. */
export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const ownDir = opts.mediaDir === undefined;
  const mediaDir = opts.mediaDir ?? mkdtempSync(path.join(tmpdir(), 'mmalign-serve-'));
  const app = createServeApp({
    model: opts.model,
    media: new MediaStore(mediaDir),
    apiKey: opts.apiKey,
    name: opts.name,
    maxBodyBytes: opts.maxBodyBytes,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: opts.port ?? 0, hostname: host }, () => resolve(s as Server)) as Server;
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/v1`,
    port,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => {
          if (ownDir) rmSync(mediaDir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
