/**
 * MSISDN → dense subscriber index, as an open-addressing hash table in typed arrays: no per-entry
 * objects for the GC to walk (a Map of millions of entries costs GC time, DESIGN.md), ~20 bytes per
 * subscriber. Numbers are stored as doubles (11 digits fit exactly); 0 marks an empty slot.
 */
export class SubscriberIndex {
  private keys: Float64Array;
  private values: Int32Array;
  private mask: number;
  private used = 0;

  constructor(capacity = 1 << 16) {
    let cap = 1 << 4;
    while (cap < capacity * 2) cap <<= 1;
    this.keys = new Float64Array(cap);
    this.values = new Int32Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.used;
  }

  get bytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  private static hash(n: number): number {
    const lo = n >>> 0,
      hi = (n / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  /** The index of a number, or -1. */
  get(n: number): number {
    let i = SubscriberIndex.hash(n) & this.mask;
    for (;;) {
      const k = this.keys[i];
      if (k === n) return this.values[i];
      if (k === 0) return -1;
      i = (i + 1) & this.mask;
    }
  }

  /** Stores `n → value` (n must be absent). */
  set(n: number, value: number): void {
    if ((this.used + 1) * 4 > this.keys.length * 3) this.grow();
    let i = SubscriberIndex.hash(n) & this.mask;
    while (this.keys[i] !== 0) i = (i + 1) & this.mask;
    this.keys[i] = n;
    this.values[i] = value;
    this.used++;
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Float64Array(keys.length * 2);
    this.values = new Int32Array(keys.length * 2);
    this.mask = this.keys.length - 1;
    this.used = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) this.set(keys[i], values[i]);
  }
}
