import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Where the test extract's station is: Hangzhou railway station (城站). */
export const TEST_STATION = { name: '杭州站', lng: 120.1822, lat: 30.2437 } as const;
/** A point inside the test extract's lake (West Lake). */
export const TEST_LAKE_POINT = { lng: 120.145, lat: 30.245 } as const;
/** A point on the lake's island (小瀛洲): land, not water. */
export const TEST_ISLAND_POINT = { lng: 120.148, lat: 30.238 } as const;

type Tags = Record<string, string>;
const tagXml = (tags: Tags) =>
  Object.entries(tags)
    .map(([k, v]) => `<tag k="${k}" v="${v}"/>`)
    .join('');

/**
 * A small OpenStreetMap extract around West Lake, for tests: the lake (a multipolygon with an
 * island, natural=water, name 西湖), a primary road and a residential street, a railway line and the station 杭州站, a
 * building, and the place node 杭州. Written as OSM XML and turned into .osm.pbf by `osmium cat`.
 *
 * @returns the .osm.pbf path
 */
export async function writeTestExtract(dir: string): Promise<string> {
  const nodes: string[] = [];
  const ways: string[] = [];
  let id = 0;
  const node = (lng: number, lat: number, tags: Tags = {}) => {
    id++;
    nodes.push(`<node id="${id}" version="1" lat="${lat}" lon="${lng}">${tagXml(tags)}</node>`);
    return id;
  };
  let wayId = 0;
  const way = (points: [number, number][], tags: Tags, closed = false) => {
    const refs = points.map(([lng, lat]) => node(lng, lat));
    if (closed) refs.push(refs[0]!);
    ways.push(`<way id="${++wayId}" version="1">${refs.map((r) => `<nd ref="${r}"/>`).join('')}${tagXml(tags)}</way>`);
    return wayId;
  };
  // West Lake, roughly, as in OpenStreetMap: a multipolygon relation, its shore the outer ring and
  // an island (小瀛洲) an inner one.
  const shore = way(
    [
      [120.132, 30.232],
      [120.158, 30.232],
      [120.162, 30.248],
      [120.156, 30.262],
      [120.138, 30.262],
      [120.13, 30.248],
    ],
    {},
    true,
  );
  const island = way(
    [
      [TEST_ISLAND_POINT.lng - 0.004, TEST_ISLAND_POINT.lat - 0.003],
      [TEST_ISLAND_POINT.lng + 0.004, TEST_ISLAND_POINT.lat - 0.003],
      [TEST_ISLAND_POINT.lng + 0.004, TEST_ISLAND_POINT.lat + 0.003],
      [TEST_ISLAND_POINT.lng - 0.004, TEST_ISLAND_POINT.lat + 0.003],
    ],
    {},
    true,
  );
  const relations = [
    `<relation id="1" version="1"><member type="way" ref="${shore}" role="outer"/><member type="way" ref="${island}" role="inner"/>${tagXml(
      {
        type: 'multipolygon',
        natural: 'water',
        water: 'lake',
        name: '西湖',
        'name:en': 'West Lake',
      },
    )}</relation>`,
  ];
  way(
    [
      [120.163, 30.225],
      [120.166, 30.245],
      [120.17, 30.27],
    ],
    { highway: 'primary', name: '南山路' },
  );
  way(
    [
      [120.166, 30.245],
      [120.182, 30.2437],
    ],
    { highway: 'residential', name: '清泰街' },
  );
  way(
    [
      [120.15, 30.2],
      [120.182, 30.2437],
      [120.2, 30.3],
    ],
    { railway: 'rail', name: '沪昆铁路' },
  );
  way(
    [
      [120.1815, 30.2432],
      [120.1829, 30.2432],
      [120.1829, 30.2442],
      [120.1815, 30.2442],
    ],
    { building: 'train_station', name: '杭州站' },
    true,
  );
  node(TEST_STATION.lng, TEST_STATION.lat, {
    railway: 'station',
    public_transport: 'station',
    name: TEST_STATION.name,
    'name:en': 'Hangzhou',
  });
  node(120.16, 30.27, { place: 'city', name: '杭州' });
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="geo-alert test">
<bounds minlat="30.19" minlon="120.12" maxlat="30.31" maxlon="120.21"/>
${nodes.join('\n')}
${ways.join('\n')}
${relations.join('\n')}
</osm>
`;
  const osm = join(dir, 'west-lake.osm');
  const pbf = join(dir, 'west-lake.osm.pbf');
  await writeFile(osm, xml);
  await promisify(execFile)('osmium', ['cat', '--overwrite', osm, '-o', pbf]);
  return pbf;
}
