import type * as http from "node:http";
import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { RaftService } from "@raftstore/proto/raft/v1";
import { clusterIdHeader } from "./client-stream.js";
import { InvalidTransportOptionsError } from "./errors.js";
import { decodeRequestPayload, FrameReader } from "./grpc-frames.js";
import type { Inbound, InboundStream } from "./inbound.js";
import type { StreamKind } from "./outbound-stream.js";
import { requestTlsInfo } from "./tls.js";
import { internalsOf, type RaftTransport } from "./transport.js";

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/** Options of `createRaftStreamHandler`. */
export interface RaftStreamHandlerOptions {
  /** The transport (from `createRaftTransport`) whose `start(handler)` receives the messages. */
  readonly transport: RaftTransport;
  /**
   * Serves every other request: normally connect's `connectNodeAdapter`, with the routes of
   * `createRaftServiceRoutes({ transport })` among its own, which then serve the raft streams
   * of the Connect and gRPC-Web protocols and of compressed gRPC.
   */
  readonly fallback: (req: NodeRequest, res: NodeResponse) => void;
}

const { NGHTTP2_NO_ERROR } = http2.constants;

/** The answer of a stream that ended well: one empty response message. */
const emptyResponseFrame = new Uint8Array(5);

/**
 * A Node.js request handler that receives the raft streams (RaftService.SendMessages and
 * InstallSnapshot over plain gRPC on HTTP/2, as every raftstore node sends them) itself, and
 * hands every other request to `fallback`.
 *
 * connect's router serves a client stream through a chain of async iterables, a promise or
 * more per request at every stage, and decodes each request with protobuf-es; for the small
 * requests of a busy leader's heartbeats and appends that is a tenth of a node's CPU. This path
 * cuts the frames out of the body's chunks as they arrive, reads each request's messages in
 * place, and hands them to the same `Inbound` synchronously. It honours what connect's routes
 * do: the transport's `maxMessageBytes` per request (ResourceExhausted), `grpc-timeout`, the
 * client certificate's identity, and connect's status encoding, so a sender sees the same
 * codes and messages from either path.
 *
 * Throws InvalidTransportOptionsError for a transport that `createRaftTransport` did not make.
 */
export function createRaftStreamHandler(
  options: RaftStreamHandlerOptions,
): (req: NodeRequest, res: NodeResponse) => void {
  const transport = internalsOf(options.transport);
  if (transport === undefined) {
    throw new InvalidTransportOptionsError(
      "expected a transport made by createRaftTransport, found another object",
    );
  }
  const { inbound } = transport;
  const readMaxBytes = transport.options.maxMessageBytes;
  const kinds = new Map<string, StreamKind>([
    [`/${RaftService.typeName}/${RaftService.method.sendMessages.name}`, "messages"],
    [`/${RaftService.typeName}/${RaftService.method.installSnapshot.name}`, "snapshots"],
  ]);
  const { fallback } = options;
  return (req, res) => {
    const kind = req.httpVersionMajor === 2 ? kinds.get(req.url ?? "") : undefined;
    const headers = req.headers;
    const contentType = headers["content-type"];
    if (
      kind === undefined ||
      req.method !== "POST" ||
      (contentType !== "application/grpc" && contentType !== "application/grpc+proto") ||
      (headers["grpc-encoding"] !== undefined && headers["grpc-encoding"] !== "identity")
    ) {
      fallback(req, res);
      return;
    }
    serveStream(
      req as http2.Http2ServerRequest,
      res as http2.Http2ServerResponse,
      kind,
      contentType,
      inbound,
      readMaxBytes,
    );
  };
}

