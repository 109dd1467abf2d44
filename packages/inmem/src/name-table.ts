import { randomBytes } from "node:crypto";

/** A 30-bit hash of a string: what a `NameTable` keys its entries by. */
export type StringHash = (key: string) => number;

/**
 * The seed of `seededHash`, random per process: a client names its resources, and with a fixed
 * hash it could choose names that all land in one run of the table and make every lookup a
 * scan (V8 seeds its own string hashes for the same reason).
 */
const SEED = randomBytes(4).readInt32LE(0);

/**
 * FNV-1a over the UTF-16 code units, from a per-process seed, then murmur3's finalizer so that
 * the low bits (which pick the home position) depend on every character. Kept to 30 bits, so
 * that it is a small integer wherever V8 stores it.
 */
export function seededHash(key: string): number {
  let h = SEED;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & 0x3fffffff;
}

/** Entries per table: hash, key, value, side by side in one array. */
const WIDTH = 3;
const MIN_CAPACITY = 8;
/**
 * 3 × 2^25 elements is the longest array V8 allows below its limit (about 2^27), so a table holds
 * at most 2^24 keys: as many as a Map, whose limit it replaces. (A store that large would not
 * fit the heap anyway.) Set refuses a key beyond that before changing anything.
 */
const MAX_CAPACITY = 2 ** 25;

/**
 * A hash table of string keys: the last level of the point index, which holds one entry per
 * record (a million, in the benchmarks), so every point read and every CAS check looks a key up
 * in it.
 *
 * Why not a Map: at a million entries a lookup of a fresh string (a decoded request's) measured
 * 1.5 µs in a Map and 1.0 µs here, and 0.77 against 0.30 µs when the keys read were few enough
 * to stay in cache. A Map keeps its buckets, its entries and its keys in three places, each a
 * cache miss, and walks a bucket's chain comparing strings. Here each entry's hash, key and
 * value sit side by side in one array (open addressing, linear probing), so a lookup touches
 * one run of that array, compares the full key only when the hash matches, and then the key
 * string: two misses, where a Map takes four or more.
 *
 * At most half full: it doubles when it would be fuller, and halves when it is less than an
 * eighth full, so that a store that shrinks gives the memory back. A delete shifts the entries
 * after it back (no tombstones), so lookups never slow down with churn.
 */
export class NameTable<V> {
  /** `[hash, key, value]` per position; `key` undefined: an empty position. */
  #entries: unknown[];
  #mask: number;
  #size = 0;

  constructor(
    private readonly hash: StringHash = seededHash,
    /** The most positions it may grow to: a power of two (smaller in tests). */
    private readonly maxCapacity = MAX_CAPACITY,
  ) {
    this.#mask = MIN_CAPACITY - 1;
    this.#entries = emptyEntries(MIN_CAPACITY);
  }

  /** The number of keys. */
  get size(): number {
    return this.#size;
  }

  /** The number of positions: what the tests check for growing and shrinking. */
  get capacity(): number {
    return this.#mask + 1;
  }

  get(key: string): V | undefined {
    return this.#entries[this.#position(this.hash(key), key) + 2] as V | undefined;
  }

  /** Stores `value` under `key`, in place of what is there. The table keeps `key` itself. */
  set(key: string, value: V): void {
    const h = this.hash(key);
    let i = this.#position(h, key);
    if (this.#entries[i + 1] !== undefined) {
      this.#entries[i + 2] = value;
      return;
    }
    if ((this.#size + 1) * 2 > this.capacity) {
      this.#resize(this.capacity * 2);
      i = this.#position(h, key);
    }
    const entries = this.#entries;
    entries[i] = h;
    entries[i + 1] = key;
    entries[i + 2] = value;
    this.#size++;
  }

  /** Removes `key`, if stored; whether it was. */
  delete(key: string): boolean {
    const entries = this.#entries;
    let hole = this.#position(this.hash(key), key);
    if (entries[hole + 1] === undefined) return false;
    // Backward shift: move each later entry of the run into the hole, unless the hole lies before
    // its home position (it would then no longer be found from there).
    for (let i = this.#next(hole); entries[i + 1] !== undefined; i = this.#next(i)) {
      const home = this.#home(entries[i] as number);
      const movable = hole <= i ? home <= hole || home > i : home <= hole && home > i;
      if (!movable) continue;
      entries[hole] = entries[i];
      entries[hole + 1] = entries[i + 1];
      entries[hole + 2] = entries[i + 2];
      hole = i;
    }
    entries[hole] = 0;
    entries[hole + 1] = undefined;
    entries[hole + 2] = undefined;
    this.#size--;
    if (this.capacity > MIN_CAPACITY && this.#size * 8 < this.capacity) {
      this.#resize(this.capacity / 2);
    }
    return true;
  }

  /**
   * The position of `key` (whose hash is `h`), or, if it is not stored, the empty position that
   * ends its run: where it would go.
   */
  #position(h: number, key: string): number {
    const entries = this.#entries;
    let i = this.#home(h);
    for (;;) {
      const stored = entries[i + 1];
      if (stored === undefined || (entries[i] === h && stored === key)) return i;
      i = this.#next(i);
    }
  }

  /** Where the run of an entry whose hash is `h` starts. */
  #home(h: number): number {
    return (h & this.#mask) * WIDTH;
  }

  /** The position after `i`, wrapping around. */
  #next(i: number): number {
    i += WIDTH;
    return i === this.#entries.length ? 0 : i;
  }

  #resize(capacity: number): void {
    if (capacity > this.maxCapacity) {
      throw new RangeError(`a NameTable holds at most ${this.maxCapacity / 2} keys`);
    }
    const old = this.#entries;
    const entries = emptyEntries(capacity);
    this.#entries = entries;
    this.#mask = capacity - 1;
    for (let j = 0; j < old.length; j += WIDTH) {
      if (old[j + 1] === undefined) continue;
      const i = this.#position(old[j] as number, old[j + 1] as string);
      entries[i] = old[j];
      entries[i + 1] = old[j + 1];
      entries[i + 2] = old[j + 2];
    }
  }
}

/**
 * `capacity` empty positions, built by pushing so that V8 keeps the array packed (a holey one
 * checks the prototype chain on every read of a hole).
 */
function emptyEntries(capacity: number): unknown[] {
  const entries: unknown[] = [];
  for (let i = 0; i < capacity; i++) entries.push(0, undefined, undefined);
  return entries;
}
