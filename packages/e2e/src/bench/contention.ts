// npm run bench:contention -w @raftstore/e2e
//
// Blanket writes and blanket deletes of one key from many clients: a 3-process raftstore cluster
// on loopback (default settings); RAFTSTORE_BENCH_WRITERS clients (default 16) blanket-write the
// key through every node without pause, while RAFTSTORE_BENCH_DELETERS clients (default 4) each
// send RAFTSTORE_BENCH_DELETES blanket deletes of it (default 100) through the followers.
// Repeated RAFTSTORE_BENCH_RUNS times (default 3), each on a fresh cluster. Prints one JSON
// document: per run, the deletes and the writes by outcome ("ok", or the failure's gRPC code and
// message), the deletes' latency, and how long the deletes took. A blanket delete deletes
// whatever version of the resource is stored when it is applied, and a write that names no uid
// is built again when the resource was deleted or made again under it, so neither should fail
// here; writes can still run out of attempts ("aborted") against so many deletes.

import { Code, ConnectError } from "@connectrpc/connect";
import { ResourceService } from "@raftstore/proto";
import { createClientPool } from "../load/kv-target.js";
import { summarizeLatencies } from "../load/latency.js";
import { benchType } from "../load/raftstore-target.js";
import { startRaftstoreCluster } from "../raftstore-cluster.js";
import { describeMachine, envInteger, progress, stopChildrenOnInterrupt } from "./machine.js";

stopChildrenOnInterrupt();

const writers = envInteger("RAFTSTORE_BENCH_WRITERS", 16);
const deleters = envInteger("RAFTSTORE_BENCH_DELETERS", 4);
const deletesEach = envInteger("RAFTSTORE_BENCH_DELETES", 100);
const runs = envInteger("RAFTSTORE_BENCH_RUNS", 3);
const id = {
  name: "contended",
  type: benchType,
  tenancy: { partition: "default", namespace: "default" },
};

/** An outcome's name: "ok", or the failure's code and the start of its message. */
function outcomeOf(error: unknown): string {
  const e = ConnectError.from(error);
  return `${Code[e.code]}: ${e.rawMessage.slice(0, 80)}`;
}

function count(outcomes: Record<string, number>, outcome: string): void {
  outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
}

async function contention() {
  const cluster = await startRaftstoreCluster({ compiled: true });
  try {
    const leader = await cluster.leader();
    await cluster.waitForCaughtUp();
    const all = createClientPool(
      ResourceService,
      cluster.members.map((m) => m.url),
    );
    const followers = createClientPool(
      ResourceService,
      cluster.members.filter((m) => m.id !== leader).map((m) => m.url),
    );
    const writes: Record<string, number> = {};
    const deletes: Record<string, number> = {};
    const latencies: number[] = [];
    let stop = false;
    const writing = Array.from({ length: writers }, async (_, c) => {
      for (let i = 0; !stop; i++) {
        const resource = { id, metadata: { writer: `${c}`, write: `${i}` } };
        await all
          .client(c)
          .write({ resource })
          .then(
            () => count(writes, "ok"),
            (error: unknown) => count(writes, outcomeOf(error)),
          );
      }
    });
    const started = performance.now();
    await Promise.all(
      Array.from({ length: deleters }, async (_, c) => {
        for (let i = 0; i < deletesEach; i++) {
          const sent = performance.now();
          await followers
            .client(c)
            .delete({ id, version: "" })
            .then(
              () => count(deletes, "ok"),
              (error: unknown) => count(deletes, outcomeOf(error)),
            );
          latencies.push(performance.now() - sent);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    stop = true;
    await Promise.all(writing);
    all.close();
    followers.close();
    return {
      seconds: Math.round(seconds * 10) / 10,
      deletes,
      deleteLatencyMs: summarizeLatencies(latencies),
      writes,
    };
  } finally {
    await cluster.close({ graceful: true });
  }
}

const results = [];
for (let i = 0; i < runs; i++) {
  progress(
    `run ${i + 1}/${runs}: ${writers} writers of one key through every node, ${deleters} × ${deletesEach} blanket deletes of it through the followers`,
  );
  const run = await contention();
  progress(`  ${JSON.stringify(run)}`);
  results.push(run);
}
process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: "blanket writes and blanket deletes of one key",
      machine: describeMachine(),
      settings: { writers, deleters, deletesEach, runs },
      runs: results,
    },
    null,
    2,
  )}\n`,
);
