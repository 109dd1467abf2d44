// Time, as the stores see it: only to measure syncs and to notice one that takes too long. It
// is an interface so that a simulation can drive the stores with a virtual clock (the stores
// never read the wall clock, never sleep and never start a timer of their own).

/** A monotonic clock with one-shot timers. */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never goes backwards. */
  now(): number;
  /** Calls `callback` once, `ms` milliseconds from now; the returned function cancels it. */
  setTimeout(callback: () => void, ms: number): () => void;
}

/**
 * The machine's monotonic clock (performance.now). Its timers are unref'd: a pending slow-sync
 * watchdog never keeps the process alive.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};
