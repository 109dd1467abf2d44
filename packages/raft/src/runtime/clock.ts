import { randomInt } from "node:crypto";

/** An opaque timer returned by `Clock.setTimeout`. */
export type TimerHandle = unknown;

/**
 * Time as the runtime sees it. The runtime reads no other clock and starts no other timers, so
 * a simulation can run it on virtual time.
 */
export interface Clock {
  /** Monotonic milliseconds (any origin). */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds; 0 means "after pending I/O", not synchronously. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: performance.now, timers, and setImmediate for a zero delay. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    return ms <= 0 ? { immediate: setImmediate(fn) } : { timeout: setTimeout(fn, ms) };
  },
  clearTimeout(handle) {
    const h = handle as { immediate?: NodeJS.Immediate; timeout?: NodeJS.Timeout };
    if (h.immediate !== undefined) clearImmediate(h.immediate);
    if (h.timeout !== undefined) clearTimeout(h.timeout);
  },
};

/** Uniform random numbers in [0, 1) from the operating system's generator. */
export function systemRandom(): number {
  return randomInt(0, 2 ** 47) / 2 ** 47;
}

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
