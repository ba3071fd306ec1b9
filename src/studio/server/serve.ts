import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { MmalignError } from '../../util/errors.ts';
import { createStudioApp } from './app.ts';
import { type Db, openDb, projectPaths } from './db.ts';
import { ensureFrontEnd, loadUi } from './frontend.ts';

export interface StudioServerOptions {
  dir: string;
  port?: number;
  /** 127.0.0.1 unless told otherwise: the studio holds unreleased data and tokens travel in clear text. */
  host?: string;
  /** Serve the API only (tests and benches that do not need the UI). */
  ui?: boolean;
  onError?: (e: unknown) => void;
}

export interface StudioServer {
  url: string;
  port: number;
  db: Db;
  builtUi: boolean;
  close(): Promise<void>;
}

export async function startStudio(opts: StudioServerOptions): Promise<StudioServer> {
  const db = openDb(opts.dir);
  let builtUi = false;
  let ui: ReturnType<typeof loadUi> | undefined;
  if (opts.ui !== false) {
    // Another server may be swapping in its own (identical) build this very moment: look again once.
    for (let attempt = 0; !ui; attempt++) {
      const fe = await ensureFrontEnd();
      builtUi ||= fe.built;
      try {
        ui = loadUi(fe.dir);
      } catch (e) {
        if (attempt > 2) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
  const app = createStudioApp({ db, mediaDir: projectPaths(opts.dir).media, ui, onError: opts.onError });
  const host = opts.host ?? '127.0.0.1';
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: opts.port ?? 0, hostname: host }, () => resolve(s));
    s.once('error', (e: NodeJS.ErrnoException) => {
      db.close();
      reject(
        e.code === 'EADDRINUSE' || e.code === 'EACCES'
          ? new MmalignError('MMALIGN_STUDIO_PORT', `cannot listen on ${host}:${opts.port}: ${e.code}`, {
              hint: 'pick another --port, or --port 0 for any free one',
            })
          : e,
      );
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    db,
    builtUi,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          db.close();
          resolve();
        });
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}
