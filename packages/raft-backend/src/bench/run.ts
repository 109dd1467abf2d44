// Benchmarks of the Raft-backed Backend, printed as one JSON document on stdout:
// - writeCAS/s and strong reads/s on a leader and through a forwarding follower, with the fake
//   cluster of the conformance tests (the leader applies synchronously: this measures the
//   Backend, the log entry codec and forwarding, not consensus; the engine has its own bench);
// - snapshot encode and decode MB/s of 100k and 1M small resources through the store and codec.
import { create } from "@bufbuild/protobuf";
import { ResourceSchema } from "@raftstore/proto";
import { ReadConsistency } from "@raftstore/storage";
import { Backend } from "../backend.js";
import { encodeWriteEntry } from "../log-entry.js";
import { silentLogger } from "../logger.js";
import { encodeStoreSnapshot, restoreStoreSnapshot } from "../snapshot.js";
import { startFakeCluster } from "../test-support/fake-cluster.js";

const log = (message: string) => process.stderr.write(`${message}\n`);
const resource = (i: number) =>
  create(ResourceSchema, {
    id: {
      uid: "01J00000000000000000000000",
      name: `artist-${i}`,
      type: { group: "demo", groupVersion: "v1", kind: "Artist" },
      tenancy: { partition: "default", namespace: "default" },
    },
    generation: "01J00000000000000000000001",
    metadata: { owner: "bench", team: "storage" },
  });

/** Runs `op` with `concurrency` workers for about `ms`; returns ops/s and latency percentiles. */
async function measure(ms: number, concurrency: number, op: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  let next = 0;
  const deadline = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await op(next++);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => Number((latencies[Math.floor(latencies.length * p)] ?? 0).toFixed(3));
  return {
    opsPerSecond: Math.round(latencies.length / seconds),
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
  };
}

let unique = 0;

async function backendFigures() {
  const cluster = await startFakeCluster({ maxLagMs: 0 });
  try {
    const figures: Record<string, unknown> = {};
    for (const [name, backend] of [
      ["leader", cluster.leader],
      ["follower", cluster.follower],
    ] as const) {
      for (const concurrency of [1, 64]) {
        log(`writeCAS on the ${name}, ${concurrency} in flight`);
        figures[`writeCAS ${name} c${concurrency}`] = await measure(2000, concurrency, () =>
          backend.writeCAS(resource(unique++)),
        );
      }
      await backend.writeCAS(resource(-1)).catch(() => undefined);
      const id = resource(-1).id;
      for (const concurrency of [1, 64]) {
        log(`strong read on the ${name}, ${concurrency} in flight`);
        figures[`strongRead ${name} c${concurrency}`] = await measure(2000, concurrency, () =>
          backend.read(ReadConsistency.Strong, id as never),
        );
      }
    }
    return figures;
  } finally {
    await cluster.close();
  }
}

async function snapshotFigures(count: number) {
  const source = new Backend(undefined, silentLogger);
  for (let i = 0; i < count; i++) source.apply(encodeWriteEntry(resource(i)), BigInt(i + 1));
  log(`snapshot of ${count} resources`);
  let bytes = 0;
  const chunks: Uint8Array[] = [];
  let t = performance.now();
  for await (const chunk of encodeStoreSnapshot(source.store, { index: BigInt(count), term: 1n })) {
    bytes += chunk.byteLength;
    chunks.push(chunk);
  }
  const encodeSeconds = (performance.now() - t) / 1000;
  const target = new Backend(undefined, silentLogger);
  t = performance.now();
  await restoreStoreSnapshot(target.store, chunks);
  const decodeSeconds = (performance.now() - t) / 1000;
  const mb = bytes / 1e6;
  return {
    resources: count,
    megabytes: Number(mb.toFixed(1)),
    encodeMBps: Number((mb / encodeSeconds).toFixed(1)),
    decodeAndRestoreMBps: Number((mb / decodeSeconds).toFixed(1)),
    encodeResourcesPerSecond: Math.round(count / encodeSeconds),
    decodeAndRestoreResourcesPerSecond: Math.round(count / decodeSeconds),
  };
}

const sizes = process.argv.includes("--quick") ? [10_000] : [100_000, 1_000_000];
const result = {
  benchmark: "@raftstore/raft-backend",
  machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
  backend: await backendFigures(),
  snapshot: [] as unknown[],
};
for (const size of sizes) result.snapshot.push(await snapshotFigures(size));
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
