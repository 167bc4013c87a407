import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PortalConfig } from '../../config.ts';

/** The folder `npm start` keeps its data in (`infra`'s `DATA_DIR` default), and the map's place in it. */
export const DEFAULT_MAP_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../../.data/map');
/** `<map dir>/tiles/{z}/{x}/{y}.pbf`, written by the import command. */
export const TILES_FOLDER = 'tiles';
/** What the last import made, inside the tiles folder (so that one rename swaps both). */
export const IMPORT_FILE = 'import.json';

/** What an import wrote: the portal's `/api/map/meta` answers it. */
export interface MapImport {
  /** The extract's file name. */
  source: string;
  importedAt: string;
  /** west, south, east, north */
  bounds: [number, number, number, number];
  minzoom: number;
  maxzoom: number;
  layers: string[];
  tiles: number;
  /** The tiles are stored gzip-compressed (tilemaker's `compress: gzip`). */
  gzip: boolean;
}

/** The portal's map settings (`PortalConfig.mapDir`, env `MAP_DIR`). */
export type MapConfig = Pick<PortalConfig, 'mapDir'>;

/**
 * Where this portal reads its map: the configured folder, else `map/` beside the PGlite folder
 * (so `npm start`, whose PGlite is `.data/pglite`, reads `.data/map`), else `<repo>/.data/map`.
 */
export function mapDirOf(cfg: PortalConfig): string {
  if (cfg.mapDir) return resolve(cfg.mapDir);
  if (cfg.pgliteDir && !cfg.pgliteDir.includes('://') && !cfg.databaseUrl) return join(dirname(resolve(cfg.pgliteDir)), 'map');
  return DEFAULT_MAP_DIR;
}
