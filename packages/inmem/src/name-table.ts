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

/**
 * Words per position in a table's `#words`: the hash mark (0: an empty position), the key's
 * length, then the key's first `INLINE_UNITS` UTF-16 code units, two to a word.
 */
const WORDS = 12;
const INLINE_UNITS = (WORDS - 2) * 2;
/** Elements per position in a table's `#refs`: key, value, shown, tag. */
const REFS = 4;
/**
 * Small, because a store with one or two records per tenancy has a table for each: at eight
 * positions a table with one key took about 560 bytes more than a `Map`'s entry (scratch, 20k
 * tenancies of one resource: 1,905 bytes per resource against 1,344), at two about 40 (1,386).
 */
const MIN_CAPACITY = 2;
/**
 * V8 allows an array about 2^27 elements long (pushing past that aborts the process, as 4 ×
 * 2^25 `#refs` elements do), so a table has at most 2^24 positions and holds at most 2^23 keys,
 * half a Map's limit. A store of one type and tenancy that large would take some 9 GB of heap,
 * twice Node's default. Set refuses a key beyond that, with a RangeError, before changing
 * anything.
 */
const MAX_CAPACITY = 2 ** 24;

/**
 * A hash table of string keys: the last level of the point index, which holds one entry per
 * record (a million, in the benchmarks), so every point read and every CAS check looks a key up
 * in it.
 *
 * At a million records a lookup is bound by cache and TLB misses, each a few hundred
 * nanoseconds, and the layout is chosen to take as few as possible, and none that waits on
 * another:
 * - A Map keeps its buckets, its entries and its keys in three places, and walks a bucket's
 *   chain comparing strings: four misses or more, one after the other.
 * - Open addressing with the hash, key and value side by side in one array (this table until
 *   2026-11-28) takes two: the position, then the key string it points to, to compare.
 * - Here each position's hash, key length and the key's first `INLINE_UNITS` code units sit in
 *   a typed array (`#words`), so a lookup compares the whole key (up to 20 code units, which
 *   covers most names) in that run of memory, without following a pointer. The key, value and
 *   what a read is shown sit at the same position of a second array (`#refs`): a second miss,
 *   but one whose address does not depend on the first, so the processor overlaps the two.
 *   A longer key is compared in full through `#refs` as well: the dependent miss again.
 *
 * Measured at a million records, fresh keys read uniformly at random (scratch benchmark, one
 * process, interleaved): 1.15M lookups/s against 0.66M/s for one array of `[hash, key, value,
 * shown, tag]`. The cost is memory: 64 bytes per position against 20, about 110 bytes more per
 * key at half full.
 *
 * Beside each value the table keeps what a read of the key is shown (`R`) and a tag that the
 * read must match, both given by the owner on every `set`, so a read need not touch the value:
 * the point index's value is a slot, which holds the record and the group version a read
 * checks, and which the write path needs.
 *
 * At most half full: it doubles when it would be fuller, and halves when it is less than an
 * eighth full, so that a store that shrinks gives the memory back. A delete shifts the entries
 * after it back (no tombstones), so lookups never slow down with churn.
 */
export class NameTable<V, R = V> {
  /** `WORDS` per position: hash + 1 (0: empty), key length, the key's first code units. */
  #words: Int32Array;
  /** `REFS` per position: `[key, value, shown, tag]`. */
  #refs: unknown[];
  #mask: number;
  #size = 0;

  constructor(
    private readonly hash: StringHash = seededHash,
    /** The most positions it may grow to: a power of two (smaller in tests). */
    private readonly maxCapacity = MAX_CAPACITY,
  ) {
    this.#mask = MIN_CAPACITY - 1;
    this.#words = new Int32Array(MIN_CAPACITY * WORDS);
    this.#refs = emptyRefs(MIN_CAPACITY);
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
    return this.#refs[this.#position(this.hash(key), key) * REFS + 1] as V | undefined;
  }

  /** What a read of `key` is shown, if `key` is stored and was stored with tag `tag`. */
  shown(key: string, tag: string): R | undefined {
    const at = this.#position(this.hash(key), key) * REFS;
    const refs = this.#refs;
    return refs[at] !== undefined && refs[at + 3] === tag ? (refs[at + 2] as R) : undefined;
  }

