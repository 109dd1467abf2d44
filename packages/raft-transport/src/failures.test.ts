import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { Inbox, startTestNodes, type TestNodes, waitFor } from "./test-support/cluster.js";
import {
  freePort,
  startFreezableProxy,
  startSilentListener,
} from "./test-support/freezable-proxy.js";
import { heartbeat } from "./test-support/messages.js";
import { RecordingLogger } from "./test-support/recording-logger.js";
import { createRaftTransport, type RaftTransport } from "./transport.js";
import { sendMessagesMethod } from "./wire-format.js";

// Network faults on real loopback sockets. Backoffs and timeouts are short so the tests run in
// seconds; nothing asserts on how long anything took.

const fast = {
  backoff: { initialMs: 10, maxMs: 100 },
  connectTimeoutMs: 500,
  pingIntervalMs: 100,
  pingTimeoutMs: 300,
};

let cluster: TestNodes | undefined;
const transports: RaftTransport[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("when a peer is dead", () => {
  it("sends never throw, the queue stays within its bounds, and the peer is reported unreachable", async () => {
    cluster = await startTestNodes(["n1", "n2"], {
      transport: { ...fast, maxQueuedMessages: 50, maxQueuedBytes: 32 << 20 },
    });
    const n1 = cluster.node("n1");
    await cluster.kill("n2");
    let deepest = 0;
    for (let burst = 0; burst < 40; burst++) {
      for (let i = 0; i < 250; i++) n1.transport.send(heartbeat("n1", "n2", burst * 250 + i));
      deepest = Math.max(deepest, n1.transport.metrics().peers.n2?.queued.messages ?? 0);
      await tick();
    }
    await waitFor(
      () => (n1.transport.metrics().peers.n2?.streamFailures ?? 0) > 0,
      "a stream failure",
    );
    const metrics = n1.transport.metrics().peers.n2;
    expect(deepest).toBeLessThanOrEqual(50);
    expect(metrics?.dropped["queue-full"]).toBeGreaterThan(0);
    expect(n1.inbox.unreachable).toContain("n2");
    // Reports coalesce: far fewer than one per dropped message.
    const dropped = (metrics?.dropped["queue-full"] ?? 0) + (metrics?.dropped.disconnected ?? 0);
    expect(n1.inbox.unreachable.length).toBeLessThan(dropped);
  });

  it("delivery resumes once the peer is back on the same port, after a reconnect", async () => {
    const logger = new RecordingLogger();
    cluster = await startTestNodes(["n1", "n2"], { transport: { ...fast, logger } });
    const n1 = cluster.node("n1");
    const n2 = cluster.node("n2");
    n1.transport.send(heartbeat("n1", "n2", 0));
    await waitFor(() => n2.inbox.messages.length === 1, "the first heartbeat");
    await cluster.kill("n2");
    let context = 1;
    await waitFor(() => {
      n1.transport.send(heartbeat("n1", "n2", context++));
      return (n1.transport.metrics().peers.n2?.streamFailures ?? 0) >= 2;
    }, "two failed attempts while n2 is down");
    await cluster.revive("n2");
    const before = n2.inbox.messages.length;
    await waitFor(() => {
      n1.transport.send(heartbeat("n1", "n2", context++));
      return n2.inbox.messages.length > before;
    }, "delivery after n2 is back");
    const metrics = n1.transport.metrics().peers.n2;
    expect(metrics?.reconnects).toBeGreaterThanOrEqual(1);
    const contexts = n2.inbox.ofType("heartbeat").map((h) => h.context);
    expect(contexts).toEqual([...new Set(contexts)].sort((a, b) => a - b));
    // One warning for the outage (the failures came within 30 s of it), and one line when the
    // peer answered again, saying how many failures that ended.
    const failures = metrics?.streamFailures ?? 0;
    expect(failures).toBeGreaterThanOrEqual(2);
    expect(logger.find("warn", "stream to peer failed")).toHaveLength(1);
    const [again] = logger.find("info", "connected to peer again");
    expect(again?.fields).toMatchObject({ peer: "n2", stream: "messages" });
    expect(again?.fields.afterFailures).toBeGreaterThanOrEqual(2);
  });

  it("a peer that accepts connections but never speaks is reported unreachable", async () => {
    const silent = await startSilentListener();
    cleanups.push(() => silent.close());
    const inbox = new Inbox();
    const transport = createRaftTransport({
      ...fast,
      id: "n1",
      peers: { n2: `http://127.0.0.1:${silent.port}` },
    });
    transports.push(transport);
    transport.start(inbox);
    transport.send(heartbeat("n1", "n2", 1));
    // Without TLS the connection counts as open once TCP connects, so the heartbeat is written
    // into the void; the unanswered PINGs end the stream.
    await waitFor(() => inbox.unreachable.includes("n2"), "n2 reported unreachable");
    expect(transport.metrics().peers.n2?.streamFailures).toBeGreaterThanOrEqual(1);
  });

  it("a peer that goes silent mid-stream is noticed by keepalive PINGs", async () => {
    cluster = await startTestNodes(["n1", "n2"], { transport: fast });
    const n1 = cluster.node("n1");
    const n2 = cluster.node("n2");
    const proxy = await startFreezableProxy(n2.server.port);
    cleanups.push(() => proxy.close());
    n1.transport.setPeers({ n2: `http://127.0.0.1:${proxy.port}` });
    n1.transport.send(heartbeat("n1", "n2", 1));
    await waitFor(() => n2.inbox.messages.length === 1, "a heartbeat through the proxy");
    proxy.freeze();
    // Nothing is sent from here on: only the PINGs can tell that n2 is gone.
    await waitFor(() => n1.inbox.unreachable.includes("n2"), "n2 reported unreachable");
    expect(n1.transport.metrics().peers.n2?.streamFailures).toBe(1);
  });
});

describe("when a peer misbehaves", () => {
  it("backs off from a peer that ends every stream at once, instead of spinning", async () => {
    const server = http2.createServer(
      connectNodeAdapter({ routes: (router) => router.rpc(sendMessagesMethod, async () => ({})) }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const inbox = new Inbox();
    const transport = createRaftTransport({
      ...fast,
      id: "n1",
      peers: { n2: `http://127.0.0.1:${port}` },
    });
    transport.start(inbox);
    transports.push(transport);
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    for (let i = 0; i < 30; i++) {
      transport.send(heartbeat("n1", "n2", i));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const failures = transport.metrics().peers.n2?.streamFailures ?? 0;
    // 30 sends over 300 ms or more: a spinning sender would fail hundreds of streams.
    expect(failures).toBeGreaterThanOrEqual(1);
    expect(failures).toBeLessThan(30);
    expect(inbox.unreachable).toContain("n2");
    await transport.close(); // ends the HTTP/2 session, so the server can close
  });
});

describe("when a connection drops mid-stream", () => {
  it("the sender reconnects, and no message arrives twice or out of order", async () => {
    cluster = await startTestNodes(["n1", "n2"], { transport: fast });
    const n1 = cluster.node("n1");
    const n2 = cluster.node("n2");
    let context = 0;
    const ticker = setInterval(() => {
      for (let i = 0; i < 20; i++) n1.transport.send(heartbeat("n1", "n2", context++));
    }, 1);
    try {
      await waitFor(() => n2.inbox.messages.length >= 200, "traffic before the drop");
      n2.server.dropConnections();
      const atDrop = context;
      await waitFor(
        () => n2.inbox.ofType("heartbeat").some((h) => h.context > atDrop + 200),
        "traffic after the drop",
      );
    } finally {
      clearInterval(ticker);
    }
    const contexts = n2.inbox.ofType("heartbeat").map((h) => h.context);
    for (let i = 1; i < contexts.length; i++) {
      expect(contexts[i]).toBeGreaterThan(contexts[i - 1] as number);
    }
    const metrics = n1.transport.metrics().peers.n2;
    expect(metrics?.streamFailures).toBeGreaterThanOrEqual(1);
    expect(metrics?.reconnects).toBeGreaterThanOrEqual(1);
    expect(n1.inbox.unreachable).toContain("n2");
  });
});

describe("the peer map", () => {
  it("can move a peer to a new address, and traffic follows", async () => {
    const logger = new RecordingLogger();
    cluster = await startTestNodes(["n1", "n2"], { transport: { ...fast, logger } });
    const n1 = cluster.node("n1");
    const n2 = cluster.node("n2");
    n1.transport.setPeers({ n2: `http://127.0.0.1:${await freePort()}` });
    n1.transport.send(heartbeat("n1", "n2", 1));
    await waitFor(() => n1.inbox.unreachable.includes("n2"), "the stale address to fail");
    expect(logger.find("warn", "stream to peer failed").length).toBeGreaterThan(0);
    n1.transport.setPeers(cluster.addresses());
    n1.transport.send(heartbeat("n1", "n2", 2));
    await waitFor(() => n2.inbox.messages.length === 1, "delivery at the new address");
    expect(n2.inbox.messages[0]).toEqual(heartbeat("n1", "n2", 2));
    // Counters survive the move.
    expect(n1.transport.metrics().peers.n2?.streamFailures).toBe(1);
  });

  it("forgets a removed peer: its queue is dropped and sends to it are unknown-peer drops", async () => {
    cluster = await startTestNodes(["n1", "n2"], { transport: fast });
    const n1 = cluster.node("n1");
    await cluster.kill("n2");
    n1.transport.send(heartbeat("n1", "n2", 1));
    n1.transport.setPeers({});
    n1.transport.send(heartbeat("n1", "n2", 2));
    expect(n1.transport.metrics().peers.n2).toBeUndefined();
    expect(n1.transport.metrics().droppedToUnknownPeers).toBe(1);
  });

  it("refuses a bad map with a clear error and keeps the old one", async () => {
    cluster = await startTestNodes(["n1", "n2"]);
    const n1 = cluster.node("n1");
    const before = n1.transport.metrics().peers.n2?.address;
    expect(() => n1.transport.setPeers({ n2: "not a url" })).toThrow(
      /expected the address of peer n2 to be a URL, found "not a url"/,
    );
    expect(() => n1.transport.setPeers({ n2: "https://127.0.0.1:1" })).toThrow(
      /expected the address of peer n2 to be an http: URL \(no tls option\)/,
    );
    expect(n1.transport.metrics().peers.n2?.address).toBe(before);
  });
});

describe("closing a transport", () => {
  it("ends its streams both ways and resolves, even with a peer down", async () => {
    cluster = await startTestNodes(["n1", "n2", "n3"], { transport: fast });
    const n1 = cluster.node("n1");
    const n2 = cluster.node("n2");
    await cluster.kill("n3");
    n1.transport.send(heartbeat("n1", "n2", 1));
    n1.transport.send(heartbeat("n1", "n3", 1));
    n2.transport.send(heartbeat("n2", "n1", 1));
    await waitFor(
      () => n1.inbox.messages.length === 1 && n2.inbox.messages.length === 1,
      "traffic",
    );
    expect(n1.transport.metrics().activeStreams).toBe(1);
    await n1.transport.close();
    expect(n1.transport.metrics().activeStreams).toBe(0);
    n1.transport.send(heartbeat("n1", "n2", 2)); // ignored, does not throw
    // n2's stream into n1 was ended by n1 (Unavailable): n2 sees it fail.
    await waitFor(
      () => (n2.transport.metrics().peers.n1?.streamFailures ?? 0) >= 1,
      "n2 to notice",
    );
  });
});
