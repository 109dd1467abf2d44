// npm run bench -w @raftstore/raft
//
// Three nodes in one process on the in-memory stores and network (raft-engine.md §2.6, tier B:
// the engine's own overhead, no disk, no sockets). Measures commits per second with one
// proposer awaiting each apply (latency-bound), and with 1,000 proposals kept in flight
// (throughput-bound: group commit and pipelining). Prints one JSON document on stdout; progress
// goes to stderr.
import { cpus } from "node:os";
import type { Entry, FSM, RaftNode } from "../index.js";
import {
  createMemoryNetwork,
  createRaftNode,
  MemoryLogStore,
  MemorySnapshotStore,
  MemoryStableStore,
} from "../index.js";

const payloadBytes = 16;
const ids = ["n1", "n2", "n3"];

/** A state machine that only counts: the benchmark measures the engine, not the application. */
class CountingFsm implements FSM {
  count = 0;
  apply(_entry: Entry): unknown {
    this.count++;
    return this.count;
  }
  async *snapshot(): AsyncIterable<Uint8Array> {
    yield new TextEncoder().encode(String(this.count));
  }
  async restore(contents: AsyncIterable<Uint8Array>): Promise<void> {
    let text = "";
    for await (const chunk of contents) text += new TextDecoder().decode(chunk);
    this.count = Number(text);
  }
}

async function startCluster(): Promise<{ nodes: RaftNode[]; leader: RaftNode }> {
  const network = createMemoryNetwork();
  const nodes = ids.map((id) =>
    createRaftNode({
      id,
      voters: ids,
      logStore: new MemoryLogStore(),
      stableStore: new MemoryStableStore(),
      snapshotStore: new MemorySnapshotStore(),
      transport: network.transport(id),
      fsm: new CountingFsm(),
      tickIntervalMs: 50,
      electionTicks: 20,
      heartbeatTicks: 2,
    }),
  );
  await Promise.all(nodes.map((n) => n.start()));
  nodes[0]?.stats();
  for (;;) {
    const leader = nodes.find((n) => n.state === "leader");
    if (leader !== undefined && nodes.every((n) => n.leader === leader.id)) {
      await leader.barrier();
      return { nodes, leader };
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * CPU seconds this process used since `before`. The machine may be shared: commits per CPU
 * second say what the engine costs, whatever else runs beside it.
 */
function cpuSeconds(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

async function sequential(leader: RaftNode, seconds: number) {
  const payload = new Uint8Array(payloadBytes);
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await leader.apply(payload);
      latencies.push(performance.now() - t);
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  const cpu = cpuSeconds(cpuBefore);
  latencies.sort((a, b) => a - b);
  return {
    commits: latencies.length,
    seconds: Number(elapsed.toFixed(2)),
    commitsPerSecond: Math.round(latencies.length / elapsed),
    cpuSeconds: Number(cpu.toFixed(2)),
    commitsPerCpuSecond: Math.round(latencies.length / cpu),
    latencyUs: {
      p50: Math.round(percentile(latencies, 50) * 1000),
      p99: Math.round(percentile(latencies, 99) * 1000),
    },
  };
}

async function batched(leader: RaftNode, seconds: number, inFlight: number) {
  const payload = new Uint8Array(payloadBytes);
  let commits = 0;
  let stop = false;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const worker = async () => {
    while (!stop) {
      await leader.apply(payload);
      commits++;
    }
  };
  const workers = Array.from({ length: inFlight }, worker);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  stop = true;
  await Promise.all(workers);
  const elapsed = (performance.now() - start) / 1000;
  const cpu = cpuSeconds(cpuBefore);
  return {
    inFlight,
    commits,
    seconds: Number(elapsed.toFixed(2)),
    commitsPerSecond: Math.round(commits / elapsed),
    cpuSeconds: Number(cpu.toFixed(2)),
    commitsPerCpuSecond: Math.round(commits / cpu),
  };
}

async function main(): Promise<void> {
  const seconds = Number(process.env.RAFT_BENCH_SECONDS ?? 3);
  process.stderr.write("starting a 3-node cluster\n");
  const { nodes, leader } = await startCluster();
  process.stderr.write("warming up\n");
  await sequential(leader, 0.5);
  await batched(leader, 0.5, 1000);
  process.stderr.write(`sequential: one proposer, ${seconds} s\n`);
  const seq = await sequential(leader, seconds);
  process.stderr.write(`batched: 1000 proposals in flight, ${seconds} s\n`);
  const batch = await batched(leader, seconds, 1000);
  const stats = leader.stats();
  await Promise.all(nodes.map((n) => n.shutdown()));
  const result = {
    benchmark: "@raftstore/raft in-process commits",
    setup: {
      nodes: 3,
      stores: "memory",
      transport: "in-process",
      payloadBytes,
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
    },
    sequential: seq,
    batched: batch,
    targets: { sequentialCommitsPerSecond: 20_000, batchedCommitsPerSecond: 300_000 },
    leaderAfter: { lastIndex: stats.lastIndex, snapshotIndex: stats.snapshotIndex },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

await main();
