import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { Code, type Transport } from "@connectrpc/connect";
import {
  compressionGzip,
  connectNodeAdapter,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import type { Message } from "@raftstore/raft";
import { afterEach, describe, expect, it } from "vitest";
import { encodeRequestFrame } from "./grpc-frames.js";
import { createRaftServiceRoutes } from "./routes.js";
import { serializeMessage } from "./serialize-message.js";
import { createRaftStreamHandler } from "./stream-handler.js";
import { Inbox, waitFor } from "./test-support/cluster.js";
import { append, heartbeat } from "./test-support/messages.js";
import { startNodeServer } from "./test-support/node-server.js";
import { postRawGrpc, sendBatches, streamBatches } from "./test-support/raw-client.js";
import { raftContextValues } from "./tls.js";
import { createRaftTransport } from "./transport.js";
import { framedSize } from "./wire-format.js";

// The lean receive path over real loopback HTTP/2, with raw clients where a well-behaved
// sender would never do what is tested (keep a stream open past its deadline, reset it
// mid-frame, cut its frames into odd pieces). Nothing asserts on how long anything took.

const sendMessagesPath = "/raftstore.raft.v1.RaftService/SendMessages";
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  // Last registered first: clients go before the servers they talk to.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const hb = (context: number) => heartbeat("n1", "n2", context);

/** One gRPC request frame carrying `messages`. */
function frameOf(messages: readonly Message[]): Uint8Array {
  const bytes = messages.map(serializeMessage);
  const size = bytes.reduce((sum, m) => sum + framedSize(m.length), 0);
  return encodeRequestFrame(bytes, size);
}

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** Node n2's transport, started. */
function startTransport() {
  const transport = createRaftTransport({ id: "n2", peers: {} });
  const inbox = new Inbox();
  transport.start(inbox);
  cleanups.push(() => transport.close());
  return { transport, inbox };
}

/** Node n2 with the lean handler in front of connect's routes, as a node serves. */
async function startLeanNode() {
  const { transport, inbox } = startTransport();
  const server = await startNodeServer(transport, { receiver: "lean" });
  cleanups.push(() => server.close());
  return { transport, inbox, server };
}

/**
 * Node n2 on a plain HTTP/2 server whose fallback records each request it is handed (then
 * serves it with connect's routes), and which records the body chunks of the lean streams.
 */
async function startRecordingNode() {
  const { transport, inbox } = startTransport();
  const adapter = connectNodeAdapter({
    routes: createRaftServiceRoutes({ transport }),
    contextValues: (request) => raftContextValues(request),
  });
  const fellBack: string[] = [];
  const chunks: number[] = [];
  const lean = createRaftStreamHandler({
    transport,
    fallback: (req, res) => {
      fellBack.push(`HTTP/${req.httpVersionMajor} ${req.url} ${req.headers["content-type"]}`);
      adapter(req, res);
    },
  });
  const handler: typeof lean = (req, res) => {
    const before = fellBack.length;
    lean(req, res);
    // The handler decided synchronously; a lean stream's chunks are seen as it sees them.
    if (fellBack.length === before) req.on("data", (chunk: Buffer) => chunks.push(chunk.length));
  };
  const listen = async (server: http.Server | http2.Http2Server) => {
    const sockets = new Set<Socket>();
    server.on("connection", (socket: Socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const baseUrl = await listen(http2.createServer(handler));
  return { transport, inbox, fellBack, chunks, baseUrl, handler, listen };
}

/** Sends one request of `messages` to SendMessages through a connect client `transport`. */
function callWith(transport: Transport, messages: readonly Message[]) {
  return streamBatches(transport, [messages.map(serializeMessage)]);
}

type RawAnswer = { httpStatus: number; status?: string; message?: string };

/**
 * A raw gRPC stream, to SendMessages unless `headers` say otherwise. `answer` comes with the
 * trailers (or the stream's end): the server may answer while the request is still open.
 */
function openRawStream(baseUrl: string, headers: http2.OutgoingHttpHeaders = {}) {
  const session = http2.connect(baseUrl);
  session.on("error", () => {});
  cleanups.push(() => {
    session.destroy();
  });
  const stream = session.request({
    ":method": "POST",
    ":path": sendMessagesPath,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  // A reset (from either side) is what some tests are about, not a failure.
  stream.on("error", () => {});
  stream.on("data", () => {});
  let seen: http2.IncomingHttpHeaders = {};
  stream.on("response", (h) => {
    seen = h;
  });
  const answer = new Promise<RawAnswer>((resolve) => {
    const done = (h: http2.IncomingHttpHeaders) => {
      const message = h["grpc-message"];
      resolve({
        httpStatus: Number(h[":status"]),
        status: h["grpc-status"] as string | undefined,
        message: message === undefined ? undefined : decodeURIComponent(String(message)),
      });
    };
    stream.on("trailers", (t) => done({ ...seen, ...t }));
    stream.on("close", () => done(seen));
  });
  const write = (bytes: Uint8Array) => new Promise((resolve) => stream.write(bytes, resolve));
  return { session, stream, answer, write };
}
type RawStream = ReturnType<typeof openRawStream>;

describe("requests that are not raft streams over plain gRPC", () => {
  it("reach the fallback, which serves them, while plain gRPC streams do not", async () => {
    const node = await startRecordingNode();
    const sessions = new Http2SessionManager(node.baseUrl);
    cleanups.push(() => sessions.abort());
    const base = { baseUrl: node.baseUrl, httpVersion: "2" as const, sessionManager: sessions };
    const clients = [
      createConnectTransport(base),
      createGrpcWebTransport(base),
      createGrpcTransport({ ...base, useBinaryFormat: false }),
      createGrpcTransport({ ...base, sendCompression: compressionGzip }),
    ];
    for (const [i, client] of clients.entries()) {
      expect(await callWith(client, [hb(i + 1)])).toBeUndefined();
    }
    expect(node.fellBack).toEqual([
      `HTTP/2 ${sendMessagesPath} application/connect+proto`,
      `HTTP/2 ${sendMessagesPath} application/grpc-web+proto`,
      `HTTP/2 ${sendMessagesPath} application/grpc+json`,
      // Compressed: connect's gRPC client says +proto, and grpc-encoding: gzip.
      `HTTP/2 ${sendMessagesPath} application/grpc+proto`,
    ]);
    // Plain, uncompressed gRPC (application/grpc+proto from connect) is the handler's own.
    expect(await sendBatches(node.baseUrl, [[serializeMessage(hb(5))]])).toBeUndefined();
    expect(node.fellBack).toHaveLength(4);
    expect(node.chunks.length).toBeGreaterThan(0);
    expect(node.inbox.messages).toEqual([hb(1), hb(2), hb(3), hb(4), hb(5)]);
  });

  it("reach the fallback on another path, and over HTTP/1.1", async () => {
    const node = await startRecordingNode();
    const otherPath = "/raftstore.raft.v1.RaftService/NoSuchMethod";
    const unknown = openRawStream(node.baseUrl, { ":path": otherPath });
    unknown.stream.end(frameOf([hb(1)]));
    // connect's router answers an unknown path with a plain 404.
    expect(await unknown.answer).toMatchObject({ httpStatus: 404 });
    const h1 = await node.listen(http.createServer(node.handler));
    await fetch(`${h1}${sendMessagesPath}`, {
      method: "POST",
      headers: { "content-type": "application/grpc" },
      body: frameOf([hb(2)]),
    }).then((response) => response.arrayBuffer());
    expect(node.fellBack).toEqual([
      `HTTP/2 ${otherPath} application/grpc`,
      `HTTP/1 ${sendMessagesPath} application/grpc`,
    ]);
    // connect's routes serve a client stream over HTTP/1.1 too, when the body comes whole.
    expect(node.inbox.messages).toEqual([hb(2)]);
  });
});

describe("grpc-timeout", () => {
  it("ends a stream its client keeps open past the deadline with DeadlineExceeded", async () => {
    const { transport, inbox, server } = await startLeanNode();
    const raw = openRawStream(server.baseUrl, { "grpc-timeout": "200m" });
    await raw.write(frameOf([hb(1)]));
    // The client never ends its request: only the deadline can end the stream.
    expect(await raw.answer).toMatchObject({ status: String(Code.DeadlineExceeded) });
    expect(raw.stream.writableEnded).toBe(false);
    // Whether hb(1) got in first depends on timing (a stalled server could expire first): the
    // deadline is what is tested here, and that the node serves on after it.
    expect(transport.metrics().activeStreams).toBe(0);
    expect(await sendBatches(server.baseUrl, [[serializeMessage(hb(2))]])).toBeUndefined();
    expect(inbox.messages.at(-1)).toEqual(hb(2));
  });

  it("refuses a stream with an invalid grpc-timeout, and delivers none of it", async () => {
    const { transport, inbox, server } = await startLeanNode();
    for (const value of ["soon", "200", "-1m", "123456789m", "1x"]) {
      const raw = openRawStream(server.baseUrl, { "grpc-timeout": value });
      raw.stream.end(frameOf([hb(1)]));
      expect(await raw.answer).toMatchObject({
        status: String(Code.InvalidArgument),
        message: `protocol error: invalid grpc timeout value: ${value}`,
      });
    }
    expect(inbox.messages).toEqual([]);
    expect(transport.metrics().activeStreams).toBe(0);
  });
});

describe("the end of a lean stream", () => {
  it("comes with Unavailable when the transport closes, and leaves no stream counted open", async () => {
    const { transport, inbox, server } = await startLeanNode();
    const raw = openRawStream(server.baseUrl);
    await raw.write(frameOf([hb(1)]));
    await waitFor(() => inbox.messages.length === 1, "the first heartbeat");
    expect(transport.metrics().activeStreams).toBe(1);
    await transport.close();
    expect(await raw.answer).toMatchObject({
      status: String(Code.Unavailable),
      message: "raft node n2 is closing",
    });
    expect(transport.metrics().activeStreams).toBe(0);
    // New streams are refused the same way.
    const late = await postRawGrpc(server.baseUrl, sendMessagesPath, frameOf([hb(2)]));
    expect(late.status).toBe(String(Code.Unavailable));
    expect(inbox.messages).toEqual([hb(1)]);
  });

  it("leaves no stream counted open when the client resets it or drops its connection mid-frame", async () => {
    const { transport, inbox, server } = await startLeanNode();
    /** Opens a stream, sends a whole frame and 7 bytes of the next, then lets `go` end it. */
    const cutShort = async (context: number, go: (raw: RawStream) => void) => {
      const raw = openRawStream(server.baseUrl);
      await raw.write(concat(frameOf([hb(context)]), frameOf([hb(100)]).subarray(0, 7)));
      await waitFor(() => inbox.messages.length === context + 1, "the whole frame's message");
      expect(transport.metrics().activeStreams).toBe(1);
      go(raw);
      await waitFor(() => transport.metrics().activeStreams === 0, "the stream to close");
    };
    await cutShort(0, (raw) => raw.session.destroy());
    // A client gone is not a malformed request.
    expect(transport.metrics().rejectedStreams).toEqual({});
    expect(transport.metrics().decodeErrors).toBe(0);
    // On RST_STREAM, Node ends the request body before it reports the reset: the handler must
    // not take it for a body cut inside a frame.
    await cutShort(1, (raw) => raw.stream.close(http2.constants.NGHTTP2_CANCEL));
    expect(await sendBatches(server.baseUrl, [[serializeMessage(hb(2))]])).toBeUndefined();
    expect(inbox.messages).toEqual([hb(0), hb(1), hb(2)]);
    expect(transport.metrics().activeStreams).toBe(0);
    expect(transport.metrics().rejectedStreams).toEqual({});
    expect(transport.metrics().decodeErrors).toBe(0);
  });

  it("comes with InvalidArgument when the body ends inside a frame, after the whole ones", async () => {
    const { transport, inbox, server } = await startLeanNode();
    const body = concat(frameOf([hb(1)]), frameOf([hb(2)]).subarray(0, 3));
    const answer = await postRawGrpc(server.baseUrl, sendMessagesPath, body);
    expect(answer.status).toBe(String(Code.InvalidArgument));
    expect(answer.message).toMatch(/ended inside a message frame \(3 bytes of it\)$/);
    expect(inbox.messages).toEqual([hb(1)]);
    // Counted once the stream has closed without a reset.
    await waitFor(
      () => transport.metrics().rejectedStreams.unparsable === 1,
      "the cut body to be counted",
    );
    expect(transport.metrics().decodeErrors).toBe(1);
  });
});

describe("frames however the body's chunks cut them", () => {
  it("delivers two frames that arrive in one DATA chunk, in order", async () => {
    const node = await startRecordingNode();
    const body = concat(frameOf([hb(1)]), frameOf([hb(2), hb(3)]));
    const raw = openRawStream(node.baseUrl);
    raw.stream.end(body);
    expect(await raw.answer).toMatchObject({ status: "0" });
    // One chunk held both frames, or the test would not test what it says.
    expect(node.chunks).toContain(body.length);
    expect(node.inbox.messages).toEqual([hb(1), hb(2), hb(3)]);
  });

  it("delivers frames cut into many small writes, headers included, in order", async () => {
    const node = await startRecordingNode();
    const big = append("n1", "n2", 0, 3, 1000);
    const body = concat(frameOf([hb(1)]), frameOf([big]), frameOf([hb(2), hb(3)]));
    const raw = openRawStream(node.baseUrl);
    for (let at = 0, size = 1; at < body.length; at += size, size = (size % 9) + 1) {
      await raw.write(body.subarray(at, at + size));
    }
    raw.stream.end();
    expect(await raw.answer).toMatchObject({ status: "0" });
    expect(node.chunks.length).toBeGreaterThan(100);
    expect(node.inbox.messages).toEqual([hb(1), big, hb(2), hb(3)]);
  });
});
