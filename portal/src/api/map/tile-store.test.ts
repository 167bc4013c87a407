import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PortalConfig } from '../../config.ts';
import { DEFAULT_MAP_DIR, mapDirOf } from './map-dir.ts';
import { TileStore, validTile } from './tile-store.ts';

describe('validTile', () => {
  it.each([
    [0, 0, 0, true],
    [14, 13661, 6747, true],
    [14, 16383, 16383, true],
    [14, 16384, 0, false],
    [14, 0, 16384, false],
    [-1, 0, 0, false],
    [23, 0, 0, false],
    [3, 1.5, 0, false],
    [3, Number.NaN, 0, false],
  ])('z%s x%s y%s → %s', (z, x, y, ok) => expect(validTile(z, x, y)).toBe(ok));
});

describe('mapDirOf', () => {
  const cfg = (extra: Partial<PortalConfig> & { mapDir?: string }) => ({ port: 0, ...extra });
  it('is the configured folder, else map/ beside the PGlite folder, else the repository’s .data/map', () => {
    expect(mapDirOf(cfg({ mapDir: '/srv/map', pgliteDir: '/data/pglite' }))).toBe('/srv/map');
    expect(mapDirOf(cfg({ pgliteDir: '/data/pglite' }))).toBe('/data/map');
    expect(mapDirOf(cfg({ pgliteDir: 'memory://' }))).toBe(DEFAULT_MAP_DIR);
    expect(mapDirOf(cfg({ pgliteDir: '/data/pglite', databaseUrl: 'postgres://x/y' }))).toBe(DEFAULT_MAP_DIR);
    expect(DEFAULT_MAP_DIR.endsWith('/.data/map')).toBe(true);
  });
});

describe('TileStore', () => {
  it('tells gzip-stored tiles from plain ones, and has nothing for coordinates off the pyramid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tile-store-'));
    await mkdir(join(dir, 'tiles', '1', '0'), { recursive: true });
    await writeFile(join(dir, 'tiles', '1', '0', '0.pbf'), Buffer.from([0x1f, 0x8b, 8, 0]));
    await writeFile(join(dir, 'tiles', '1', '0', '1.pbf'), Buffer.from([0x1a, 2, 0x78, 0x02]));
    const s = new TileStore(dir);
    expect(await s.current()).toBeUndefined();
    expect((await s.tile(1, 0, 0))?.gzip).toBe(true);
    expect((await s.tile(1, 0, 1))?.gzip).toBe(false);
    expect(await s.tile(1, 1, 1)).toBeUndefined();
    expect(await s.tile(1, 0, 2)).toBeUndefined();
  });
});
