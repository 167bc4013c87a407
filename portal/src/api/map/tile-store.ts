import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { IMPORT_FILE, TILES_FOLDER, type MapImport } from './map-dir.ts';

/** The largest zoom a tile may be asked for (maplibre's own limit is 24; our tiles stop at 14). */
export const MAX_TILE_ZOOM = 22;

/** A tile as stored: its bytes, and whether they are gzip-compressed (tilemaker's default). */
export interface StoredTile {
  body: Buffer;
  gzip: boolean;
}

/**
 * Reads the imported tiles of one map folder. Tile coordinates are numbers checked against their
 * zoom before they become a path, so no request names a file outside `<dir>/tiles`.
 */
export class TileStore {
  private cached?: { mtimeMs: number; meta: MapImport };
  constructor(readonly dir: string) {}

  /** The last import, or undefined when none was made (the map then keeps its outline style). */
  async current(): Promise<MapImport | undefined> {
    const file = join(this.dir, TILES_FOLDER, IMPORT_FILE);
    const st = await stat(file).catch(() => undefined);
    if (!st) return undefined;
    if (this.cached?.mtimeMs !== st.mtimeMs) {
      try {
        this.cached = { mtimeMs: st.mtimeMs, meta: JSON.parse(await readFile(file, 'utf8')) as MapImport };
      } catch {
        // Swapped by an import while we read it: the next request reads the new one.
        return undefined;
      }
    }
    return this.cached.meta;
  }

  /** The tile at z/x/y, or undefined when the import has no features there (an empty tile). */
  async tile(z: number, x: number, y: number): Promise<StoredTile | undefined> {
    if (!validTile(z, x, y)) return undefined;
    const body = await readFile(join(this.dir, TILES_FOLDER, String(z), String(x), `${y}.pbf`)).catch(() => undefined);
    if (!body) return undefined;
    return { body, gzip: body[0] === 0x1f && body[1] === 0x8b };
  }
}

/** Whether z/x/y names a tile of the web-mercator pyramid. */
export function validTile(z: number, x: number, y: number): boolean {
  const n = 2 ** z;
  return [z, x, y].every(Number.isSafeInteger) && z >= 0 && z <= MAX_TILE_ZOOM && x >= 0 && y >= 0 && x < n && y < n;
}
