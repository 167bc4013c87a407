/**
 * Just enough of the Mapbox Vector Tile format (2.1) for the map API: reading the named points of an
 * imported tile (to find which of the platform's places the import already names) and writing a
 * tile of points (the towers). Points only: lines and polygons are tilemaker's business.
 */

/** Tile extent: coordinates inside a tile run 0…4096, as tilemaker writes them. */
export const EXTENT = 4096;

export interface TilePoint {
  lng: number;
  lat: number;
  properties: Record<string, string | number>;
}

/** lng/lat → the tile pixel (0…extent, may fall outside for a point beyond the tile's edge). */
export function toTilePixel(lng: number, lat: number, z: number, x: number, y: number): [number, number] {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  const px = ((lng + 180) / 360) * n;
  const py = ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n;
  return [Math.round((px - x) * EXTENT), Math.round((py - y) * EXTENT)];
}

/** A tile pixel → lng/lat. */
export function fromTilePixel(px: number, py: number, z: number, x: number, y: number, extent = EXTENT): [number, number] {
  const n = 2 ** z;
  const lng = ((x + px / extent) / n) * 360 - 180;
  const lat = (Math.atan(Math.sinh(Math.PI * (1 - (2 * (y + py / extent)) / n))) * 180) / Math.PI;
  return [lng, lat];
}

/** The lng/lat box of a tile: west, south, east, north. */
export function tileBounds(z: number, x: number, y: number): [number, number, number, number] {
  const [w, n] = fromTilePixel(0, 0, z, x, y);
  const [e, s] = fromTilePixel(EXTENT, EXTENT, z, x, y);
  return [w, s, e, n];
}

// ---- writing ----

class Writer {
  private bytes: number[] = [];
  varint(v: number): this {
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
    return this;
  }
  key(tag: number, wire: number): this {
    return this.varint(tag * 8 + wire);
  }
  bytesField(tag: number, b: Uint8Array | number[]): this {
    this.key(tag, 2).varint(b.length);
    for (const x of b) this.bytes.push(x);
    return this;
  }
  double(tag: number, v: number): this {
    const d = Buffer.alloc(8);
    d.writeDoubleLE(v);
    this.key(tag, 1);
    for (const x of d) this.bytes.push(x);
    return this;
  }
  string(tag: number, s: string): this {
    return this.bytesField(tag, Buffer.from(s, 'utf8'));
  }
  packed(tag: number, values: number[]): this {
    const w = new Writer();
    for (const v of values) w.varint(v);
    return this.bytesField(tag, w.done());
  }
  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const zigzag = (n: number) => (n << 1) ^ (n >> 31);

/** One layer of points as an MVT tile (not compressed). Numbers are written as doubles, text as strings. */
export function encodePointTile(layer: string, points: readonly TilePoint[], z: number, x: number, y: number): Uint8Array {
  const keys: string[] = [];
  const values: (string | number)[] = [];
  const keyIndex = new Map<string, number>();
  const valueIndex = new Map<string, number>();
  const index = <T>(list: T[], map: Map<string, number>, v: T, id: string) => {
    let i = map.get(id);
    if (i === undefined) map.set(id, (i = list.push(v) - 1));
    return i;
  };
  const l = new Writer().key(15, 0).varint(2).string(1, layer);
  for (const p of points) {
    const tags: number[] = [];
    for (const [k, v] of Object.entries(p.properties)) {
      tags.push(index(keys, keyIndex, k, k), index(values, valueIndex, v, `${typeof v}:${v}`));
    }
    const [px, py] = toTilePixel(p.lng, p.lat, z, x, y);
    const f = new Writer()
      .packed(2, tags)
      .key(3, 0)
      .varint(1) // POINT
      .packed(4, [9, zigzag(px), zigzag(py)]); // MoveTo, one point
    l.bytesField(2, f.done());
  }
  for (const k of keys) l.string(3, k);
  for (const v of values) {
    l.bytesField(4, (typeof v === 'string' ? new Writer().string(1, v) : new Writer().double(3, v)).done());
  }
  l.key(5, 0).varint(EXTENT);
  return new Writer().bytesField(3, l.done()).done();
}

// ---- reading ----

interface Field {
  tag: number;
  wire: number;
  value: number;
  bytes?: Uint8Array;
}

function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (i >= b.length) throw new Error('truncated varint');
      const byte = b[i++]!;
      v += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return v;
      shift += 7;
    }
  };
  while (i < b.length) {
    const key = varint();
    const tag = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) out.push({ tag, wire, value: varint() });
    else if (wire === 2) {
      const len = varint();
      out.push({ tag, wire, value: len, bytes: b.subarray(i, i + len) });
      i += len;
    } else if (wire === 1) {
      out.push({ tag, wire, value: 0, bytes: b.subarray(i, i + 8) });
      i += 8;
    } else if (wire === 5) {
      out.push({ tag, wire, value: 0, bytes: b.subarray(i, i + 4) });
      i += 4;
    } else throw new Error(`unknown wire type ${wire}`);
  }
  return out;
}

