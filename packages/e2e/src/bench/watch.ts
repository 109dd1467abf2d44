// npm run bench:watch: watch fan-out on a 3-node raftstore cluster (real processes, default
// settings, fsync on). For each number of watches (1, 100 and 400; RAFTSTORE_BENCH_WATCHES
// changes the list), opens that many WatchList streams on the leader over one HTTP/2
// connection, the way one controller process with many informers would, waits for every initial
// snapshot, then writes RAFTSTORE_BENCH_WATCH_WRITES resources (default 200) one after another
// through the leader and waits until every watch has seen every write. Prints one JSON document:
// per number of watches, the events delivered, their delivery latency (from the write being
// sent to the event reaching the watch), and the leader's CPU per delivered event (read from
// /proc, so it counts the leader process only, not this harness).
import { setMaxListeners } from "node:events";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createForwardingTransport, GuardedSessionManager } from "@raftstore/forwarding";
import { ResourceService } from "@raftstore/proto";
import { summarizeLatencies } from "../load/latency.js";
import { startRaftstoreCluster } from "../raftstore-cluster.js";
import {
  describeMachine,
  envInteger,
  processCpuMs,
  progress,
  stopChildrenOnInterrupt,
} from "./machine.js";

stopChildrenOnInterrupt();

const type = { group: "bench", groupVersion: "v1", kind: "Watched" };
const tenancy = { partition: "default", namespace: "default" };
const writes = envInteger("RAFTSTORE_BENCH_WATCH_WRITES", 200);
const watchCounts = (process.env.RAFTSTORE_BENCH_WATCHES ?? "1,100,400")
  .split(",")
  .map((n) => Number(n));
if (watchCounts.some((n) => !Number.isInteger(n) || n < 1)) {
  throw new Error(
    `RAFTSTORE_BENCH_WATCHES must list positive integers, got "${process.env.RAFTSTORE_BENCH_WATCHES}"`,
  );
}

progress("starting a 3-node raftstore cluster");
const cluster = await startRaftstoreCluster({ compiled: true });
const results = [];
try {
  const leader = await cluster.leader();
  await cluster.waitForCaughtUp();
  const member = cluster.members.find((m) => m.id === leader);
  if (member?.pid === undefined) throw new Error(`no process for the leader ${leader}`);
  const writer = createForwardingTransport({ baseUrl: member.url });
  const writeClient = createClient(ResourceService, writer.transport);
  for (const watches of watchCounts) {
    const session = new GuardedSessionManager(member.url);
    const watchClient = createClient(
      ResourceService,
      createGrpcTransport({ baseUrl: member.url, sessionManager: session }),
    );
    const stop = new AbortController();
    // Every watch listens on it.
    setMaxListeners(0, stop.signal);
    /** When each write (by resource name) was sent. */
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    let delivered = 0;
    let failed: unknown;
    const ready: Promise<void>[] = [];
    const prefix = `w${watches}-`;
    for (let w = 0; w < watches; w++) {
      let resolve!: () => void;
      ready.push(
        new Promise<void>((done) => {
          resolve = done;
        }),
      );
      void (async () => {
        try {
          for await (const { event } of watchClient.watchList(
            { type, tenancy, namePrefix: prefix },
            { signal: stop.signal },
          )) {
            const e = event?.event;
            if (e?.case === "endOfSnapshot") resolve();
            else if (e?.case === "upsert") {
              const sent = sentAt.get(e.value.resource?.id?.name ?? "");
              if (sent !== undefined) latencies.push(performance.now() - sent);
              delivered++;
            }
          }
        } catch (error) {
          if (!stop.signal.aborted) failed ??= error;
          resolve();
        }
      })();
    }
    await Promise.all(ready);
    if (failed !== undefined) throw failed;
    progress(`${watches} watches open; writing ${writes} resources`);
    const cpuBefore = processCpuMs(member.pid);
    const started = performance.now();
    for (let i = 0; i < writes; i++) {
      const name = `${prefix}${i}`;
      sentAt.set(name, performance.now());
      await writeClient.write({
        resource: {
          id: { name, type, tenancy },
          data: { typeUrl: "t", value: new Uint8Array(256) },
        },
      });
    }
    const expected = writes * watches;
    const deadline = performance.now() + 120_000;
    while (delivered < expected && failed === undefined && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const seconds = (performance.now() - started) / 1000;
    const leaderCpuMs = processCpuMs(member.pid) - cpuBefore;
    stop.abort();
    session.abort();
    if (failed !== undefined) throw failed;
    if (delivered < expected) {
      throw new Error(`only ${delivered} of ${expected} events reached the watches within 120 s`);
    }
    const latency = summarizeLatencies(latencies);
    const result = {
      watches,
      writes,
      delivered,
      seconds: Math.round(seconds * 100) / 100,
      deliveredPerSecond: Math.round(delivered / seconds),
      latencyMs: latency,
      leaderCpuMs,
      leaderCpuUsPerDelivery: Math.round((leaderCpuMs * 1000) / delivered),
    };
    results.push(result);
    progress(
      `  ${result.deliveredPerSecond} events/s, p99 ${latency.p99} ms, leader ${result.leaderCpuUsPerDelivery} µs of CPU per delivered event`,
    );
  }
  writer.close();
} finally {
  await cluster.close({ graceful: true });
}

process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: "raftstore watch fan-out",
      machine: describeMachine(),
      cluster: "3 node processes on 127.0.0.1, default settings, fsync on",
      client:
        "watches: connect's gRPC client, all on one HTTP/2 connection to the leader; writes: one at a time through the leader",
      results,
    },
    null,
    2,
  )}\n`,
);
