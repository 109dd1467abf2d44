/**
 * The set of operations linearized so far on the search's current path, as a bitset over
 * operations numbered in call order, with a compact exact key for memoization.
 *
 * Why the key is small: number operations by call time and let `high` be one past the largest
 * member. Every operation below `high` that is not a member (a "hole") was still running when
 * the operation at `high - 1` was called: if it had returned before that call, it would precede
 * that member in real time and be a member itself. So the holes are bounded by the concurrency
 * of the history plus its unknown-outcome operations, not by its length, and (high, holes)
 * describes the set exactly in a few characters even for partitions of 10⁴ operations. An
 * exact key matters: a hashed one could collide and prune a branch that holds the only
 * linearization, turning a linearizable history into a false failure.
 */
export class LinearizedSet {
  readonly #words: Uint32Array;
  /** The smallest non-member: every operation below it is a member. */
  #low = 0;
  /** One past the largest member (0 when empty). */
  #high = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#words = new Uint32Array(Math.ceil(capacity / 32) + 1);
  }

  /** How many operations are members. */
  get size(): number {
    return this.#size;
  }

  has(op: number): boolean {
    return ((this.#words[op >>> 5] >>> (op & 31)) & 1) === 1;
  }

  /** Adds `op`, which must not be a member. */
  add(op: number): void {
    this.#words[op >>> 5] |= 1 << (op & 31);
    this.#size++;
    if (op + 1 > this.#high) this.#high = op + 1;
    if (op === this.#low) this.#low = this.#nextNonMember(op + 1);
  }

  /** Removes `op`, which must be a member. */
  remove(op: number): void {
    this.#words[op >>> 5] &= ~(1 << (op & 31));
    this.#size--;
    if (op < this.#low) this.#low = op;
    if (op + 1 === this.#high) this.#high = this.#previousMember(op) + 1;
  }

  /**
   * A string that is equal for two sets exactly when they have the same members: `high`, the
   * number of holes, then each hole, every number as two UTF-16 code units (so that the key is
   * self-delimiting and the caller may append anything to it).
   */
  key(): string {
    const high = this.#high;
    const codes: number[] = [high & 0xffff, high >>> 16, 0, 0];
    let holes = 0;
    // Every operation below #low is a member, so the holes lie in [#low, high).
    if (this.#low < high) {
      const lastWord = (high - 1) >>> 5;
      for (let word = this.#low >>> 5; word <= lastWord; word++) {
        let missing = ~this.#words[word] >>> 0;
        while (missing !== 0) {
          const op = word * 32 + 31 - Math.clz32(missing & -missing);
          if (op >= high) break;
          codes.push(op & 0xffff, op >>> 16);
          holes++;
          missing &= missing - 1;
        }
      }
    }
    codes[2] = holes & 0xffff;
    codes[3] = holes >>> 16;
    return codesToString(codes);
  }

  #nextNonMember(from: number): number {
    let op = from;
    while (this.has(op)) op++;
    return op;
  }

  /** The largest member below `below`, or -1. */
  #previousMember(below: number): number {
    let op = below - 1;
    while (op >= 0 && !this.has(op)) op--;
    return op;
  }
}

// String.fromCharCode(...codes) would overflow the stack on very long keys.
function codesToString(codes: number[]): string {
  const chunk = 4096;
  if (codes.length <= chunk) return String.fromCharCode(...codes);
  let text = "";
  for (let start = 0; start < codes.length; start += chunk) {
    text += String.fromCharCode(...codes.slice(start, start + chunk));
  }
  return text;
}