function serveStream(
  req: http2.Http2ServerRequest,
  res: http2.Http2ServerResponse,
  kind: StreamKind,
  contentType: string,
  inbound: Inbound,
  readMaxBytes: number,
): void {
  const timeoutHeader = req.headers["grpc-timeout"];
  const timeout = parseTimeout(
    typeof timeoutHeader === "string" ? timeoutHeader : null,
    Number.MAX_SAFE_INTEGER,
  );
  let stream: InboundStream;
  try {
    if (timeout.error !== undefined) throw timeout.error;
    const clusterId = req.headers[clusterIdHeader];
    stream = inbound.open(
      kind,
      requestTlsInfo(req),
      typeof clusterId === "string" ? clusterId : undefined,
      (error) => finish(error),
    );
  } catch (error) {
    req.resume();
    answer(res, contentType, error);
    return;
  }
  const reader = new FrameReader(readMaxBytes);
  let deadline: NodeJS.Timeout | undefined;
  let finished = false;
  /** Ends the stream: with `error`, or well when it is undefined. */
  const finish = (error: unknown) => {
    if (finished) return;
    finished = true;
    req.off("data", onData);
    req.off("end", onEnd);
    req.stream.off("close", onClose);
    clearTimeout(deadline);
    stream.done();
    // What else the client sends is read and discarded, until it sees the answer and stops.
    req.resume();
    answer(res, contentType, error);
  };
  const onData = (chunk: Buffer) => {
    let payloads: Uint8Array[];
    let messages: Uint8Array[];
    try {
      // Views of a plain Uint8Array: Buffer's `slice()` is a view where a Uint8Array's is a
      // copy, and the decoder may keep what it slices.
      payloads = reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (error) {
      finish(stream.failed(error));
      return;
    }
    for (const payload of payloads) {
      try {
        messages = decodeRequestPayload(payload);
      } catch (error) {
        finish(stream.failed(error));
        return;
      }
      try {
        stream.receive(messages);
      } catch (refusal) {
        finish(refusal);
        return;
      }
      if (finished) return;
    }
  };
  const onEnd = () => {
    if (reader.partialBytes === 0) {
      finish(undefined);
      return;
    }
    const error = new ConnectError(
      `protocol error: the request ended inside a message frame (${reader.partialBytes} bytes of it)`,
      Code.InvalidArgument,
    );
    // A client that resets its stream mid-frame (a peer whose transport closes while a chunk is
    // on its way) ends the body here too: Node reports the reset only afterwards. Which it was
    // is known once the stream closes; it is counted and logged then, a reset as a client gone.
    const h2 = req.stream;
    h2.once("close", () => {
      if (h2.rstCode === NGHTTP2_NO_ERROR) stream.failed(error);
      else stream.failed(new ConnectError("the client went away", Code.Canceled));
    });
    finish(stream.failed(error, false));
  };
  // The client reset the stream, or its connection went: nobody is left to answer.
  const onClose = () =>
    finish(stream.failed(new ConnectError("the client went away", Code.Canceled)));
  if (timeout.timeoutMs !== undefined) {
    const expire = () => finish(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    deadline = setTimeout(expire, Math.min(Math.max(timeout.timeoutMs, 0), 2 ** 31 - 1));
  }
  req.on("data", onData);
  req.on("end", onEnd);
  req.stream.once("close", onClose);
}

/** Answers a stream, unless its client is gone: connect's gRPC answer, status in the trailers. */
function answer(res: http2.Http2ServerResponse, contentType: string, error: unknown): void {
  const h2 = res.stream;
  if (h2.destroyed || h2.closed || res.headersSent) return;
  try {
    res.writeHead(200, { "content-type": contentType });
    if (error === undefined) {
      res.addTrailers({ "grpc-status": "0" });
      res.end(emptyResponseFrame);
      return;
    }
    const trailer = setTrailerStatus(new Headers(), ConnectError.from(error, Code.Internal));
    const trailers: http2.OutgoingHttpHeaders = {};
    trailer.forEach((value, key) => {
      trailers[key] = value;
    });
    res.addTrailers(trailers);
    res.end();
  } catch (failure) {
    // Headers Node refuses, say: reset the stream, so the client sees the stream fail.
    h2.destroy(failure instanceof Error ? failure : new Error(String(failure)));
  }
}
