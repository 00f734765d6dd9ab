/**
 * @module A hash table from byte strings (with a small integer tag, e.g. an identifier kind) to
 * unsigned 32-bit values, for looking fields up straight from a file's bytes: no string is made for
 * a key already in the table. Keys are copied into an arena of their own, so the bytes they were read
 * from can be reused.
 */

/** FNV-1a over the tag and the bytes `buf[s, e)`, finished by a multiply-shift mix. */
export function hashBytes(tag: number, buf: Uint8Array, s: number, e: number): number {
  let h = Math.imul(0x811c9dc5 ^ tag, 0x01000193);
  for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 12);
}

/** Byte-string keys (with a tag) to values; `get` gives -1 for a key not in the table. */
export class ByteKeys {
  /** Entry index + 1 by slot (0: empty). */
  private slots: Int32Array;
  private mask: number;
  private hashes: Int32Array;
  private tags: Int32Array;
  private starts: Int32Array;
  private lens: Int32Array;
  private values: Uint32Array;
  private arena: Uint8Array;
  private used = 0;
  /** The entry last found or added (-1: none). */
  private last = -1;
  size = 0;

  constructor(capacity = 1024) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.slots = new Int32Array(n);
    this.mask = n - 1;
    const m = n >> 1;
    this.hashes = new Int32Array(m);
    this.tags = new Int32Array(m);
    this.starts = new Int32Array(m);
    this.lens = new Int32Array(m);
    this.values = new Uint32Array(m);
    this.arena = new Uint8Array(m * 16);
  }

  /**
   * The value of the key `(tag, buf[s, e))` when it is the one last found or added, else -1: consecutive
   * records often repeat a key, and comparing its bytes costs less than hashing them.
   */
  recent(tag: number, buf: Uint8Array, s: number, e: number): number {
    const k = this.last;
    if (k < 0 || this.lens[k] !== e - s || this.tags[k] !== tag) return -1;
    const a = this.arena;
    for (let j = this.starts[k], x = s; x < e; j++, x++) if (a[j] !== buf[x]) return -1;
    return this.values[k];
  }

  /** The value of the key `(tag, buf[s, e))` whose hash (hashBytes) is `h`, or -1. */
  get(tag: number, buf: Uint8Array, s: number, e: number, h: number): number {
    const n = e - s;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k = slots[i] - 1;
      if (k < 0) return -1;
      if (this.hashes[k] !== h || this.lens[k] !== n || this.tags[k] !== tag) continue;
      const a = this.arena;
      let j = this.starts[k];
      let x = s;
      while (x < e && a[j] === buf[x]) {
        j++;
        x++;
      }
      if (x === e) {
        this.last = k;
        return this.values[k];
      }
    }
  }

  /** Adds a key not in the table. */
  set(tag: number, buf: Uint8Array, s: number, e: number, h: number, value: number): void {
    if ((this.size + 1) * 2 > this.slots.length) this.grow();
    const n = e - s;
    if (this.used + n > this.arena.length) {
      const a = new Uint8Array(Math.max(this.arena.length * 2, this.used + n));
      a.set(this.arena.subarray(0, this.used));
      this.arena = a;
    }
    this.arena.set(buf.subarray(s, e), this.used);
    const k = this.size++;
    this.hashes[k] = h;
    this.tags[k] = tag;
    this.starts[k] = this.used;
    this.lens[k] = n;
    this.values[k] = value;
    this.used += n;
    this.last = k;
    this.place(k);
  }

  private place(k: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = this.hashes[k] & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = k + 1;
  }

  private grow(): void {
    const n = this.slots.length * 2;
    const m = n >> 1;
    const widen = <T extends Int32Array | Uint32Array>(a: T, make: (len: number) => T): T => {
      const b = make(m);
      b.set(a);
      return b;
    };
    this.hashes = widen(this.hashes, (len) => new Int32Array(len));
    this.tags = widen(this.tags, (len) => new Int32Array(len));
    this.starts = widen(this.starts, (len) => new Int32Array(len));
    this.lens = widen(this.lens, (len) => new Int32Array(len));
    this.values = widen(this.values, (len) => new Uint32Array(len));
    this.slots = new Int32Array(n);
    this.mask = n - 1;
    for (let k = 0; k < this.size; k++) this.place(k);
  }
}
