import { serve, type ServerType } from '@hono/node-server';
import { connectClickHouse, createLogger, migratePostgres, openDb, type Logger } from '@geo/infra';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from './app.ts';
import type { PortalConfig } from './config.ts';
import { seedDemo } from './demo/seed.ts';
import type { Deps } from './http/context.ts';

export const DEFAULT_WEB_DIST = resolve(fileURLToPath(new URL('.', import.meta.url)), '../web/dist');

export interface Portal {
  readonly url: string;
  readonly port: number;
  readonly deps: Deps;
  /** In-process requests, for tests: `portal.request('/api/status')`. */
  request(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * Opens PostgreSQL (PGlite or a server), applies migrations, seeds the demo when asked, and serves
 * the API and the SPA on `cfg.port` (0 = a free port).
 */
export async function createPortal(cfg: PortalConfig, log: Logger = createLogger('portal', cfg.logLevel ?? 'info')): Promise<Portal> {
  const db = await openDb({ databaseUrl: cfg.databaseUrl, dataDir: cfg.pgliteDir ?? 'memory://' });
  let server: ServerType | undefined;
  try {
    const applied = await migratePostgres(db);
    if (applied.length) log.info({ applied }, 'postgres migrations applied');
    if (cfg.demo) {
      await seedDemo(db, cfg.scryptLogN);
      log.info('demo enterprise and accounts seeded');
    }
    const ch = cfg.clickhouseUrl ? connectClickHouse(cfg.clickhouseUrl) : undefined;
    const deps: Deps = { db, cfg, log, ch };
    const { app } = buildApp(deps, cfg.webDist ?? DEFAULT_WEB_DIST);
    const host = cfg.host ?? '127.0.0.1';
    const port = await new Promise<number>((resolvePort, reject) => {
      server = serve({ fetch: app.fetch, port: cfg.port, hostname: host }, (info) => resolvePort(info.port));
      server.once('error', reject);
    });
    const url = `http://${host}:${port}`;
    log.info({ url, db: db.kind }, 'portal listening');
    return {
      url,
      port,
      deps,
      request: async (path, init) => app.request(path, init),
      async stop() {
        await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
        await ch?.close();
        await db.close();
      },
    };
  } catch (err) {
    server?.close();
    await db.close().catch(() => undefined);
    throw err;
  }
}
