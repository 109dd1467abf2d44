// npm run bench:compare: raftstore and etcd side by side, on this machine, in one run.
//
// Needs etcd on the PATH (Debian: apt-get install etcd-server etcd-client); installs nothing and
// exits with code 2 and instructions when it is missing. Starts a 3-member etcd cluster and a
// 3-node raftstore cluster on loopback ports, each in its own temporary data directories, both
// with their default settings and fsync on, and drives both with the same harness, client
// stack and protocol: gRPC over cleartext HTTP/2 with protobuf (connect's client over the lean
// unary transport of @raftstore/forwarding, see load/kv-target.ts), etcd through its own
// etcdserverpb.KV API, raftstore through its ResourceService; one HTTP/2
// connection per client, clients spread round robin over the members; 256-byte values on the
// same 1,000 key names; a warm-up, then several seconds per figure. The two clusters run
// side by side (idle when not measured); each figure is measured on both back to back,
// alternating which goes first, so drift in the machine's load hits both alike, and the whole
// set of figures is measured RAFTSTORE_BENCH_ROUNDS times (default 3). Prints one JSON
// document: every round of every figure on both, each round's raftstore / etcd ratios, and the
// median of each ratio over the rounds, on which the goal is judged. Each figure also says how
// much CPU the cluster's processes used per operation (read from /proc at both ends of the
// measured window): on a machine both clusters share, it says where a throughput gap comes from.
//
// RAFTSTORE_BENCH_WARMUP_MS / RAFTSTORE_BENCH_DURATION_MS change the time per figure, and
// RAFTSTORE_BENCH_CLUSTER_WARMUP_MS each fresh cluster's warm-up (per workload, before any figure);
// RAFTSTORE_BENCH_CPU_PROFILE_DIR=dir writes a V8 CPU profile of every raftstore node there.
import { execFileSync } from "node:child_process";
import { isEtcdNotFoundError } from "../errors.js";
import { type EtcdCluster, findEtcd, startEtcdCluster } from "../etcd-cluster.js";
import { createEtcdTarget } from "../load/etcd-target.js";
import type { KvTarget } from "../load/kv-target.js";
import { createRaftstoreTarget } from "../load/raftstore-target.js";
import type { LoadResult } from "../load/run-load.js";
import { preloadKeys, runWorkload, type WorkloadName, warmUp } from "../load/workloads.js";
import { type RaftstoreCluster, startRaftstoreCluster } from "../raftstore-cluster.js";
import {
  benchSettingsFromEnv,
  describeMachine,
  describeResult,
  envInteger,
  processesCpuMs,
  progress,
  stopChildrenOnInterrupt,
} from "./machine.js";
import { describeNodes, type FigureResult, withNodeStats } from "./node-stats.js";
import { etcdFirst, type FigureSummary, type Round, summarizeRounds } from "./rounds.js";

stopChildrenOnInterrupt();

