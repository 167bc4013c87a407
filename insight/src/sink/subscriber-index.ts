/**
 * Subscriber number → dense index, as an open-addressing hash table in typed arrays.
 *
 * Why not a `Map<number, number>`: MSISDNs (~1.4e10) are not small integers, so V8 keeps each key
 * as a heap number; with a million subscribers a Map lookup measured ~2.8 µs here (and a `set`
 * ~5 µs) under load — more than everything else the sink does per event. Linear probing over a
 * Float64Array costs one or two cache misses instead.
 */
export class SubscriberIndex {
  private keys: Float64Array;
  private values: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.keys = new Float64Array(n);
    this.values = new Int32Array(n);
    this.mask = n - 1;
  }

  /** The index of `sub` (a positive integer below 2⁵³), or -1. */
  get(sub: number): number {
    const keys = this.keys;
    const mask = this.mask;
    for (let h = hash(sub) & mask; ; h = (h + 1) & mask) {
      const k = keys[h]!;
      if (k === sub) return this.values[h]!;
      if (k === 0) return -1;
    }
  }

  /** Sets the index of `sub` (a positive integer below 2⁵³; 0 marks an empty slot). */
  set(sub: number, index: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    const mask = this.mask;
    for (let h = hash(sub) & mask; ; h = (h + 1) & mask) {
      const k = keys[h]!;
      if (k === sub) {
        this.values[h] = index;
        return;
      }
      if (k === 0) {
        keys[h] = sub;
        this.values[h] = index;
        this.size++;
        return;
      }
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Float64Array(oldKeys.length * 2);
    this.values = new Int32Array(oldKeys.length * 2);
    this.mask = this.keys.length - 1;
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) if (oldKeys[i] !== 0) this.set(oldKeys[i]!, oldValues[i]!);
  }
}

/** Mixes both 32-bit halves of an integer below 2⁵³ (murmur3's finaliser). */
function hash(x: number): number {
  let h = (x >>> 0) ^ Math.imul((x / 4294967296) >>> 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
