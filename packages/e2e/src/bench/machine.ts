import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { killAllChildren } from "../child-process.js";
import type { LoadResult } from "../load/run-load.js";
import { defaultWorkloadSettings } from "../load/workloads.js";

/** The 1-minute load average when the benchmark began: other work on the machine before it. */
const loadBefore = Math.round((loadavg()[0] ?? 0) * 100) / 100;

/** Where a benchmark ran, printed with its figures: numbers mean little without it. */
export function describeMachine() {
  const cores = cpus();
  return {
    cpus: cores.length,
    cpuModel: cores[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
    loadAverageBefore: loadBefore,
  };
}

/** User and system CPU a process has used, in ms (Linux: /proc, 100 ticks a second). */
export function processCpuMs(pid: number): number {
  const fields = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * A reading of the CPU a cluster's processes have used together, in ms, for `runWorkload`'s
 * `clusterCpuMs`. The pids are taken at each reading: a cluster whose members are restarted
 * between two readings gives a meaningless difference.
 */
export function processesCpuMs(pids: () => readonly (number | undefined)[]): () => number {
  return () => {
    let total = 0;
    for (const pid of pids()) if (pid !== undefined) total += processCpuMs(pid);
    return total;
  };
}

/** One figure's line of progress: throughput, latencies, and the CPU it took. */
export function describeResult(result: LoadResult): string {
  return [
    `${result.throughput}/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms`,
    `cluster CPU ${result.clusterCpu} cores, ${result.clusterCpuPerOperationUs} µs per operation`,
    `harness CPU ${result.clientCpu} cores`,
  ].join("; ");
}

/** Progress for humans, on stderr: stdout carries exactly one JSON document. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** A positive integer from the environment, or `fallback`. */
export function envInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`expected ${name} to be a positive integer, got "${raw}"`);
  }
  return value;
}

/** Ctrl-C takes the clusters a benchmark started down with it. */
export function stopChildrenOnInterrupt(): void {
  process.once("SIGINT", () => {
    killAllChildren();
    process.exit(130);
  });
}

/**
 * The workload settings, with RAFTSTORE_BENCH_WARMUP_MS, RAFTSTORE_BENCH_DURATION_MS,
 * RAFTSTORE_BENCH_CLUSTER_WARMUP_MS and RAFTSTORE_BENCH_KEYS (the key space: 1 makes every
 * write contend for one key) applied,
 * and the node arguments RAFTSTORE_BENCH_CPU_PROFILE_DIR asks for (a V8 CPU profile per node).
 */
export function benchSettingsFromEnv() {
  const profileDir = process.env.RAFTSTORE_BENCH_CPU_PROFILE_DIR;
  return {
    settings: {
      ...defaultWorkloadSettings,
      warmupMs: envInteger("RAFTSTORE_BENCH_WARMUP_MS", defaultWorkloadSettings.warmupMs),
      durationMs: envInteger("RAFTSTORE_BENCH_DURATION_MS", defaultWorkloadSettings.durationMs),
      clusterWarmupMs: envInteger(
        "RAFTSTORE_BENCH_CLUSTER_WARMUP_MS",
        defaultWorkloadSettings.clusterWarmupMs,
      ),
      keys: envInteger("RAFTSTORE_BENCH_KEYS", defaultWorkloadSettings.keys),
    },
    profileDir,
    nodeArgs: profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`],
  };
}

/**
 * The figures `selection` names, in their own order: a comma-separated list of `name` (every
 * client count of that figure) or `name:clients`. Undefined or empty selects them all; a name
 * that matches nothing is an error, so that a typo does not measure nothing.
 */
export function selectFigures<F extends readonly [string, string, number]>(
  figures: readonly F[],
  selection: string | undefined,
): F[] {
  if (selection === undefined || selection.trim() === "") return [...figures];
  const wanted = selection.split(",").map((part) => part.trim());
  for (const want of wanted) {
    if (!figures.some((figure) => matches(figure, want))) {
      const known = [...new Set(figures.map(([name, , clients]) => `${name}:${clients}`))];
      throw new Error(`no figure "${want}"; the figures are ${known.join(", ")}`);
    }
  }
  return figures.filter((figure) => wanted.some((want) => matches(figure, want)));
}

function matches([name, , clients]: readonly [string, string, number], want: string): boolean {
  return want === name || want === `${name}:${clients}`;
}
