import { isAbsolute, join, relative } from 'node:path';
import type { RunningStack } from '../servers/stack.ts';

/**
 * A data directory as `npm start` shows it: relative to the project when it lies inside it
 * (`.data/nats`, the default), else the whole path (a `DATA_DIR` elsewhere).
 */
export function shownPath(path: string, root: string): string {
  const rel = relative(root, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * The three lines `npm start` prints for its servers: each URL, and for those it started, where
 * their data is (under `dataDir`, i.e. `DATA_DIR`); a DATABASE_URL's password is hidden.
 */
export function serverLines(
  stack: Pick<RunningStack, 'natsUrl' | 'clickhouseUrl' | 'clickhouseVersion' | 'started'>,
  o: { dataDir: string; root: string; databaseUrl?: string },
): string[] {
  const dataIn = (sub: string) => `data in ${shownPath(join(o.dataDir, sub), o.root)}`;
  return [
    `  ✓ NATS JetStream   ${stack.natsUrl}${stack.started.includes('nats-server') ? ` (started, ${dataIn('nats')})` : ' (existing)'}`,
    `  ✓ ClickHouse       ${stack.clickhouseUrl}${stack.clickhouseVersion ? ` ${stack.clickhouseVersion} (started, ${dataIn('clickhouse')})` : ' (existing)'}`,
    `  ✓ PostgreSQL       ${o.databaseUrl ? o.databaseUrl.replace(/:[^:@/]*@/, ':***@') : `PGlite embedded in the portal (${dataIn('pglite')})`}`,
  ];
}
