/**
 * The call and return events of one partition in time order, as a doubly linked list over
 * typed arrays, from which the search lifts an operation (both its events) when it linearizes
 * it and into which it puts the operation back when it backtracks.
 *
 * Operation `i` owns two entries: its call `2i` and its return `2i + 1`. Lifting unlinks both
 * but leaves their own links untouched, so that unlifting in exact reverse order (the search
 * is a stack) splices them back where they were in O(1) — Knuth's dancing links.
 *
 * Order: by time; at equal times calls before returns, so that operations that touch at one
 * timestamp are concurrent (closed intervals); then by operation, so that the order, and with
 * it the whole search, is deterministic.
 */
export class EntryList {
  /** The sentinel before the first entry. */
  readonly head: number;
  /** The sentinel after the last entry. */
  readonly tail: number;
  readonly #next: Int32Array;
  readonly #prev: Int32Array;

  /**
   * @param callTimes call time of each operation; finite.
   * @param returnTimes return time of each operation; >= its call, possibly Infinity.
   */
  constructor(callTimes: Float64Array, returnTimes: Float64Array) {
    const count = callTimes.length;
    this.head = 2 * count;
    this.tail = 2 * count + 1;
    this.#next = new Int32Array(2 * count + 2);
    this.#prev = new Int32Array(2 * count + 2);

    const timeOf = (entry: number) => (entry & 1 ? returnTimes[entry >> 1] : callTimes[entry >> 1]);
    const order = Array.from({ length: 2 * count }, (_, entry) => entry);
    order.sort((a, b) => {
      const ta = timeOf(a);
      const tb = timeOf(b);
      // Compared with < rather than subtraction: Infinity - Infinity is NaN.
      if (ta !== tb) return ta < tb ? -1 : 1;
      if ((a & 1) !== (b & 1)) return (a & 1) - (b & 1);
      return a - b;
    });

    let previous = this.head;
    for (const entry of order) {
      this.#next[previous] = entry;
      this.#prev[entry] = previous;
      previous = entry;
    }
    this.#next[previous] = this.tail;
    this.#prev[this.tail] = previous;
  }

  /** The first entry, or `tail` when every operation has been lifted. */
  first(): number {
    return this.#next[this.head];
  }

  /** The entry after `entry` (which must be in the list, or just unlifted). */
  after(entry: number): number {
    return this.#next[entry];
  }

  /** Whether every operation has been lifted. */
  isEmpty(): boolean {
    return this.#next[this.head] === this.tail;
  }

  /** Takes operation `op`'s call and return entries out of the list. */
  lift(op: number): void {
    this.#unlink(2 * op);
    this.#unlink(2 * op + 1);
  }

  /** Puts back the operation lifted last (the reverse of `lift`, in reverse order). */
  unlift(op: number): void {
    this.#relink(2 * op + 1);
    this.#relink(2 * op);
  }

  #unlink(entry: number): void {
    const next = this.#next[entry];
    const prev = this.#prev[entry];
    this.#next[prev] = next;
    this.#prev[next] = prev;
  }

  #relink(entry: number): void {
    this.#next[this.#prev[entry]] = entry;
    this.#prev[this.#next[entry]] = entry;
  }
}

/** Whether `entry` is a return (odd) rather than a call (even). */
export function isReturnEntry(entry: number): boolean {
  return (entry & 1) === 1;
}

/** The operation an entry belongs to. */
export function operationOf(entry: number): number {
  return entry >> 1;
}
