import { describe, expect, it } from 'vitest';
import { clickhouseClusterUrl, parseClickHouseCluster } from './cluster.ts';
import { clusterStatement } from './migrate.ts';

describe('cluster mode from CLICKHOUSE_URL', () => {
  it('is off without cluster=', () => {
    expect(parseClickHouseCluster('http://ch:8123/geo')).toBeUndefined();
  });

  it('reads the cluster and every node, with the URL’s credentials and database', () => {
    expect(parseClickHouseCluster('http://u:p%40ss@ch1:8123/geo?cluster=geo&nodes=ch1:8123,ch2:8124')).toEqual({
      name: 'geo',
      nodes: ['http://u:p%40ss@ch1:8123/geo', 'http://u:p%40ss@ch2:8124/geo'],
    });
    expect(parseClickHouseCluster('http://ch1:8123/?cluster=geo')).toEqual({ name: 'geo', nodes: ['http://ch1:8123'] });
  });

  it.each([
    ['http://ch:8123/?cluster=geo;DROP', /plain name/],
    ['http://ch:8123/?cluster=geo&nodes=ch1', /host:port/],
    ['http://ch:8123/?nodes=ch1:8123', /needs cluster/],
  ])('refuses %s', (url, message) => {
    expect(() => parseClickHouseCluster(url)).toThrow(message);
  });

  it('builds a URL that parses back to the same cluster', () => {
    const url = clickhouseClusterUrl('http://127.0.0.1:9000', 'geo', ['http://127.0.0.1:9000', 'http://127.0.0.1:9001']);
    expect(url).toBe('http://127.0.0.1:9000/?cluster=geo&nodes=127.0.0.1:9000,127.0.0.1:9001');
    expect(parseClickHouseCluster(url)?.nodes).toEqual(['http://127.0.0.1:9000', 'http://127.0.0.1:9001']);
  });
});

describe('a migration statement in cluster mode', () => {
  const keys = new Map([
    ['moves', 'cityHash64(sub)'],
    ['moves_v3', 'cityHash64(sub)'],
    ['cells', 'cityHash64(cell)'],
  ]);

  it.each([
    [
      'CREATE TABLE IF NOT EXISTS moves (sub UInt64) ENGINE = MergeTree ORDER BY sub',
      'CREATE TABLE IF NOT EXISTS moves_local (sub UInt64) ENGINE = MergeTree ORDER BY sub',
      ['moves'],
    ],
    ['CREATE TABLE moves_v3 AS moves', 'CREATE TABLE moves_v3_local AS moves_local', ['moves_v3']],
    ["ALTER TABLE cells ADD COLUMN name String DEFAULT ''", "ALTER TABLE cells_local ADD COLUMN name String DEFAULT ''", ['cells']],
    [
      'RENAME TABLE moves TO moves_v2, moves_v3 TO moves',
      'RENAME TABLE moves_local TO moves_v2, moves_v3_local TO moves_local',
      ['moves', 'moves_v3'],
    ],
    [
      'CREATE MATERIALIZED VIEW mv TO cells AS SELECT sub AS cell FROM moves',
      'CREATE MATERIALIZED VIEW mv TO cells_local AS SELECT sub AS cell FROM moves_local',
      [],
    ],
    ['INSERT INTO moves_v3 SELECT * FROM moves', 'INSERT INTO moves_v3_local SELECT * FROM moves_local', []],
    [
      'CREATE TABLE IF NOT EXISTS schema_migrations (v UInt32) ENGINE = MergeTree ORDER BY v',
      'CREATE TABLE IF NOT EXISTS schema_migrations (v UInt32) ENGINE = MergeTree ORDER BY v',
      [],
    ],
  ])('%s', (statement, local, touched) => {
    expect(clusterStatement(statement, keys)).toEqual({ local, touched });
  });
});
