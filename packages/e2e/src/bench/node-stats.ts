import type { LoadResult } from "../load/run-load.js";

// What each raftstore node's event loop went through during a figure, read from its /metrics
// (prom-client's default metrics): the worst delay of its event loop, and the time its garbage
// collector took. A round whose p99 jumps while the other rounds stay level can then be told
// apart: a node that stalled (a long GC, a long synchronous task) or the machine.

/** One node's figures for one window. */
export interface NodeWindowStats {
  /** The longest the event loop was late during the window (sampled every 10 ms), in ms. */
  eventLoopDelayMaxMs: number;
  /** Time spent in garbage collection during the window, in ms, by kind (major, minor, …). */
  gcMs: Record<string, number>;
}

/**
 * A benchmark figure with, for raftstore, each node's worst event-loop delay and GC time over
 * the figure (its warm-up included), in member order.
 */
export type FigureResult = LoadResult & { nodes?: Array<NodeWindowStats | undefined> };

/** What one scrape of a node's /metrics says about the event loop and the garbage collector. */
export interface NodeMetricsReading {
  eventLoopDelayMaxMs: number;
  /** Time spent in garbage collection since the process started, in ms, by kind. */
  gcTotalMs: Record<string, number>;
}

const round1 = (ms: number) => Math.round(ms * 10) / 10;

/** Reads the event loop's worst delay and the GC totals out of Prometheus text. */
export function parseNodeMetrics(text: string): NodeMetricsReading {
  const lag = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text);
  const gcTotalMs: Record<string, number> = {};
  for (const match of text.matchAll(
    /^nodejs_gc_duration_seconds_sum\{(?:[^}]*,)?kind="([^"]+)"[^}]*\} (\S+)$/gm,
  )) {
    gcTotalMs[match[1] as string] = Number(match[2]) * 1000;
  }
  return { eventLoopDelayMaxMs: lag === null ? Number.NaN : Number(lag[1]) * 1000, gcTotalMs };
}

/** The window between two readings of one node. */
export function windowStats(
  before: NodeMetricsReading,
  after: NodeMetricsReading,
): NodeWindowStats {
  const gcMs: Record<string, number> = {};
  for (const [kind, total] of Object.entries(after.gcTotalMs)) {
    gcMs[kind] = round1(total - (before.gcTotalMs[kind] ?? 0));
  }
  return { eventLoopDelayMaxMs: round1(after.eventLoopDelayMaxMs), gcMs };
}

/**
 * Measures `run` on every node of `urls`: a scrape before it (which also restarts the event
 * loop's histogram, as every scrape does) and one after. A node that cannot be scraped gives
 * no figures rather than failing the benchmark.
 */
export async function withNodeStats<T>(
  urls: readonly string[],
  run: () => Promise<T>,
): Promise<{ result: T; nodes: Array<NodeWindowStats | undefined> }> {
  const before = await Promise.all(urls.map(scrape));
  const result = await run();
  const after = await Promise.all(urls.map(scrape));
  const nodes = urls.map((_, i) => {
    const [a, b] = [before[i], after[i]];
    return a === undefined || b === undefined ? undefined : windowStats(a, b);
  });
  return { result, nodes };
}

async function scrape(url: string): Promise<NodeMetricsReading | undefined> {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) });
    return response.ok ? parseNodeMetrics(await response.text()) : undefined;
  } catch {
    return undefined;
  }
}

/** One line of progress: each node's worst event-loop delay and GC time. */
export function describeNodes(nodes: ReadonlyArray<NodeWindowStats | undefined>): string {
  return nodes
    .map((n) => {
      if (n === undefined) return "?";
      const gc = Object.values(n.gcMs).reduce((sum, ms) => sum + ms, 0);
      return `loop delay ≤ ${n.eventLoopDelayMaxMs} ms, GC ${round1(gc)} ms`;
    })
    .join("; ");
}
