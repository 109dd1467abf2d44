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
// alternating which goes first, so drift in the machine's load hits both alike. Prints one
// JSON document: every figure of both, and raftstore / etcd ratios. Each figure also says how
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
  processesCpuMs,
  progress,
  stopChildrenOnInterrupt,
} from "./machine.js";

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

/** raftstore / etcd, rounded; above 1 means raftstore is higher. */
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

interface Figure {
  clients: number;
  raftstore: LoadResult;
  etcd: LoadResult;
  /** raftstore / etcd; cpuPerOperation below 1 means raftstore spent less CPU per operation. */
  ratio: { throughput: number; p50: number; p99: number; cpuPerOperation: number };
}

let etcd: EtcdCluster | undefined;
let raftstore: RaftstoreCluster | undefined;
const targets: KvTarget[] = [];
const results: Record<string, Figure> = {};
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
  for (const target of targets) {
    progress(`preloading ${settings.keys} keys into ${target.name}`);
    await preloadKeys(target, settings);
    progress(`warming ${target.name} up: every workload for ${settings.clusterWarmupMs} ms`);
    await warmUp(target, settings);
  }
  for (const [index, [name, workload, clients]] of figures.entries()) {
    const order = index % 2 === 0 ? [etcdTarget, raftstoreTarget] : [raftstoreTarget, etcdTarget];
    const measured: Record<string, LoadResult> = {};
    for (const target of order) {
      progress(`${name} (${clients} client${clients === 1 ? "" : "s"}) on ${target.name}`);
      const result = await runWorkload(target, workload, clients, settings, {
        clusterCpuMs: clusterCpuMs.get(target),
      });
      measured[target.name] = result;
      progress(`  ${describeResult(result)}`);
    }
    const r = measured.raftstore as LoadResult;
    const e = measured.etcd as LoadResult;
    results[name] = {
      clients,
      raftstore: r,
      etcd: e,
      ratio: {
        throughput: ratio(r.throughput, e.throughput),
        p50: ratio(r.latencyMs.p50, e.latencyMs.p50),
        p99: ratio(r.latencyMs.p99, e.latencyMs.p99),
        cpuPerOperation: ratio(r.clusterCpuPerOperationUs, e.clusterCpuPerOperationUs),
      },
    };
  }
} finally {
  for (const target of targets) target.close();
  await raftstore?.close({ graceful: true });
  await etcd?.close();
}
if (profileDir !== undefined) progress(`CPU profiles of the raftstore nodes are in ${profileDir}`);

// The product's goal at 64 clients: throughput at least etcd's, p99 no worse.
const at64 = (name: string) => results[name] as Figure;
const goal = Object.fromEntries(
  ["concurrentWrites", "linearizableReads", "serializableReads"].map((name) => [
    name,
    {
      throughputAtLeastEtcd: at64(name).ratio.throughput >= 1,
      p99AtMostEtcd: at64(name).ratio.p99 <= 1,
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
      settings,
      results,
      goal,
    },
    null,
    2,
  )}\n`,
);
