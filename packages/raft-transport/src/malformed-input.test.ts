import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { RaftMessageSchema } from "@raftstore/proto/raft/v1";
import { afterEach, describe, expect, it } from "vitest";
import { isMessageDecodeError, isMessageTooLargeError } from "./errors.js";
import { serializeMessage } from "./serialize-message.js";
import { Inbox, startTestNodes, type TestNodes, waitFor } from "./test-support/cluster.js";
import { append, heartbeat } from "./test-support/messages.js";
import { startNodeServer } from "./test-support/node-server.js";
import { grpcFrame, postRawGrpc, sendBatches } from "./test-support/raw-client.js";
import { RecordingLogger } from "./test-support/recording-logger.js";
import { createRaftTransport, type RaftTransport } from "./transport.js";
import { installSnapshotMethod } from "./wire-format.js";

const fast = { backoff: { initialMs: 10, maxMs: 100 } };
const sendMessagesPath = "/raftstore.raft.v1.RaftService/SendMessages";

let cluster: TestNodes | undefined;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/** n2's server is fed garbage while n1 is a healthy peer of it. */
async function withLoggingReceiver() {
  const logger = new RecordingLogger();
  cluster = await startTestNodes(["n1", "n2"], { transport: { ...fast, logger } });
  return { logger, n1: cluster.node("n1"), n2: cluster.node("n2") };
}

/** The other peers keep being served: a heartbeat from n1 still arrives. */
async function stillServes(n1: { transport: RaftTransport }, n2: { inbox: Inbox }) {
  const before = n2.inbox.messages.length;
  n1.transport.send(heartbeat("n1", "n2", 99));
  await waitFor(() => n2.inbox.messages.length > before, "n1's heartbeat after the bad input");
}

describe("garbage on a stream", () => {
  it("refuses a request that does not parse, counts and logs it, and serves other peers", async () => {
    const { logger, n1, n2 } = await withLoggingReceiver();
    // Field 1, length-delimited, with a length varint that never ends.
    const answer = await postRawGrpc(
      n2.server.baseUrl,
      sendMessagesPath,
      grpcFrame(Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff)),
    );
    expect(answer.status).toBe(String(Code.InvalidArgument));
    const metrics = n2.transport.metrics();
    expect(metrics.decodeErrors).toBe(1);
    expect(metrics.rejectedStreams).toEqual({ unparsable: 1 });
    expect(logger.find("warn", "request does not parse")).toHaveLength(1);
    expect(n2.inbox.messages).toEqual([]);
    await stillServes(n1, n2);
  });

  it("refuses a stream whose gRPC framing is cut short", async () => {
    const { n1, n2 } = await withLoggingReceiver();
    const answer = await postRawGrpc(
      n2.server.baseUrl,
      sendMessagesPath,
      grpcFrame(Uint8Array.of(0x0a, 0x00), 1000),
    );
    expect(answer.status).toBe(String(Code.InvalidArgument));
    // The lean receiver counts a cut body once its stream has closed (a reset is not counted).
    await waitFor(
      () => n2.transport.metrics().rejectedStreams.unparsable === 1,
      "the cut body to be counted",
    );
    expect(n2.transport.metrics().rejectedStreams).toEqual({ unparsable: 1 });
    await stillServes(n1, n2);
  });
});

