/**
 * Imports an OpenStreetMap extract as the portal's offline base map:
 *
 *   npx tsx portal/src/map-import/main.ts extract.osm.pbf [--out DIR]
 *
 * The tiles go to DIR/tiles (default: $MAP_DIR, else $DATA_DIR/map, else the repository's
 * .data/map — the folder `npm start` serves). A running portal serves the new tiles at once.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MAP_DIR } from '../api/map/map-dir.ts';
import { importExtract, MapImportError } from './import-extract.ts';

const USAGE = `用法：npx tsx portal/src/map-import/main.ts <extract.osm.pbf> [--out 地图目录] [--store 临时目录]

把运营方提供的 OpenStreetMap 数据（.osm.pbf，例如从 Geofabrik 的中国数据用 osmium extract 裁出的浙江省）转成门户使用的离线矢量瓦片。
地图目录默认为 $MAP_DIR，否则 $DATA_DIR/map，否则仓库的 .data/map（npm start 使用的目录）。
--store：数据较大、内存不足时，tilemaker 把节点和线暂存在该目录（磁盘）而不是内存。`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { out: { type: 'string' }, store: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(USAGE);
    return 2;
  }
  const mapDir = values.out ?? process.env.MAP_DIR ?? (process.env.DATA_DIR ? join(process.env.DATA_DIR, 'map') : DEFAULT_MAP_DIR);
  try {
    await importExtract({ input: positionals[0]!, mapDir, store: values.store, say: (line) => console.log(line) });
    return 0;
  } catch (err) {
    if (err instanceof MapImportError) {
      console.error(`导入失败：${err.message}`);
      return 1;
    }
    throw err;
  }
}

process.exitCode = await main();