function unpacked(b: Uint8Array): number[] {
  const out: number[] = [];
  let v = 0;
  let shift = 0;
  for (const byte of b) {
    v += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) {
      out.push(v);
      v = 0;
      shift = 0;
    } else shift += 7;
  }
  return out;
}

function decodeValue(b: Uint8Array): string | number | boolean | undefined {
  const [f] = fields(b);
  if (!f) return undefined;
  const view = f.bytes && new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
  switch (f.tag) {
    case 1:
      return Buffer.from(f.bytes!).toString('utf8');
    case 2:
      return view!.getFloat32(0, true);
    case 3:
      return view!.getFloat64(0, true);
    case 4:
    case 5:
      return f.value;
    case 6:
      return f.value % 2 ? -(f.value + 1) / 2 : f.value / 2;
    case 7:
      return f.value !== 0;
    default:
      return undefined;
  }
}

/**
 * The point features of the named layers of one tile, with their properties. A point feature's
 * first point only (tilemaker writes one per feature: centroids, nodes).
 */
export function readPoints(
  tile: Uint8Array,
  layers: ReadonlySet<string>,
  z: number,
  x: number,
  y: number,
): (TilePoint & { layer: string })[] {
  const out: (TilePoint & { layer: string })[] = [];
  for (const lf of fields(tile)) {
    if (lf.tag !== 3 || !lf.bytes) continue;
    const parts = fields(lf.bytes);
    const name = parts.find((p) => p.tag === 1)?.bytes;
    const layer = name && Buffer.from(name).toString('utf8');
    if (!layer || !layers.has(layer)) continue;
    const keys = parts.filter((p) => p.tag === 3).map((p) => Buffer.from(p.bytes!).toString('utf8'));
    const values = parts.filter((p) => p.tag === 4).map((p) => decodeValue(p.bytes!));
    const extent = parts.find((p) => p.tag === 5)?.value ?? EXTENT;
    for (const ff of parts.filter((p) => p.tag === 2)) {
      const f = fields(ff.bytes!);
      if ((f.find((p) => p.tag === 3)?.value ?? 0) !== 1) continue;
      const geom = unpacked(f.find((p) => p.tag === 4)?.bytes ?? new Uint8Array());
      if (geom.length < 3 || (geom[0]! & 7) !== 1) continue;
      const dz = (n: number) => (n >>> 1) ^ -(n & 1);
      const [lng, lat] = fromTilePixel(dz(geom[1]!), dz(geom[2]!), z, x, y, extent);
      const tags = unpacked(f.find((p) => p.tag === 2)?.bytes ?? new Uint8Array());
      const properties: Record<string, string | number> = {};
      for (let t = 0; t + 1 < tags.length; t += 2) {
        const v = values[tags[t + 1]!];
        if (typeof v === 'string' || typeof v === 'number') properties[keys[tags[t]!]!] = v;
      }
      out.push({ layer, lng, lat, properties });
    }
  }
  return out;
}