describe("malformed messages in a well-formed stream", () => {
  it("drops each bad message alone, counted and logged, and delivers the rest in order", async () => {
    const { logger, n2 } = await withLoggingReceiver();
    const termTooLarge = toBinary(
      RaftMessageSchema,
      create(RaftMessageSchema, {
        from: "n1",
        to: "n2",
        term: 2n ** 60n,
        body: { case: "timeoutNow", value: {} },
      }),
    );
    const error = await sendBatches(n2.server.baseUrl, [
      [serializeMessage(heartbeat("n1", "n2", 1)), Uint8Array.of(0xff, 0xff, 0xff)],
      [termTooLarge, serializeMessage(heartbeat("n1", "n2", 2))],
    ]);
    expect(error).toBeUndefined();
    expect(n2.inbox.messages).toEqual([heartbeat("n1", "n2", 1), heartbeat("n1", "n2", 2)]);
    const metrics = n2.transport.metrics();
    expect(metrics.decodeErrors).toBe(2);
    expect(metrics.peers.n1?.rejected).toEqual({ malformed: 2 });
    const logged = logger.find("warn", "dropped a malformed message").map((r) => r.fields.err);
    expect(logged).toHaveLength(2);
    expect(logged.every(isMessageDecodeError)).toBe(true);
    expect(String((logged[1] as Error).message)).toContain("(term): expected at most 2^53 - 1");
  });

  it("refuses a stream carrying messages from two senders", async () => {
    const { n2 } = await withLoggingReceiver();
    const error = await sendBatches(n2.server.baseUrl, [
      [serializeMessage(heartbeat("n1", "n2", 1)), serializeMessage(heartbeat("n3", "n2", 1))],
    ]);
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toBe(
      "expected every message on a stream to come from n1, found one from n3",
    );
    expect(n2.transport.metrics().rejectedStreams).toEqual({ "mixed-senders": 1 });
    expect(n2.inbox.messages).toEqual([heartbeat("n1", "n2", 1)]);
  });

  it("drops a message addressed to another node (a stale address)", async () => {
    const { n1, n2 } = await withLoggingReceiver();
    n1.transport.setPeers({ ...cluster?.addresses(), n3: n2.server.baseUrl });
    n1.transport.send(heartbeat("n1", "n3", 1));
    await waitFor(
      () => n2.transport.metrics().peers.n1?.rejected.misaddressed === 1,
      "the misaddressed message to be counted",
    );
    expect(n2.inbox.messages).toEqual([]);
  });

  it("drops anything but snapshot chunks from a snapshot stream", async () => {
    const { n2 } = await withLoggingReceiver();
    const error = await sendBatches(
      n2.server.baseUrl,
      [[serializeMessage(heartbeat("n1", "n2", 1))]],
      installSnapshotMethod,
    );
    expect(error).toBeUndefined();
    expect(n2.inbox.messages).toEqual([]);
    expect(n2.transport.metrics().peers.n1?.rejected).toEqual({ "wrong-stream": 1 });
  });
});

describe("oversized messages", () => {
  it("are dropped on send with a logged MessageTooLargeError, and nothing is sent", async () => {
    const logger = new RecordingLogger();
    cluster = await startTestNodes(["n1", "n2"], {
      transport: { ...fast, logger, maxMessageBytes: 64 << 10 },
    });
    const n1 = cluster.node("n1");
    const n2 = cluster.node("n2");
    n1.transport.send(append("n1", "n2", 0, 4, 50_000));
    const [record] = logger.find("error", "more than maxMessageBytes (65536)");
    expect(isMessageTooLargeError(record?.fields.err)).toBe(true);
    expect(record?.message).toMatch(
      /^append message from n1 to n2 is 200\d{3} bytes on the wire, more than maxMessageBytes \(65536\); dropped instead of sent$/,
    );
    expect(n1.transport.metrics().peers.n2?.dropped).toEqual({ "too-large": 1 });
    await stillServes(n1, n2);
    expect(n2.inbox.ofType("append")).toEqual([]);
    expect(n1.inbox.unreachable).toEqual([]);
  });

  it("are refused by a receiver with a smaller limit (ResourceExhausted), which keeps serving", async () => {
    const receiverLogger = new RecordingLogger();
    const receiver = createRaftTransport({
      id: "n2",
      peers: {},
      maxMessageBytes: 64 << 10,
      logger: receiverLogger,
    });
    const inbox = new Inbox();
    receiver.start(inbox);
    const server = await startNodeServer(receiver);
    cleanups.push(async () => {
      await receiver.close();
      await server.close();
    });
    const error = await sendBatches(server.baseUrl, [
      [serializeMessage(append("n1", "n2", 0, 4, 50_000))],
    ]);
    expect(error?.code).toBe(Code.ResourceExhausted);
    expect(receiver.metrics().rejectedStreams).toEqual({ "too-large": 1 });
    expect(receiverLogger.find("warn", "request over the limit")).toHaveLength(1);
    expect(
      await sendBatches(server.baseUrl, [[serializeMessage(heartbeat("n1", "n2", 1))]]),
    ).toBeUndefined();
    expect(inbox.messages).toEqual([heartbeat("n1", "n2", 1)]);
  });
});

describe("a node that is not started", () => {
  it("refuses streams with Unavailable, and senders get through once it starts", async () => {
    const receiver = createRaftTransport({ id: "n2", peers: {} });
    const server = await startNodeServer(receiver);
    const sender = createRaftTransport({ ...fast, id: "n1", peers: { n2: server.baseUrl } });
    const senderInbox = new Inbox();
    sender.start(senderInbox);
    cleanups.push(async () => {
      await sender.close();
      await receiver.close();
      await server.close();
    });
    sender.send(heartbeat("n1", "n2", 1));
    await waitFor(() => senderInbox.unreachable.includes("n2"), "the refusal");
    expect(receiver.metrics().rejectedStreams.unavailable).toBeGreaterThanOrEqual(1);
    const inbox = new Inbox();
    receiver.start(inbox);
    await waitFor(() => {
      sender.send(heartbeat("n1", "n2", 2));
      return inbox.messages.length > 0;
    }, "delivery after start");
  });
});
