// npm run bench:cluster (the same as npm run bench -w @raftstore/e2e)
//
// A 3-process raftstore cluster on loopback ports, default settings (fsync on, as always),
// driven through its public gRPC API by the load harness the etcd comparison uses: 256-byte
// values on 1,000 keys, every client on its own HTTP/2 connection, clients spread round robin
// over the members. Figures: writes (blanket Write), strong and eventual reads, each at 1 and
// 64 concurrent clients, and compare-and-swap at 64. Prints one JSON document on stdout;
// progress goes to stderr.
//
// RAFTSTORE_BENCH_WARMUP_MS / RAFTSTORE_BENCH_DURATION_MS change the time per figure, and
// RAFTSTORE_BENCH_CLUSTER_WARMUP_MS the fresh cluster's warm-up (per workload, before any figure);
// RAFTSTORE_BENCH_KEYS changes the key space (1: every writer contends for one key);
// RAFTSTORE_BENCH_CPU_PROFILE_DIR=dir writes a V8 CPU profile of every node there;
// RAFTSTORE_BENCH_FIGURES=eventualReads:64,writes measures only the figures named (a name alone
// takes both client counts), so that such a profile covers one workload.

import type { KvTarget } from "../load/kv-target.js";
import { createRaftstoreTarget } from "../load/raftstore-target.js";
import { preloadKeys, runWorkload, type WorkloadName, warmUp } from "../load/workloads.js";
import { startRaftstoreCluster } from "../raftstore-cluster.js";
import {
  benchSettingsFromEnv,
  describeMachine,
  describeResult,
  processesCpuMs,
  progress,
  selectFigures,
  stopChildrenOnInterrupt,
} from "./machine.js";
import { describeNodes, type FigureResult, withNodeStats } from "./node-stats.js";

stopChildrenOnInterrupt();

const { settings, profileDir, nodeArgs } = benchSettingsFromEnv();
const allFigures: Array<[string, WorkloadName, number]> = [
  ["writes", "writes", 1],
  ["writes", "writes", 64],
  ["cas", "cas", 64],
  ["strongReads", "linearizableReads", 1],
  ["strongReads", "linearizableReads", 64],
  ["eventualReads", "serializableReads", 1],
  ["eventualReads", "serializableReads", 64],
];
const figures = selectFigures(allFigures, process.env.RAFTSTORE_BENCH_FIGURES);

progress("starting a 3-node raftstore cluster");
const cluster = await startRaftstoreCluster({
  nodeArgs,
  compiled: true,
});
const results: Record<string, Record<string, FigureResult>> = {};
let target: KvTarget | undefined;
try {
  // A node that dies stops the run with the end of its log; close() then keeps its directory.
  await Promise.race([cluster.failOnExit("keep running through the benchmark"), measure()]);
} finally {
  target?.close();
  await cluster.close({ graceful: true });
}

/** Preloads and warms up the cluster, then measures every figure. */
async function measure(): Promise<void> {
  await cluster.leader();
  await cluster.waitForCaughtUp();
  const kv = createRaftstoreTarget(cluster.urls);
  target = kv;
  progress(`preloading ${settings.keys} keys`);
  await preloadKeys(kv, settings);
  progress(`warming up: every workload for ${settings.clusterWarmupMs} ms`);
  await warmUp(kv, settings);
  const clusterCpuMs = processesCpuMs(() => cluster.members.map((m) => m.pid));
  for (const [name, workload, clients] of figures) {
    progress(`${name}, ${clients} client${clients === 1 ? "" : "s"}`);
    const { result, nodes } = await withNodeStats(cluster.urls, () =>
      runWorkload(kv, workload, clients, settings, { clusterCpuMs }),
    );
    results[name] = { ...results[name], [String(clients)]: { ...result, nodes } };
    progress(`  ${describeResult(result)}`);
    progress(`  nodes: ${describeNodes(nodes)}`);
  }
}
if (profileDir !== undefined) progress(`CPU profiles of the nodes are in ${profileDir}`);

process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: "raftstore cluster",
      machine: describeMachine(),
      cluster: "3 node processes on 127.0.0.1, default settings, fsync on",
      client:
        "gRPC (HTTP/2, protobuf): connect's client over @raftstore/forwarding's lean unary transport, one connection per client",
      settings,
      results,
    },
    null,
    2,
  )}\n`,
);
