import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Http2SessionManager } from "@connectrpc/connect-node";
import { EncodedRaftMessagesSchema } from "@raftstore/proto/raft/v1";
import { afterEach, describe, expect, it } from "vitest";
import type { Batch } from "./batch-source.js";
import { runClientStream } from "./client-stream.js";
import { FrameReader } from "./grpc-frames.js";
import { framedSize } from "./wire-format.js";

// The sending half of a raft stream against servers that answer every way a peer can: well,
// with a status in the trailers or in the headers, with an HTTP error, with a reset, early,
// slowly. The raft-transport suites cover it against both real receiving paths.

const path = "/raftstore.raft.v1.RaftService/SendMessages";
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function batchOf(...messages: Uint8Array[]): Batch {
  return { messages, size: messages.reduce((sum, m) => sum + framedSize(m.length), 0) };
}

/** A source that gives `batches` and then ends, or waits for ever with `endless`. */
function sourceOf(batches: Batch[], options: { endless?: boolean } = {}): AsyncIterator<Batch> {
  let i = 0;
  return {
    next: () => {
      const value = batches[i++];
      if (value !== undefined) return Promise.resolve({ done: false, value });
      if (options.endless === true) return new Promise(() => {});
      return Promise.resolve({ done: true, value: undefined });
    },
  };
}

interface Received {
  /** The messages of each request frame, in order. */
  requests: Uint8Array[][];
  /** Resolves when the client ends its requests. */
  ended: Promise<void>;
  /** Resolves when the stream is closed, with its reset code (0: none). */
  closed: Promise<number>;
}

