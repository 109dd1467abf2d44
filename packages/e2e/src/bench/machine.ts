import { cpus, loadavg, release, totalmem } from "node:os";

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
