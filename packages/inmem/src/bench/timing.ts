// Small helpers shared by the benchmarks.
import { PerformanceObserver, performance } from "node:perf_hooks";

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

/**
 * Memory in use, in bytes, after a full collection: the V8 heap, and the array buffers outside it
 * (the point index keeps its keys' hashes and first characters in typed arrays).
 */
export function memoryInUse(): number {
  collectGarbage();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** Lets the event loop run (watch consumers, timers) before the benchmark continues. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A span of wall time, in `performance.now()` milliseconds. */
export interface Span {
  start: number;
  end: number;
}

/**
 * The main thread's garbage-collection pauses (perf_hooks "gc" entries), to tell what share of a
 * phase's time the collector took. The benchmarks run synchronously, and the entries arrive only
 * once they yield: a phase records the spans it timed, then awaits `shareOf` them.
 */
export class GcPauses {
  readonly #pauses: Span[] = [];
  readonly #observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      this.#pauses.push({ start: entry.startTime, end: entry.startTime + entry.duration });
    }
  });

  constructor() {
    this.#observer.observe({ entryTypes: ["gc"] });
  }

  /** The pause time inside `spans`, in ms, of the pauses delivered so far. */
  #pausedMs(spans: Span[]): number {
    let paused = 0;
    for (const pause of this.#pauses) {
      for (const span of spans) {
        paused += Math.max(0, Math.min(pause.end, span.end) - Math.max(pause.start, span.start));
      }
    }
    return paused;
  }

  /** The share of `spans`' time that the main thread was paused, once the pauses have arrived. */
  async shareOf(spans: Span[]): Promise<number> {
    // Node hands each pause over in two turns of the event loop (a native callback, then the
    // observer's): one `setImmediate` is not enough, a short timer is.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const total = spans.reduce((sum, span) => sum + span.end - span.start, 0);
    return total > 0 ? this.#pausedMs(spans) / total : 0;
  }

  close(): void {
    this.#observer.disconnect();
  }
}

/** Times `run` in wall time, adding its span to `spans`. */
export function timedSpan(spans: Span[], run: () => void): void {
  const start = performance.now();
  run();
  spans.push({ start, end: performance.now() });
}
