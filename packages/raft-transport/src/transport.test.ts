import type { Message } from "@raftstore/raft";
import { afterEach, describe, expect, it } from "vitest";
import { startTestNodes, type TestNodes, waitFor } from "./test-support/cluster.js";
import { append, heartbeat, snapshotChunk } from "./test-support/messages.js";
import { RecordingLogger } from "./test-support/recording-logger.js";

let cluster: TestNodes | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe("two transports over HTTP/2 on loopback", () => {
  it("deliver every kind of message, both ways, unchanged", async () => {
    cluster = await startTestNodes(["n1", "n2"]);
    const n1 = cluster.node("n1");
    const n2 = cluster.node("n2");
    const toN2: Message[] = [
      append("n1", "n2", 4, 3, 256),
      heartbeat("n1", "n2", 7),
      {
        type: "vote",
        from: "n1",
        to: "n2",
        term: 5,
        preVote: true,
        transfer: false,
        lastIndex: 9,
        lastTerm: 4,
      },
      { type: "timeoutNow", from: "n1", to: "n2", term: 5 },
      {
        type: "readIndexResponse",
        from: "n1",
        to: "n2",
        term: 5,
        context: 12,
        index: 40,
        success: true,
      },
      snapshotChunk("n1", "n2", 0, 1, 1024),
    ];
    const toN1: Message[] = [
      {
        type: "appendResponse",
        from: "n2",
        to: "n1",
        term: 5,
        success: false,
        index: 4,
        hintIndex: 3,
        hintTerm: 2,
      },
      { type: "heartbeatResponse", from: "n2", to: "n1", term: 5, context: 7 },
      { type: "voteResponse", from: "n2", to: "n1", term: 5, preVote: true, granted: true },
      { type: "readIndex", from: "n2", to: "n1", term: 5, context: 12 },
      {
        type: "snapshotChunkResponse",
        from: "n2",
        to: "n1",
        term: 5,
        snapshotIndex: 100,
        snapshotTerm: 1,
        nextOffset: 1024,
        status: "installed",
      },
    ];
    for (const m of toN2) n1.transport.send(m);
    for (const m of toN1) n2.transport.send(m);
    await waitFor(
      () => n2.inbox.messages.length === toN2.length && n1.inbox.messages.length === toN1.length,
      "every message to arrive",
    );
    // The snapshot chunk travels on its own stream, so only its position may differ.
    const byType = (ms: Message[]) => [...ms].sort((a, b) => a.type.localeCompare(b.type));
    expect(byType(n2.inbox.messages)).toEqual(byType(toN2));
    expect(n1.inbox.messages).toEqual(toN1);
    expect(n1.inbox.unreachable).toEqual([]);
    expect(n2.inbox.unreachable).toEqual([]);
  });

  it("deliver the messages of one sender in the order they were sent, over one connection", async () => {
    cluster = await startTestNodes(["n1", "n2"], { transport: { maxQueuedMessages: 10_000 } });
    const n1 = cluster.node("n1");
    const n2 = cluster.node("n2");
    const count = 5000;
    for (let i = 0; i < count; i++) {
      n1.transport.send(i % 10 === 0 ? append("n1", "n2", i, 2, 64) : heartbeat("n1", "n2", i));
    }
    await waitFor(() => n2.inbox.messages.length === count, `${count} messages to arrive`);
    const order = n2.inbox.messages.map((m) =>
      m.type === "append" ? m.prevIndex : m.type === "heartbeat" ? m.context : -1,
    );
    expect(order).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(n2.server.sessions()).toBe(1);
    const metrics = n1.transport.metrics().peers.n2;
    expect(metrics?.sent.heartbeat?.messages).toBe(count - count / 10);
    expect(metrics?.sent.append?.messages).toBe(count / 10);
    expect(metrics?.dropped).toEqual({});
    const received = n2.transport.metrics().peers.n1?.received;
    expect(received?.heartbeat).toEqual(metrics?.sent.heartbeat);
    expect(received?.append).toEqual(metrics?.sent.append);
  });

  it("keep heartbeats flowing while a large snapshot is streaming", async () => {
    cluster = await startTestNodes(["n1", "n2"], {
      transport: { maxQueuedSnapshotChunks: 64, maxQueuedSnapshotBytes: 64 << 20 },
    });
    const n1 = cluster.node("n1");
    const n2 = cluster.node("n2");
    // 32 MiB of snapshot in 1 MiB chunks, all queued at once; then heartbeats, one every
    // millisecond while the transfer runs. If heartbeats queued behind the snapshot, none would
    // arrive before the last chunk.
    const chunks = 32;
    for (let i = 0; i < chunks; i++)
      n1.transport.send(snapshotChunk("n1", "n2", i, chunks, 1 << 20));
    let sent = 0;
    const ticker = setInterval(() => n1.transport.send(heartbeat("n1", "n2", sent++)), 1);
    try {
      await waitFor(
        () => n2.inbox.ofType("snapshotChunk").length === chunks,
        "the snapshot to arrive",
        30_000,
      );
    } finally {
      clearInterval(ticker);
    }
    const lastChunkAt = n2.inbox.messages.findIndex((m) => m.type === "snapshotChunk" && m.last);
    const heartbeatsBefore = n2.inbox.messages
      .slice(0, lastChunkAt)
      .filter((m) => m.type === "heartbeat");
    expect(heartbeatsBefore.length).toBeGreaterThan(0);
    // Chunks arrive in order on their stream, and heartbeats in order on theirs.
    expect(n2.inbox.ofType("snapshotChunk").map((c) => c.offset)).toEqual(
      Array.from({ length: chunks }, (_, i) => i * (1 << 20)),
    );
    const contexts = n2.inbox.ofType("heartbeat").map((h) => h.context);
    expect(contexts).toEqual([...contexts].sort((a, b) => a - b));
  });

  it("report a message to a node outside the peer map as unreachable, after send returns", async () => {
    cluster = await startTestNodes(["n1", "n2"]);
    const n1 = cluster.node("n1");
    n1.transport.send(heartbeat("n1", "n9", 1));
    expect(n1.inbox.unreachable).toEqual([]);
    await waitFor(() => n1.inbox.unreachable.length > 0, "the unreachable report");
    expect(n1.inbox.unreachable).toEqual(["n9"]);
    expect(n1.transport.metrics().droppedToUnknownPeers).toBe(1);
  });

  it("refuse streams from a node of another cluster, both ways, and take those of their own", async () => {
    const logger = new RecordingLogger();
    cluster = await startTestNodes(["n1", "n2", "n3"], {
      clusterIds: { n1: "cluster-a", n2: "cluster-a", n3: "cluster-b" },
      transport: { logger },
    });
    const [n1, n2, n3] = ["n1", "n2", "n3"].map((id) => cluster?.node(id)) as NonNullable<
      ReturnType<TestNodes["node"]>
    >[];
    n1.transport.send(heartbeat("n1", "n2", 3));
    n1.transport.send(heartbeat("n1", "n3", 3));
    n3.transport.send(heartbeat("n3", "n1", 4));
    await waitFor(() => n2.inbox.messages.length === 1, "n2 to get n1's heartbeat");
    await waitFor(
      () =>
        (n3.transport.metrics().rejectedStreams.cluster ?? 0) > 0 &&
        (n1.transport.metrics().rejectedStreams.cluster ?? 0) > 0,
      "n1 and n3 to refuse each other's streams",
    );
    expect(n3.inbox.messages).toEqual([]);
    expect(n1.inbox.messages).toEqual([]);
    expect(n2.transport.metrics().rejectedStreams).toEqual({});
    // n1 tries again and again, n3 refuses each time, and says so once (then once per 30 s).
    await waitFor(() => {
      n1.transport.send(heartbeat("n1", "n3", 3));
      return (n3.transport.metrics().rejectedStreams.cluster ?? 0) >= 3;
    }, "n3 to refuse three of n1's streams");
    const refusals = logger
      .find("warn", "refused an incoming stream")
      .filter((r) => r.fields.node === "n3");
    expect(refusals).toHaveLength(1);
    expect(String(refusals[0]?.fields.err)).toMatch(
      /from a node of cluster cluster-a: node n3 belongs to cluster cluster-b/,
    );
  });
});
