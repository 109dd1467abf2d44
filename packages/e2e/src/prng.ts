/**
 * A seeded pseudo-random generator (SplitMix32), so that a workload's choices (which operation,
 * which key, which node) can be replayed from the seed a failing run prints. Timing on real
 * processes is never reproducible; the choices are.
 */
export interface Prng {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** A new generator whose sequence depends on this one's seed and `stream` only. */
  fork(stream: number): Prng;
}

export function createPrng(seed: number): Prng {
  if (!Number.isInteger(seed)) throw new RangeError(`expected an integer seed, got ${seed}`);
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 0x1_0000_0000;
  };
  return {
    seed,
    next,
    int(n) {
      if (!Number.isInteger(n) || n <= 0)
        throw new RangeError(`expected a positive integer, got ${n}`);
      return Math.floor(next() * n);
    },
    pick(items) {
      if (items.length === 0) throw new RangeError("expected a non-empty array to pick from");
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
    fork(stream) {
      return createPrng((Math.imul(seed ^ 0x5bd1e995, 31) + stream * 0x27d4eb2d) | 0);
    },
  };
}