/** An HTTP/2 server whose every stream is answered by `answer`; its streams' requests are read. */
async function startServer(
  answer: (stream: http2.ServerHttp2Stream, received: Received) => void,
): Promise<{ sessions: Http2SessionManager; received: Received[] }> {
  const server = http2.createServer();
  const received: Received[] = [];
  server.on("stream", (stream) => {
    const reader = new FrameReader(64 << 20);
    const requests: Uint8Array[][] = [];
    const ended = new Promise<void>((resolve) => stream.on("end", resolve));
    const closed = new Promise<number>((resolve) =>
      stream.on("close", () => resolve(stream.rstCode)),
    );
    stream.on("data", (chunk: Buffer) => {
      for (const payload of reader.push(new Uint8Array(chunk))) {
        requests.push(fromBinary(EncodedRaftMessagesSchema, payload).messages);
      }
    });
    stream.on("error", () => {});
    const entry = { requests, ended, closed };
    received.push(entry);
    answer(stream, entry);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const sessions = new Http2SessionManager(`http://127.0.0.1:${port}`);
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  cleanups.push(() => sessions.abort());
  return { sessions, received };
}

const grpcHeaders = { ":status": 200, "content-type": "application/grpc+proto" };

/** Answers OK once the client ended its requests, as a receiver does. */
function answerOkAtEnd(stream: http2.ServerHttp2Stream, received: Received): void {
  void received.ended.then(() => {
    if (stream.closed) return;
    stream.respond(grpcHeaders, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(new Uint8Array(5));
  });
}

/** Runs a stream of `source` to the server, which must fail it; gives the error. */
async function failureOf(
  sessions: Http2SessionManager,
  source: AsyncIterator<Batch>,
): Promise<ConnectError> {
  try {
    await runClientStream(sessions, path, source, new AbortController().signal);
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the stream to fail, it succeeded");
}

describe("a client stream", () => {
  it("writes each batch as one request frame, in order, and resolves on the peer's OK", async () => {
    const { sessions, received } = await startServer(answerOkAtEnd);
    const batches = [
      batchOf(Uint8Array.of(1, 2, 3)),
      batchOf(new Uint8Array(200).fill(7), Uint8Array.of(), Uint8Array.of(9)),
      batchOf(new Uint8Array(20_000).fill(5)),
    ];
    await runClientStream(sessions, path, sourceOf(batches), new AbortController().signal);
    expect(received).toHaveLength(1);
    expect(received[0]?.requests).toEqual(batches.map((b) => b.messages));
  });

  it("waits for flow control instead of buffering: a peer that reads late still gets it all", async () => {
    const { sessions, received } = await startServer((stream, r) => {
      stream.pause();
      setTimeout(() => stream.resume(), 100);
      answerOkAtEnd(stream, r);
    });
    // Far more than the 64 KiB a stream may have in flight before the peer reads.
    const batches = Array.from({ length: 16 }, (_, i) => batchOf(new Uint8Array(64 << 10).fill(i)));
    await runClientStream(sessions, path, sourceOf(batches), new AbortController().signal);
    expect(received[0]?.requests).toEqual(batches.map((b) => b.messages));
  });

  it("fails with the status and message a peer sends in its trailers, and stops writing", async () => {
    const { sessions, received } = await startServer((stream) => {
      stream.once("data", () => {
        stream.respond(grpcHeaders, { waitForTrailers: true });
        stream.on("wantTrailers", () =>
          stream.sendTrailers({
            "grpc-status": String(Code.PermissionDenied),
            "grpc-message": encodeURIComponent("expected n1, found n3"),
          }),
        );
        stream.end();
      });
    });
    const error = await failureOf(
      sessions,
      sourceOf([batchOf(Uint8Array.of(1))], { endless: true }),
    );
    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.rawMessage).toBe("expected n1, found n3");
    // The requests, which would never end, were cancelled.
    expect(await received[0]?.closed).toBe(http2.constants.NGHTTP2_CANCEL);
  });

  it("fails with a status the peer sends in its headers (trailers-only)", async () => {
    const { sessions } = await startServer((stream) => {
      stream.respond(
        { ...grpcHeaders, "grpc-status": String(Code.Unavailable), "grpc-message": "closing" },
        { endStream: true },
      );
    });
    const error = await failureOf(sessions, sourceOf([], { endless: true }));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toBe("closing");
  });

  it("fails with the code of an HTTP error, as connect maps it", async () => {
    const { sessions } = await startServer((stream) => {
      stream.respond({ ":status": 503, "content-type": "text/plain" }, { endStream: true });
    });
    const error = await failureOf(sessions, sourceOf([]));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toBe("HTTP 503");
  });

  it("fails with the code of an HTTP/2 reset", async () => {
    const resets = [
      [http2.constants.NGHTTP2_REFUSED_STREAM, Code.Unavailable],
      [http2.constants.NGHTTP2_INTERNAL_ERROR, Code.Internal],
      [http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, Code.ResourceExhausted],
    ] as const;
    for (const [rstCode, code] of resets) {
      const { sessions } = await startServer((stream) => stream.close(rstCode));
      const error = await failureOf(sessions, sourceOf([], { endless: true }));
      expect(error.code).toBe(code);
    }
  });

  it("fails when a peer ends its answer without a status", async () => {
    const { sessions } = await startServer((stream, r) => {
      void r.ended.then(() => {
        stream.respond(grpcHeaders);
        stream.end(new Uint8Array(5));
      });
    });
    const error = await failureOf(sessions, sourceOf([]));
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toBe("protocol error: missing status");
  });

  it("resolves when a peer answers OK before the requests end, and cancels the rest", async () => {
    const { sessions, received } = await startServer((stream) => {
      stream.respond(grpcHeaders, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(new Uint8Array(5));
    });
    await runClientStream(
      sessions,
      path,
      sourceOf([], { endless: true }),
      new AbortController().signal,
    );
    expect(await received[0]?.closed).toBe(http2.constants.NGHTTP2_CANCEL);
  });

  it("is cancelled by its signal, with the signal's reason, and the peer sees it go", async () => {
    const { sessions, received } = await startServer(() => {});
    const abort = new AbortController();
    const running = runClientStream(
      sessions,
      path,
      sourceOf([batchOf(Uint8Array.of(1))], { endless: true }),
      abort.signal,
    );
    await expect.poll(() => received[0]?.requests.length).toBe(1);
    const reason = new ConnectError("the raft transport is closing", Code.Canceled);
    abort.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(await received[0]?.closed).toBe(http2.constants.NGHTTP2_CANCEL);
  });
});
