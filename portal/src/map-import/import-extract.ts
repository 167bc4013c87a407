import { execFile } from 'node:child_process';
import { open, readFile, readdir, rename, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TILES_FOLDER, IMPORT_FILE, type MapImport } from '../api/map/map-dir.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** Our tilemaker configuration and tag processing, committed beside this file. */
export const TILEMAKER_CONFIG = join(HERE, 'tilemaker-config.json');
export const TILEMAKER_PROCESS = join(HERE, 'tilemaker-process.lua');

export type MapImportErrorCode = 'INPUT_MISSING' | 'NOT_PBF' | 'EMPTY' | 'TOOL_MISSING' | 'TILEMAKER_FAILED';

/** A refused or failed import, with a message for the operator (no stack trace needed). */
export class MapImportError extends Error {
  override readonly name = 'MapImportError';
  constructor(
    readonly code: MapImportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ImportOptions {
  /** The operator's OpenStreetMap extract (.osm.pbf). */
  input: string;
  /** The portal's map folder; the tiles go to `<mapDir>/tiles`. */
  mapDir: string;
  /** Progress lines for a person. */
  say?: (line: string) => void;
  /**
   * A folder for tilemaker's node and way store (its `--store`): on disk instead of in memory, for
   * an extract larger than the machine's memory allows. @default in memory
   */
  store?: string;
}

interface ToolResult {
  stdout: string;
  stderr: string;
}

function run(tool: string, args: string[], apt: string): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return reject(new MapImportError('TOOL_MISSING', `未找到 ${tool}，请先安装（Debian/Ubuntu：apt-get install ${apt}）`));
      reject(Object.assign(err, { stdout, stderr }));
    });
  });
}

/** First lines of a tool's complaint, for the message. */
const firstLines = (text: string, n = 3) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, n)
    .join(' / ');

interface FileInfo {
  header?: { boxes?: [number, number, number, number][] };
  data?: { bbox?: [number, number, number, number]; count?: { nodes: number; ways: number; relations: number } };
}

/** Refuses what is not a readable, non-empty OSM PBF; returns its bounds and object counts. */
async function inspect(
  input: string,
): Promise<{ bbox: [number, number, number, number]; count: { nodes: number; ways: number; relations: number } }> {
  const st = await stat(input).catch(() => undefined);
  if (!st) throw new MapImportError('INPUT_MISSING', `找不到文件：${input}`);
  if (!st.isFile()) throw new MapImportError('INPUT_MISSING', `不是文件：${input}`);
  const fh = await open(input, 'r');
  const head = Buffer.alloc(64);
  try {
    await fh.read(head, 0, 64, 0);
  } finally {
    await fh.close();
  }
  // A PBF opens with a BlobHeader whose type is "OSMHeader"; XML is the other common OSM format.
  if (!head.includes('OSMHeader')) {
    const hint = /^\s*<\?xml|^\s*<osm/.test(head.toString('utf8'))
      ? `这是 OSM XML 文件，请先转换：osmium cat ${basename(input)} -o extract.osm.pbf`
      : '请提供 OpenStreetMap 的 .osm.pbf 文件（例如 Geofabrik 的下载）';
    throw new MapImportError('NOT_PBF', `不是 OpenStreetMap PBF 文件：${input}。${hint}`);
  }
  let info: FileInfo;
  try {
    info = JSON.parse((await run('osmium', ['fileinfo', '--extended', '--json', input], 'osmium-tool')).stdout) as FileInfo;
  } catch (err) {
    if (err instanceof MapImportError) throw err;
    throw new MapImportError('NOT_PBF', `文件已损坏或不完整：${input}（osmium：${firstLines((err as ToolResult).stderr ?? '')}）`, {
      cause: err,
    });
  }
  const count = info.data?.count ?? { nodes: 0, ways: 0, relations: 0 };
  const bbox = info.header?.boxes?.[0] ?? info.data?.bbox;
  if (!count.nodes || !bbox) throw new MapImportError('EMPTY', `文件中没有任何地物：${input}`);
  return { bbox, count };
}

async function countTiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) if (e.isFile() && e.name.endsWith('.pbf')) n++;
  return n;
}

/**
 * Turns an OpenStreetMap extract into the portal's vector tiles with tilemaker and our
 * configuration: layers water, water_name, waterway, park, transportation (roads by class,
 * railways), building (z14), poi (stations), place. The new tiles replace the old ones in one
 * rename, so a running portal serves either the old set or the new one, never half of each.
 *
 * @example await importExtract({ input: 'zhejiang.osm.pbf', mapDir: '.data/map' })
 */
export async function importExtract(opts: ImportOptions): Promise<MapImport> {
  const say = opts.say ?? (() => undefined);
  const started = Date.now();
  const { bbox, count } = await inspect(opts.input);
  say(`读取 ${opts.input}：${count.nodes} 个节点、${count.ways} 条线、${count.relations} 个关系，范围 ${bbox.join(', ')}`);

  await mkdir(opts.mapDir, { recursive: true });
  const target = join(opts.mapDir, TILES_FOLDER);
  const building = join(opts.mapDir, `${TILES_FOLDER}.new-${process.pid}`);
  const old = join(opts.mapDir, `${TILES_FOLDER}.old-${process.pid}`);
  await rm(building, { recursive: true, force: true });
  try {
    await run(
      'tilemaker',
      [
        ...['--input', opts.input, '--output', building, '--config', TILEMAKER_CONFIG, '--process', TILEMAKER_PROCESS],
        ...['--bbox', bbox.join(','), ...(opts.store ? ['--store', opts.store] : [])],
      ],
      'tilemaker',
    );
  } catch (err) {
    await rm(building, { recursive: true, force: true });
    if (err instanceof MapImportError) throw err;
    const r = err as Partial<ToolResult>;
    throw new MapImportError(
      'TILEMAKER_FAILED',
      `生成瓦片失败（tilemaker：${firstLines(`${r.stderr ?? ''}\n${r.stdout ?? ''}`.slice(-2000))}）`,
      {
        cause: err,
      },
    );
  }
  const meta = JSON.parse(await readFile(join(building, 'metadata.json'), 'utf8')) as {
    minzoom: number;
    maxzoom: number;
    vector_layers?: { id: string }[];
  };
  const result: MapImport = {
    source: basename(opts.input),
    importedAt: new Date().toISOString(),
    bounds: bbox,
    minzoom: meta.minzoom,
    maxzoom: meta.maxzoom,
    layers: (meta.vector_layers ?? []).map((l) => l.id),
    tiles: await countTiles(building),
    gzip: true,
  };
  await writeFile(join(building, IMPORT_FILE), JSON.stringify(result, null, 2));
  const had = await stat(target).catch(() => undefined);
  if (had) await rename(target, old);
  await rename(building, target);
  await rm(old, { recursive: true, force: true });
  say(
    `写入 ${result.tiles} 个瓦片（${result.minzoom}–${result.maxzoom} 级，图层 ${result.layers.join('、')}）到 ${target}，用时 ${((Date.now() - started) / 1000).toFixed(1)} 秒`,
  );
  return result;
}
