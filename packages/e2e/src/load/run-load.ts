import { Code, ConnectError } from "@connectrpc/connect";
import { sleep } from "../wait.js";
import { type LatencySummary, summarizeLatencies } from "./latency.js";

export interface RunLoadOptions {
  /** Concurrent clients; each has one operation in flight at a time (a closed loop). */
  clients: number;
  /** Run unmeasured first, so connections are open, code is optimized and caches are warm. */
  warmupMs: number;
  /** Then measure for this long. */
  durationMs: number;
  /**
   * One operation of client `client` (0-based): resolves when it succeeded, rejects when it
   * failed. `iteration` counts that client's operations from 0, warm-up included.
   */
  operation: (client: number, iteration: number) => Promise<void>;
  /** Milliseconds from any origin; default `performance.now`. Tests pass a virtual clock. */
  clock?: () => number;
  /** A failed operation's client waits this long before the next (default 10 ms): a cluster
   * that fails at once must not turn the harness into a busy loop. */
  pauseAfterErrorMs?: number;
  /**
   * CPU milliseconds the cluster's processes have used so far (all of them together), read at
   * the start and at the end of the window: the result then says how much CPU the cluster spent
   * per operation (`processesCpuMs` of `bench/machine.ts` reads it from /proc).
   */
  clusterCpuMs?: () => number;
}

/** What one measured run did. Throughput and latencies count successful operations only. */
export interface LoadResult {
  clients: number;
  /** The measured window, in seconds. */
  seconds: number;
  /** Operations that succeeded and completed inside the window. */
  operations: number;
  /** operations / seconds. */
  throughput: number;
  latencyMs: LatencySummary;
  /** Operations that failed inside the window, by code (or error name). */
  errors: Record<string, number>;
  /**
   * CPU seconds the harness process itself used per second of the window (1 = one core busy).
   * Near the number of cores, the client, not the cluster, limits the figures.
   */
  clientCpu: number;
  /**
   * With `clusterCpuMs`: CPU seconds the cluster's processes used per second of the window, and
   * CPU microseconds per successful operation. On a machine the harness and the cluster share,
   * a cluster that needs less CPU per operation does more on the same cores. NaN without it.
   */
  clusterCpu: number;
  clusterCpuPerOperationUs: number;
}

function errorLabel(error: unknown): string {
  if (error instanceof ConnectError) return Code[error.code] ?? String(error.code);
  return error instanceof Error ? error.name : typeof error;
}

/**
 * Runs `clients` closed-loop clients for `warmupMs + durationMs` and measures the last
 * `durationMs`: every operation that completes inside that window counts, with its latency.
 * This is the one harness every cluster benchmark and the etcd comparison use, so both sides
 * of a comparison are driven and timed the same way.
 */
export async function runLoad(options: RunLoadOptions): Promise<LoadResult> {
  if (!Number.isInteger(options.clients) || options.clients < 1) {
    throw new RangeError(`expected at least one client, got ${options.clients}`);
  }
  const now = options.clock ?? (() => performance.now());
  const pauseAfterErrorMs = options.pauseAfterErrorMs ?? 10;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const started = now();
  const windowStart = started + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  const clusterCpuMs = options.clusterCpuMs ?? (() => Number.NaN);
  let cpuAtStart: { usage: NodeJS.CpuUsage; cluster: number; at: number } | undefined;
  const cpuTimer = setTimeout(() => {
    cpuAtStart = { usage: process.cpuUsage(), cluster: clusterCpuMs(), at: performance.now() };
  }, options.warmupMs);

  const client = async (id: number) => {
    for (let iteration = 0; now() < windowEnd; iteration++) {
      const begin = now();
      try {
        await options.operation(id, iteration);
        const end = now();
        if (end >= windowStart && end <= windowEnd) latencies.push(end - begin);
      } catch (error) {
        const end = now();
        if (end >= windowStart && end <= windowEnd) {
          const label = errorLabel(error);
          errors[label] = (errors[label] ?? 0) + 1;
        }
        if (pauseAfterErrorMs > 0) await sleep(pauseAfterErrorMs);
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, id) => client(id)));
  clearTimeout(cpuTimer);
  const cpu = cpuAtStart === undefined ? undefined : process.cpuUsage(cpuAtStart.usage);
  const cpuSeconds = cpuAtStart === undefined ? 0 : (performance.now() - cpuAtStart.at) / 1000;
  const clusterMs = cpuAtStart === undefined ? Number.NaN : clusterCpuMs() - cpuAtStart.cluster;
  const seconds = options.durationMs / 1000;
  const operations = latencies.length;
  return {
    clients: options.clients,
    seconds,
    operations,
    throughput: Math.round((operations / seconds) * 10) / 10,
    latencyMs: summarizeLatencies(latencies),
    errors,
    clientCpu:
      cpu === undefined || cpuSeconds === 0
        ? Number.NaN
        : Math.round(((cpu.user + cpu.system) / 1e6 / cpuSeconds) * 100) / 100,
    clusterCpu:
      cpuSeconds === 0 ? Number.NaN : Math.round((clusterMs / 1000 / cpuSeconds) * 100) / 100,
    clusterCpuPerOperationUs:
      operations === 0 ? Number.NaN : Math.round((clusterMs * 1000) / operations),
  };
}