let etcdBinary: string;
try {
  etcdBinary = await findEtcd();
} catch (error) {
  if (!isEtcdNotFoundError(error)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
const etcdVersion = execFileSync(etcdBinary, ["--version"], { encoding: "utf8" })
  .split("\n")[0]
  ?.replace(/^etcd Version:\s*/, "");

const { settings, profileDir, nodeArgs } = benchSettingsFromEnv();
const figures: Array<[string, WorkloadName, number]> = [
  ["sequentialWrites", "writes", 1],
  ["concurrentWrites", "writes", 64],
  ["concurrentCas", "cas", 64],
  ["linearizableReads", "linearizableReads", 64],
  ["serializableReads", "serializableReads", 64],
];

const rounds = envInteger("RAFTSTORE_BENCH_ROUNDS", 3);

let etcd: EtcdCluster | undefined;
let raftstore: RaftstoreCluster | undefined;
const targets: KvTarget[] = [];
const measured = new Map<string, Round[]>(figures.map(([name]) => [name, []]));
try {
  progress(`starting a 3-member etcd cluster (${etcdVersion})`);
  etcd = await startEtcdCluster({ etcdBinary });
  progress("starting a 3-node raftstore cluster");
  raftstore = await startRaftstoreCluster({
    nodeArgs,
    compiled: true,
  });
  await raftstore.leader();
  await raftstore.waitForCaughtUp();
  const etcdTarget = createEtcdTarget(etcd.urls);
  const raftstoreTarget = createRaftstoreTarget(raftstore.urls);
  const raftstoreMembers = raftstore.members;
  const etcdPids = etcd.pids;
  const clusterCpuMs = new Map([
    [etcdTarget, processesCpuMs(() => etcdPids)],
    [raftstoreTarget, processesCpuMs(() => raftstoreMembers.map((m) => m.pid))],
  ]);
  targets.push(etcdTarget, raftstoreTarget);
  // A node that dies stops the run with the end of its log; close() then keeps its directory.
  await Promise.race([
    raftstore.failOnExit("keep running through the benchmark"),
    measure(etcdTarget, raftstoreTarget, clusterCpuMs),
  ]);
} finally {
  for (const target of targets) target.close();
  await raftstore?.close({ graceful: true });
  await etcd?.close();
}

/** Preloads and warms up both targets, then measures every figure in every round. */
async function measure(
  etcdTarget: KvTarget,
  raftstoreTarget: KvTarget,
  clusterCpuMs: Map<KvTarget, () => number>,
): Promise<void> {
  for (const target of targets) {
    progress(`preloading ${settings.keys} keys into ${target.name}`);
    await preloadKeys(target, settings);
    progress(`warming ${target.name} up: every workload for ${settings.clusterWarmupMs} ms`);
    await warmUp(target, settings);
  }
  for (let round = 0; round < rounds; round++) {
    for (const [index, [name, workload, clients]] of figures.entries()) {
      const order = etcdFirst(index, round)
        ? [etcdTarget, raftstoreTarget]
        : [raftstoreTarget, etcdTarget];
      const results: Record<string, FigureResult> = {};
      for (const target of order) {
        progress(
          `round ${round + 1}/${rounds}: ${name} (${clients} client${clients === 1 ? "" : "s"}) on ${target.name}`,
        );
        // The nodes' own figures come from raftstore's /metrics; etcd's are not read.
        const urls = target === raftstoreTarget ? (raftstore?.urls ?? []) : [];
        const { result, nodes } = await withNodeStats(urls, () =>
          runWorkload(target, workload, clients, settings, {
            clusterCpuMs: clusterCpuMs.get(target),
          }),
        );
        results[target.name] = nodes.length === 0 ? result : { ...result, nodes };
        progress(`  ${describeResult(result)}`);
        if (nodes.length > 0) progress(`  nodes: ${describeNodes(nodes)}`);
      }
      measured.get(name)?.push({
        raftstore: results.raftstore as LoadResult,
        etcd: results.etcd as LoadResult,
      });
    }
  }
}
if (profileDir !== undefined) progress(`CPU profiles of the raftstore nodes are in ${profileDir}`);

const results: Record<string, FigureSummary> = Object.fromEntries(
  figures.map(([name, , clients]) => [name, summarizeRounds(clients, measured.get(name) ?? [])]),
);

// The product's goal at 64 clients: throughput at least etcd's, p99 no worse, judged on the
// median of the rounds' ratios.
const at64 = (name: string) => results[name] as FigureSummary;
const goal = Object.fromEntries(
  ["concurrentWrites", "linearizableReads", "serializableReads"].map((name) => [
    name,
    {
      throughputAtLeastEtcd: at64(name).ratio.throughput >= 1,
      p99AtMostEtcd: at64(name).ratio.p99 <= 1,
      roundsMeetingGoal: `${at64(name).roundsMeetingGoal} of ${rounds}`,
    },
  ]),
);

process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: "raftstore vs etcd",
      machine: describeMachine(),
      etcd: etcdVersion,
      clusters: "3 processes each on 127.0.0.1, default settings, fsync on",
      protocol:
        "gRPC over cleartext HTTP/2, protobuf; the same client for both (connect's, over " +
        "@raftstore/forwarding's lean unary transport); " +
        "one connection per client, round robin over the members",
      settings: { ...settings, rounds },
      results,
      goal,
    },
    null,
    2,
  )}\n`,
);
