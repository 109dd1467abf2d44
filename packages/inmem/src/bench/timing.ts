// Small helpers shared by the benchmarks.

/**
 * A clock of the CPU time this process spends (all threads: the main one and V8's garbage
 * collector helpers). The machine is shared with other jobs, so wall-clock time would mostly
 * measure how long the process waited for a core; CPU time measures what the work costs.
 */
export function cpuClock(): () => number {
  const started = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(started);
    return (used.user + used.system) / 1e6;
  };
}

/** The median of `values`. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** The `p`-th percentile (0..100) of `values`, which it sorts in place. */
export function percentile(values: Float64Array, p: number): number {
  values.sort();
  return values[Math.min(values.length - 1, Math.floor((values.length * p) / 100))] as number;
}

/** `value` rounded to `digits` significant decimals, for readable JSON. */
export function round(value: number, digits = 0): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** A deterministic pseudo-random sequence (LCG), so that every run does the same work. */
export function lcg(seed: number): (bound: number) => number {
  let state = seed >>> 0;
  return (bound) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.floor((state / 4294967296) * bound);
  };
}

/** Runs a full garbage collection if the process was started with --expose-gc. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

/** Heap in use, in bytes, after a full collection. */
export function heapUsed(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Lets the event loop run (watch consumers, timers) before the benchmark continues. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
