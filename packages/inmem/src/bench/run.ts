// The store's benchmarks: CAS writes, point reads, lists, snapshot iteration and heap per resource
// at 10k, 100k and 1M resources, and watch fan-out to 1,000 watchers. Prints one JSON document on
// stdout, progress on stderr. Run: npm run bench -w @raftstore/inmem
import { spawnSync } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { benchFanOut } from "./fan-out-bench.js";
import { memoryLatencyNanos } from "./memory-latency.js";
import { benchStore } from "./store-bench.js";
import { round } from "./timing.js";

// Heap figures need a full collection before each reading: re-run under --expose-gc.
if (typeof (globalThis as { gc?: unknown }).gc !== "function") {
  const child = spawnSync(
    process.execPath,
    ["--expose-gc", ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  process.exit(child.status ?? 1);
}

const SIZES = (process.env.INMEM_BENCH_SIZES ?? "10000,100000,1000000").split(",").map(Number);
const log = (line: string) => process.stderr.write(`${line}\n`);

const loadBefore = loadavg()[0] ?? 0;
log("memory latency");
const memoryLatency = Object.fromEntries(
  [1, 16, 256].map((mb) => [`${mb}MB`, round(memoryLatencyNanos(mb), 1)]),
);
const stores = [];
for (const size of SIZES) {
  log(`store of ${size} resources`);
  stores.push(await benchStore(size, log));
}
log("watch fan-out");
const fanOut = await benchFanOut(log);
const first = stores[0];
const last = stores.at(-1);
const growth =
  first !== undefined && last !== undefined && last !== first
    ? {
        from: first.resources,
        to: last.resources,
        logRatio: round(Math.log(last.resources) / Math.log(first.resources), 2),
        writeCostRatio: round(first.casWritesPerSecond / last.casWritesPerSecond, 2),
        writeCostRatioHotSet: round(
          first.casWritesPerSecondHotSet / last.casWritesPerSecondHotSet,
          2,
        ),
      }
    : undefined;

process.stdout.write(
  `${JSON.stringify(
    {
      machine: {
        node: process.version,
        cpus: availableParallelism(),
        loadAverageAtStart: round(loadBefore, 2),
        loadAverageAtEnd: round(loadavg()[0] ?? 0, 2),
        randomAccessNanos: memoryLatency,
      },
      stores,
      writeCostGrowth: growth,
      fanOut,
    },
    null,
    2,
  )}\n`,
);
