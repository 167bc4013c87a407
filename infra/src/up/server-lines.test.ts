import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serverLines } from './server-lines.ts';

const ROOT = '/srv/geo-alert';
const started = {
  natsUrl: 'nats://127.0.0.1:4222',
  clickhouseUrl: 'http://127.0.0.1:8123',
  clickhouseVersion: '18.16.1',
  started: ['nats-server', 'clickhouse-server'],
};

describe('what npm start says of its servers', () => {
  it('names the data directory it was given (DATA_DIR), not .data', () => {
    const lines = serverLines(started, { dataDir: '/var/lib/geo', root: ROOT }).join('\n');
    expect(lines).toContain('data in /var/lib/geo/nats');
    expect(lines).toContain('data in /var/lib/geo/clickhouse');
    expect(lines).toContain('data in /var/lib/geo/pglite');
    expect(lines).not.toContain('.data');
  });

  it('says .data/… for the default under the project, as a path one can type there', () => {
    const lines = serverLines(started, { dataDir: join(ROOT, '.data'), root: ROOT }).join('\n');
    expect(lines).toContain('(started, data in .data/nats)');
    expect(lines).toContain('18.16.1 (started, data in .data/clickhouse)');
    expect(lines).toContain('PGlite embedded in the portal (data in .data/pglite)');
  });

  it('says existing servers are existing, and hides a database password', () => {
    const lines = serverLines(
      { natsUrl: 'nats://nats:4222', clickhouseUrl: 'http://ch:8123', started: [] },
      { dataDir: '/d', root: ROOT, databaseUrl: 'postgres://geo:s3cret@db:5432/geo' },
    );
    expect(lines).toEqual([
      '  ✓ NATS JetStream   nats://nats:4222 (existing)',
      '  ✓ ClickHouse       http://ch:8123 (existing)',
      '  ✓ PostgreSQL       postgres://geo:***@db:5432/geo',
    ]);
  });
});
