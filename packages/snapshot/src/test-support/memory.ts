import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// A full garbage collection on demand, so that a sample measures what is still reachable and
// not what the collector has yet to get to. `--expose-gc` set at runtime applies to new
// contexts, hence the detour through one.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** Heap and ArrayBuffer memory in use after a full collection. */
export function liveBytes(): number {
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/**
 * How much more memory than at its start `run` typically held: the median over the points
 * where `run` calls `sample()`. A leak grows with the input, so it moves the median as surely
 * as the peak; the median is not moved by the test runner's own transient allocations in the
 * same process (a few MB now and then), which the peak would count.
 */
export async function typicalGrowth(run: (sample: () => void) => Promise<void>): Promise<number> {
  const baseline = liveBytes();
  const samples: number[] = [];
  await run(() => {
    samples.push(liveBytes() - baseline);
  });
  if (samples.length === 0) throw new Error("run() took no sample");
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}
