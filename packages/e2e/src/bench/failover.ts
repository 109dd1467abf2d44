// npm run bench:failover -w @raftstore/e2e
//
// What clients of the followers see when the leader dies: a 3-process raftstore cluster on
// loopback (default settings): RAFTSTORE_BENCH_CLIENTS clients (default 16) write
// new keys through the two followers without pause; 2 s in, the leader is killed with SIGKILL;
// 5 s later the run ends. Repeated RAFTSTORE_BENCH_RUNS times (default 3), each on a fresh
// cluster; RAFTSTORE_BENCH_FORWARDING=rpc has the followers forward through the ForwardingService
// instead of their Raft streams. Prints one JSON document: per run, the writes that succeeded, the failures by kind
// ("outcomeUnknown": the write may have taken effect; anything else by its message), the
// longest write that spanned the kill, and how long after the kill the first write that began
// after it succeeded. Progress goes to stderr.

import { ConnectError } from "@connectrpc/connect";
import { outcomeHeader } from "@raftstore/proto";
import { createRaftstoreTarget } from "../load/raftstore-target.js";
import { startRaftstoreCluster } from "../raftstore-cluster.js";
import { describeMachine, envInteger, progress, stopChildrenOnInterrupt } from "./machine.js";

stopChildrenOnInterrupt();

const clients = envInteger("RAFTSTORE_BENCH_CLIENTS", 16);
const runs = envInteger("RAFTSTORE_BENCH_RUNS", 3);
const forwarding = process.env.RAFTSTORE_BENCH_FORWARDING === "rpc" ? "rpc" : "raft";
const beforeKillMs = 2000;
const afterKillMs = 5000;

interface FailoverRun {
  writes: number;
  failures: Record<string, number>;
  /** The longest write in flight when the leader was killed, in ms. */
  longestAcrossKillMs: number;
  /** From the kill to the first success of a write begun after it, in ms. */
  firstWriteAfterKillMs: number | undefined;
}

/**
 * A failure's kind: "outcomeUnknown" when the node says the write may have taken effect (the
 * `raftstore-outcome` header), else its message.
 */
function kindOf(error: unknown): string {
  if (error instanceof ConnectError && error.metadata.get(outcomeHeader) === "unknown") {
    return "outcomeUnknown";
  }
  const message = error instanceof ConnectError ? error.rawMessage : String(error);
  return message.slice(0, 120);
}

async function failover(): Promise<FailoverRun> {
  const cluster = await startRaftstoreCluster({ compiled: true, settings: { forwarding } });
  try {
    const leader = await cluster.leader();
    await cluster.waitForCaughtUp();
    const followers = cluster.members.filter((m) => m.id !== leader).map((m) => m.url);
    const target = createRaftstoreTarget(followers);
    const run: FailoverRun = {
      writes: 0,
      failures: {},
      longestAcrossKillMs: 0,
      firstWriteAfterKillMs: undefined,
    };
    let killedAt: number | undefined;
    let stop = false;
    const value = new Uint8Array(256);
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        const started = performance.now();
        try {
          await target.put(c, `failover-${c}-${i}`, value);
          run.writes++;
          const ended = performance.now();
          if (killedAt !== undefined && started < killedAt) {
            run.longestAcrossKillMs = Math.max(run.longestAcrossKillMs, ended - started);
          }
          if (killedAt !== undefined && started >= killedAt) {
            run.firstWriteAfterKillMs ??= ended - killedAt;
          }
        } catch (error) {
          const kind = kindOf(error);
          run.failures[kind] = (run.failures[kind] ?? 0) + 1;
        }
      }
    };
    const running = Array.from({ length: clients }, (_, c) => client(c));
    await new Promise((resolve) => setTimeout(resolve, beforeKillMs));
    killedAt = performance.now();
    await cluster.kill(leader);
    await new Promise((resolve) => setTimeout(resolve, afterKillMs));
    stop = true;
    await Promise.all(running);
    target.close();
    return run;
  } finally {
    await cluster.close({ graceful: true });
  }
}

const results: FailoverRun[] = [];
for (let i = 0; i < runs; i++) {
  progress(
    `run ${i + 1}/${runs}: ${clients} clients writing through the followers; SIGKILL of the leader after ${beforeKillMs} ms`,
  );
  const run = await failover();
  progress(`  ${JSON.stringify(run)}`);
  results.push(run);
}
const failures: Record<string, number> = {};
for (const run of results) {
  for (const [kind, n] of Object.entries(run.failures)) failures[kind] = (failures[kind] ?? 0) + n;
}
process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: "writes through the followers across a SIGKILL of the leader",
      machine: describeMachine(),
      settings: { clients, runs, beforeKillMs, afterKillMs, forwarding },
      writes: results.reduce((n, run) => n + run.writes, 0),
      failures,
      runs: results,
    },
    null,
    2,
  )}\n`,
);