  /**
   * Stores `value` under `key`, and what a read of it is shown, tagged `tag`, in place of what is
   * there. The table keeps `key` itself, in place of the equal string it kept before, so that an
   * owner that passes the name of the record it stores keeps no older copy alive. The owner sets
   * a key again whenever `shown` or `tag` changes.
   */
  set(key: string, value: V, shown: R, tag: string): void {
    const h = this.hash(key);
    let i = this.#position(h, key);
    if (this.#words[i * WORDS] === 0) {
      if ((this.#size + 1) * 2 > this.capacity) {
        this.#resize(this.capacity * 2);
        i = this.#position(h, key);
      }
      this.#place(i, h, key);
      this.#size++;
    }
    const at = i * REFS;
    this.#refs[at] = key;
    this.#refs[at + 1] = value;
    this.#refs[at + 2] = shown;
    this.#refs[at + 3] = tag;
  }

  /** Removes `key`, if stored; whether it was. */
  delete(key: string): boolean {
    const words = this.#words;
    const refs = this.#refs;
    let hole = this.#position(this.hash(key), key);
    if (words[hole * WORDS] === 0) return false;
    // Backward shift: move each later entry of the run into the hole, unless the hole lies before
    // its home position (it would then no longer be found from there).
    for (let i = this.#next(hole); words[i * WORDS] !== 0; i = this.#next(i)) {
      const home = this.#home((words[i * WORDS] as number) - 1);
      const movable = hole <= i ? home <= hole || home > i : home <= hole && home > i;
      if (!movable) continue;
      words.copyWithin(hole * WORDS, i * WORDS, (i + 1) * WORDS);
      for (let k = 0; k < REFS; k++) refs[hole * REFS + k] = refs[i * REFS + k];
      hole = i;
    }
    words[hole * WORDS] = 0;
    for (let k = 0; k < REFS; k++) refs[hole * REFS + k] = undefined;
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
    const words = this.#words;
    const mark = h + 1;
    const length = key.length;
    for (let i = this.#home(h); ; i = this.#next(i)) {
      const at = i * WORDS;
      const stored = words[at];
      if (stored === 0) return i;
      if (stored === mark && words[at + 1] === length && this.#holds(i, key)) return i;
    }
  }

  /** Whether position `i`, whose hash and length are `key`'s, holds `key`. */
  #holds(i: number, key: string): boolean {
    const words = this.#words;
    const at = i * WORDS + 2;
    const length = key.length;
    const units = length < INLINE_UNITS ? length : INLINE_UNITS;
    for (let k = 0; k < units; k += 2) {
      if (words[at + (k >> 1)] !== pair(key, k, units)) return false;
    }
    return length <= INLINE_UNITS || this.#refs[i * REFS] === key;
  }

  /** Writes the hash `h`, length and first code units of `key` into the empty position `i`. */
  #place(i: number, h: number, key: string): void {
    const words = this.#words;
    const at = i * WORDS;
    const units = key.length < INLINE_UNITS ? key.length : INLINE_UNITS;
    words[at] = h + 1;
    words[at + 1] = key.length;
    for (let k = 0; k < units; k += 2) words[at + 2 + (k >> 1)] = pair(key, k, units);
  }

  /** Where the run of an entry whose hash is `h` starts. */
  #home(h: number): number {
    return h & this.#mask;
  }

  /** The position after `i`, wrapping around. */
  #next(i: number): number {
    return (i + 1) & this.#mask;
  }

  #resize(capacity: number): void {
    if (capacity > this.maxCapacity) {
      throw new RangeError(`a NameTable holds at most ${this.maxCapacity / 2} keys`);
    }
    const oldWords = this.#words;
    const oldRefs = this.#refs;
    this.#words = new Int32Array(capacity * WORDS);
    this.#refs = emptyRefs(capacity);
    this.#mask = capacity - 1;
    for (let j = 0; j < oldRefs.length / REFS; j++) {
      const mark = oldWords[j * WORDS] as number;
      if (mark === 0) continue;
      const key = oldRefs[j * REFS] as string;
      const i = this.#position(mark - 1, key);
      this.#words.set(oldWords.subarray(j * WORDS, (j + 1) * WORDS), i * WORDS);
      for (let k = 0; k < REFS; k++) this.#refs[i * REFS + k] = oldRefs[j * REFS + k];
    }
  }
}

/** Code units `k` and `k + 1` of `key` as one word (the second 0 past `units`). */
function pair(key: string, k: number, units: number): number {
  const low = key.charCodeAt(k);
  return k + 1 < units ? low | (key.charCodeAt(k + 1) << 16) : low;
}

/**
 * `capacity` empty positions, built by pushing so that V8 keeps the array packed (a holey one
 * checks the prototype chain on every read of a hole).
 */
function emptyRefs(capacity: number): unknown[] {
  const refs: unknown[] = [];
  for (let i = 0; i < capacity; i++) refs.push(undefined, undefined, undefined, undefined);
  return refs;
}
