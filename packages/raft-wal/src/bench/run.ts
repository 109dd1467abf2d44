// The write-ahead log's benchmark: `npm run bench -w @raftstore/raft-wal [-- --dir D --seconds S]`.
// Prints one JSON document on stdout (progress goes to stderr). In one run, on the disk under the
// data directory (a temporary directory by default):
// - the raw fdatasync rate: 256-byte appends, each followed by fdatasync, with synchronous system
//   calls and nothing else in between (what the disk can do), and the same through
//   node:fs/promises (what a Node process can do without blocking its event loop);
// - appends per second and latency percentiles of the log with 256-byte entries, with 1 and with
//   64 concurrent appenders (each appends one entry, waits for it, appends the next).
// The measurements are interleaved in rounds, so that a disk that is busier at one moment (the
// machine is shared) weighs on all of them alike. Numbers are indicative; the targets are ratios.
import { closeSync, fdatasyncSync, openSync, writeSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { cpus, platform, release, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createEntry, EntryType } from "@raftstore/raft";
import { type DataDir, openDataDir } from "../data-dir.js";
import { silentLogger } from "../logger.js";

const { values } = parseArgs({
  options: { dir: { type: "string" }, seconds: { type: "string", default: "3" } },
});
const seconds = Number(values.seconds);
const entryBytes = 256;
const base = values.dir ?? (await fsp.mkdtemp(join(tmpdir(), "raft-wal-bench-")));
const ownsBase = values.dir === undefined;
await fsp.mkdir(base, { recursive: true });
const progress = (message: string) => process.stderr.write(`${message}\n`);

interface Latencies {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly samples: number;
}

/** Latencies gathered over several slices of time. */
class Samples {
  readonly latencies: number[] = [];
  elapsedMs = 0;

  summary(): Latencies {
    const sorted = this.latencies.slice().sort((a, b) => a - b);
    const at = (q: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return {
      perSecond: round((sorted.length / this.elapsedMs) * 1000),
      p50Ms: round(at(0.5), 4),
      p99Ms: round(at(0.99), 4),
      samples: sorted.length,
    };
  }
}

function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

const data = Buffer.alloc(entryBytes, 7);

/** 256-byte appends, each fdatasync'ed, with synchronous calls: the disk's own rate. */
function rawFdatasync(
  fd: number,
  samples: Samples,
  sliceMs: number,
  position: { at: number },
): void {
  const started = performance.now();
  while (performance.now() - started < sliceMs) {
    const t0 = performance.now();
    writeSync(fd, data, 0, data.length, position.at);
    fdatasyncSync(fd);
    samples.latencies.push(performance.now() - t0);
    position.at += data.length;
  }
  samples.elapsedMs += performance.now() - started;
}

/** The same through node:fs/promises: write and fdatasync each run in libuv's thread pool. */
async function nodeFdatasync(
  handle: fsp.FileHandle,
  samples: Samples,
  sliceMs: number,
  position: { at: number },
) {
  const started = performance.now();
  while (performance.now() - started < sliceMs) {
    const t0 = performance.now();
    await handle.write(data, 0, data.length, position.at);
    await handle.datasync();
    samples.latencies.push(performance.now() - t0);
    position.at += data.length;
  }
  samples.elapsedMs += performance.now() - started;
}

/** A data directory and the index of the next entry to append to it. */
interface Target {
  readonly dir: DataDir;
  next: number;
}

/** Appends for `sliceMs` with `appenders` concurrent appenders, each waiting for its append. */
async function walAppends(target: Target, appenders: number, samples: Samples, sliceMs: number) {
  const started = performance.now();
  const ends = started + sliceMs;
  const syncsBefore = target.dir.metrics.syncs;
  const worker = async () => {
    while (performance.now() < ends) {
      const entry = createEntry(target.next++, 1, EntryType.Normal, data);
      const t0 = performance.now();
      await target.dir.log.append([entry]);
      samples.latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: appenders }, worker));
  samples.elapsedMs += performance.now() - started;
  return target.dir.metrics.syncs - syncsBefore;
}

const rounds = 6;
const sliceMs = (seconds * 1000) / rounds;
progress(
  `raft-wal bench in ${base}: ${rounds} rounds of ${sliceMs} ms per measurement, interleaved`,
);
const raw = new Samples();
const node = new Samples();
const single = new Samples();
const concurrent = new Samples();
let concurrentSyncs = 0;
const rawFd = openSync(join(base, "raw"), "w");
const nodeHandle = await fsp.open(join(base, "node"), "w");
const singleDir = {
  dir: await openDataDir(join(base, "wal-1"), { logger: silentLogger }),
  next: 1,
};
const concurrentDir = {
  dir: await openDataDir(join(base, "wal-64"), { logger: silentLogger }),
  next: 1,
};
const rawPosition = { at: 0 };
const nodePosition = { at: 0 };
// Warm up every path once (JIT, first segment, page cache) before measuring.
await walAppends(singleDir, 1, new Samples(), 200);
await walAppends(concurrentDir, 64, new Samples(), 200);
for (let round = 0; round < rounds; round++) {
  progress(`round ${round + 1} of ${rounds}`);
  rawFdatasync(rawFd, raw, sliceMs, rawPosition);
  await nodeFdatasync(nodeHandle, node, sliceMs, nodePosition);
  await walAppends(singleDir, 1, single, sliceMs);
  concurrentSyncs += await walAppends(concurrentDir, 64, concurrent, sliceMs);
}
closeSync(rawFd);
await nodeHandle.close();
await singleDir.dir.close();
await concurrentDir.dir.close();
if (ownsBase) await fsp.rm(base, { recursive: true, force: true });

const results = {
  raw: raw.summary(),
  node: node.summary(),
  single: single.summary(),
  concurrent: {
    ...concurrent.summary(),
    entriesPerSync: round(concurrent.latencies.length / concurrentSyncs),
  },
};
const ratios = {
  singleAppenderP50VsRawFdatasyncP50: round(results.single.p50Ms / results.raw.p50Ms, 2),
  singleAppenderP50VsNodeFdatasyncP50: round(results.single.p50Ms / results.node.p50Ms, 2),
  appenders64VsAppenders1Throughput: round(
    results.concurrent.perSecond / results.single.perSecond,
    1,
  ),
};
const report = {
  machine: {
    cpus: cpus().length,
    node: process.version,
    platform: `${platform()} ${release()}`,
  },
  dir: values.dir ?? "a temporary directory",
  seconds,
  entryBytes,
  rawFdatasync: results.raw,
  nodeFdatasync: results.node,
  log: { appenders1: results.single, appenders64: results.concurrent },
  ratios,
  targets: {
    "single appender p50 <= 1.2x raw fdatasync p50":
      ratios.singleAppenderP50VsRawFdatasyncP50 <= 1.2,
    "single appender p50 <= 1.2x node:fs/promises fdatasync p50":
      ratios.singleAppenderP50VsNodeFdatasyncP50 <= 1.2,
    "64 appenders >= 20x single appender throughput":
      ratios.appenders64VsAppenders1Throughput >= 20,
  },
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
