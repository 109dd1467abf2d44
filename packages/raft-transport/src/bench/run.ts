// Throughput and latency of the transport between two nodes in two processes on loopback
// (plaintext HTTP/2): node n1 (this process) sends, node n2 (src/bench/echo-node.ts, a child
// process) answers every message as a follower would, on its own stream back. Measured: small
// appends (256-byte entries, 1 and 64 per message), 1 MiB snapshot chunks, and heartbeat round
// trips with and without a snapshot streaming at the same time.
//
//   npm run bench -w @raftstore/raft-transport
//
// Prints one JSON document on stdout; progress goes to stderr.
import { type ChildProcess, spawn } from "node:child_process";
import * as os from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Message, NodeId, TransportHandler } from "@raftstore/raft";
import { append, heartbeat, snapshotChunk } from "../test-support/messages.js";
import { type NodeServer, startNodeServer } from "../test-support/node-server.js";
import { createRaftTransport, type RaftTransport } from "../transport.js";

const log = (text: string) => process.stderr.write(`${text}\n`);
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** What n1 hears back from n2. */
class Acks implements TransportHandler {
  closing = false;
  appends = 0;
  chunks = 0;
  readonly heartbeatAt = new Map<number, number>();
  onMessage(message: Message): void {
    if (message.type === "appendResponse") this.appends++;
    else if (message.type === "snapshotChunkResponse") this.chunks++;
    else if (message.type === "heartbeatResponse") {
      this.heartbeatAt.set(message.context, performance.now());
    }
  }
  onUnreachable(peer: NodeId): void {
    if (!this.closing) log(`unreachable: ${peer}`);
  }
}

interface Pair {
  readonly sender: RaftTransport;
  readonly acks: Acks;
  close(): Promise<void>;
}

