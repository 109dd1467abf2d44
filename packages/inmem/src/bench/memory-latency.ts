import { lcg } from "./timing.js";

/**
 * The latency of a dependent random memory access over a working set of `megabytes`, in
 * nanoseconds: a pointer chase through a random cycle. It puts the store's figures in context —
 * a lookup in a million-record heap is a handful of such accesses, whatever the data structure.
 */
export function memoryLatencyNanos(megabytes: number): number {
  const slots = (megabytes * 1024 * 1024) / 4;
  const order = new Int32Array(slots);
  for (let i = 0; i < slots; i++) order[i] = i;
  const random = lcg(megabytes);
  for (let i = slots - 1; i > 0; i--) {
    const j = random(i + 1);
    const swap = order[i] as number;
    order[i] = order[j] as number;
    order[j] = swap;
  }
  const next = new Int32Array(slots);
  for (let i = 0; i < slots; i++) next[order[i] as number] = order[(i + 1) % slots] as number;
  const steps = 2_000_000;
  let at = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) at = next[at] as number;
  const nanos = Number(process.hrtime.bigint() - started) / steps;
  if (at < 0) throw new Error("unreachable: keeps the chase from being optimised away");
  return nanos;
}