/** Starts n1 here and n2 in a child process, each knowing the other. */
async function startPair(): Promise<Pair> {
  const sender = createRaftTransport({
    id: "n1",
    peers: {},
    maxQueuedMessages: 4096,
    maxQueuedSnapshotChunks: 16,
    maxQueuedSnapshotBytes: 32 << 20,
  });
  const acks = new Acks();
  sender.start(acks);
  const server: NodeServer = await startNodeServer(sender);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--conditions=@raftstore/source",
      "--import",
      "tsx",
      join(import.meta.dirname, "echo-node.ts"),
      server.baseUrl,
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const firstLine = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the echo node exited with ${code}`)));
    if (child.stdout === null) throw new Error("expected the echo node's stdout");
    createInterface({ input: child.stdout }).once("line", resolve);
  });
  const { baseUrl } = JSON.parse(firstLine) as { baseUrl: string };
  sender.setPeers({ n2: baseUrl });
  return {
    sender,
    acks,
    async close() {
      acks.closing = true;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.stdin?.end();
      await exited;
      await sender.close();
      await server.close();
    },
  };
}

/**
 * Sends `total` messages made by `make`, keeping at most `window` unanswered (the engine's
 * inflight limit does the same), and returns the elapsed milliseconds until the last answer.
 */
async function pump(
  total: number,
  window: number,
  send: (i: number) => void,
  answered: () => number,
): Promise<number> {
  const start = performance.now();
  const base = answered();
  let sent = 0;
  while (answered() - base < total) {
    while (sent < total && sent - (answered() - base) < window) send(sent++);
    await tick();
  }
  return performance.now() - start;
}

async function appends(pair: Pair, entriesPerMessage: number, total: number) {
  // One message sent over and over: the transport's cost, not the cost of building entries (n2
  // answers each by count). Messages are immutable, so reusing one is what the engine may do.
  const message = append("n1", "n2", 0, entriesPerMessage, 256);
  const send = () => pair.sender.send(message);
  await pump(Math.ceil(total / 10), 256, send, () => pair.acks.appends); // warm up
  const before = pair.sender.metrics().peers.n2?.sent.append ?? { messages: 0, bytes: 0 };
  const ms = await pump(total, 256, send, () => pair.acks.appends);
  const after = pair.sender.metrics().peers.n2?.sent.append ?? { messages: 0, bytes: 0 };
  return {
    entryBytes: 256,
    entriesPerMessage,
    messages: total,
    messagesPerSecond: Math.round((total / ms) * 1000),
    entriesPerSecond: Math.round(((total * entriesPerMessage) / ms) * 1000),
    entryMBPerSecond: round((total * entriesPerMessage * 256) / ms / 1000, 2),
    wireMBPerSecond: round((after.bytes - before.bytes) / ms / 1000, 2),
  };
}

async function chunks(pair: Pair, count: number, size: number) {
  const chunk = snapshotChunk("n1", "n2", 1, 1024, size);
  const send = () => pair.sender.send(chunk);
  await pump(4, 4, send, () => pair.acks.chunks); // warm up
  const ms = await pump(count, 8, send, () => pair.acks.chunks);
  return {
    chunkBytes: size,
    chunks: count,
    chunksPerSecond: round((count / ms) * 1000, 1),
    MBPerSecond: round((count * size) / ms / 1000, 2),
  };
}

/** Heartbeat round trips (send → n2 → response back) every 2 ms, optionally under a snapshot. */
async function heartbeats(pair: Pair, count: number, withSnapshot: boolean) {
  pair.acks.heartbeatAt.clear();
  let streaming = withSnapshot;
  let sentChunks = 0;
  const ackedBefore = pair.acks.chunks;
  const chunk = snapshotChunk("n1", "n2", 1, 1024, 1 << 20);
  const feeder = (async () => {
    while (streaming) {
      while (sentChunks - (pair.acks.chunks - ackedBefore) < 8) {
        pair.sender.send(chunk);
        sentChunks++;
      }
      await tick();
    }
  })();
  const sentAt: number[] = [];
  for (let i = 0; i < count; i++) {
    sentAt.push(performance.now());
    pair.sender.send(heartbeat("n1", "n2", i));
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  while (pair.acks.heartbeatAt.size < count) await tick();
  streaming = false;
  await feeder;
  const roundTrips = sentAt.map((t, i) => (pair.acks.heartbeatAt.get(i) ?? t) - t);
  roundTrips.sort((a, b) => a - b);
  return {
    heartbeats: count,
    snapshotMiBStreamedMeanwhile: withSnapshot ? sentChunks : 0,
    p50Ms: round(percentile(roundTrips, 0.5), 3),
    p99Ms: round(percentile(roundTrips, 0.99), 3),
    maxMs: round(roundTrips[roundTrips.length - 1] ?? 0, 3),
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

async function main() {
  const pair = await startPair();
  try {
    log("appends of 1 entry of 256 bytes…");
    const batch1 = await appends(pair, 1, 30_000);
    log("appends of 64 entries of 256 bytes…");
    const batch64 = await appends(pair, 64, 3_000);
    log("snapshot chunks of 1 MiB…");
    const snapshot = await chunks(pair, 96, 1 << 20);
    log("heartbeat round trips, idle…");
    const idle = await heartbeats(pair, 1000, false);
    log("heartbeat round trips while a snapshot streams…");
    const busy = await heartbeats(pair, 1000, true);
    const dropped = pair.sender.metrics().peers.n2?.dropped ?? {};
    const result = {
      benchmark: "@raftstore/raft-transport",
      machine: {
        node: process.version,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? "unknown",
        loadAverage1m: round(os.loadavg()[0] ?? 0, 2),
      },
      setup:
        "n1 and n2 in two processes, plaintext HTTP/2 (h2c) on 127.0.0.1; n2 answers every message",
      appends: { batch1, batch64 },
      snapshotChunks: snapshot,
      heartbeatRoundTrip: {
        idle,
        whileSnapshotStreams: busy,
        p50RatioBusyToIdle: round(busy.p50Ms / Math.max(idle.p50Ms, 0.001), 2),
        p99RatioBusyToIdle: round(busy.p99Ms / Math.max(idle.p99Ms, 0.001), 2),
      },
      dropped,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await pair.close();
  }
}

await main();
