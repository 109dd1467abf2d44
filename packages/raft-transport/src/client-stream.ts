import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { validateResponse, validateTrailer } from "@connectrpc/connect/protocol-grpc";
import type { Batch } from "./batch-source.js";
import { encodeRequestFrame } from "./grpc-frames.js";

/** What a client stream needs of a peer's connection (an Http2SessionManager). */
export interface StreamSessions {
  request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: http2.ClientSessionRequestOptions,
  ): Promise<http2.ClientHttp2Stream>;
  /** Tells the keepalive that the connection is alive. */
  notifyResponseByteRead(stream: http2.ClientHttp2Stream): void;
}

/** The header naming the sender's cluster (RaftTransportOptions.clusterId). */
export const clusterIdHeader = "raftstore-cluster-id";

/** The headers of every raft stream, with the sender's cluster when it has one. */
export function streamRequestHeaders(clusterId: string | undefined): http2.OutgoingHttpHeaders {
  const headers: http2.OutgoingHttpHeaders = {
    "content-type": "application/grpc+proto",
    te: "trailers",
    "user-agent": "raftstore-raft-transport",
  };
  if (clusterId !== undefined) headers[clusterIdHeader] = clusterId;
  return headers;
}

const defaultRequestHeaders = streamRequestHeaders(undefined);

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = http2.constants;

/**
 * Runs one gRPC client stream to `path` on the peer's connection: writes each batch `source`
 * gives as one request frame, taking the next once the last is written out (so HTTP/2 flow
 * control holds the source back, not a buffer), ends the requests when the source ends, and
 * reads the answer.
 * Resolves once the peer answered OK; rejects with a ConnectError otherwise, as connect's gRPC
 * transport words it: the status the peer answered with, an HTTP/2 reset, the connection's
 * failure, or `signal`'s reason (the stream is then cancelled).
 *
 * connect's client streams each request through a chain of async iterables and protobuf-es;
 * here a batch is one frame written at once (`encodeRequestFrame`), which is most of what a
 * leader's transport costs per batch of appends and heartbeats.
 */
export async function runClientStream(
  sessions: StreamSessions,
  path: string,
  source: AsyncIterator<Batch>,
  signal: AbortSignal,
  requestHeaders: http2.OutgoingHttpHeaders = defaultRequestHeaders,
): Promise<void> {
  signal.throwIfAborted();
  const stream = await sessions.request("POST", path, requestHeaders, {});
  return new Promise<void>((resolve, reject) => {
    /** The peer's answer, once known: null when OK. */
    let status: ConnectError | null | undefined;
    /** Why the stream failed underneath, if it did. */
    let failure: unknown;
    let responseHeader: Headers | undefined;
    let requestsEnded = false;
    let settled = false;

    const settle = (error: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (!stream.closed) stream.close(NGHTTP2_CANCEL);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = () => settle(signal.reason);
    /** The peer answered: an answer before the requests ended cancels what is left of them. */
    const answered = (error: ConnectError | null) => {
      if (status !== undefined) return;
      status = error;
      if (!requestsEnded && !stream.closed) stream.close(NGHTTP2_CANCEL);
    };

    stream.on("response", (raw) => {
      const header = toHeaders(raw);
      responseHeader = header;
      try {
        const { foundStatus, headerError } = validateResponse(Number(raw[":status"]), header);
        if (foundStatus) answered(headerError ?? null);
      } catch (error) {
        answered(ConnectError.from(error));
      }
    });
    stream.on("trailers", (raw) => {
      try {
        validateTrailer(toHeaders(raw), responseHeader ?? new Headers());
        answered(null);
      } catch (error) {
        answered(ConnectError.from(error));
      }
    });
    // The answer's one (empty) message carries nothing; reading it keeps the stream flowing.
    stream.on("data", () => sessions.notifyResponseByteRead(stream));
    stream.on("error", (error) => {
      failure ??= error;
    });
    stream.on("close", () => {
      if (status !== undefined) settle(status ?? undefined);
      // Node reports a reset as an error too ("Stream closed with error code …"); its code says
      // more. Any other failure (the connection went, a PING timed out) is the peer unreachable.
      else if (failure !== undefined && !isResetError(failure)) {
        settle(ConnectError.from(failure, Code.Unavailable));
      } else settle(resetError(stream.rstCode));
    });
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();

    const writeAll = async () => {
      for (;;) {
        const next = await source.next();
        if (settled || status !== undefined || stream.closed || stream.destroyed) return;
        if (next.done === true) {
          requestsEnded = true;
          stream.end();
          return;
        }
        // The next batch is taken once this one is written out, as connect's client does:
        // what queues up meanwhile leaves together, in one frame, instead of a frame each.
        const frame = encodeRequestFrame(next.value.messages, next.value.size);
        await new Promise<void>((resolve, reject) =>
          stream.write(frame, (error) => (error ? reject(error) : resolve())),
        );
      }
    };
    writeAll().catch((error: unknown) => {
      failure ??= error;
      stream.close(NGHTTP2_CANCEL);
    });
  });
}

function isResetError(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === "ERR_HTTP2_STREAM_ERROR";
}

/** The error of a stream that closed without an answer, after an HTTP/2 reset (or none). */
function resetError(rstCode: number): ConnectError {
  if (rstCode === NGHTTP2_NO_ERROR) {
    return new ConnectError("protocol error: missing status", Code.Internal);
  }
  const code =
    rstCode === http2.constants.NGHTTP2_REFUSED_STREAM
      ? Code.Unavailable
      : rstCode === NGHTTP2_CANCEL
        ? Code.Canceled
        : rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM
          ? Code.ResourceExhausted
          : Code.Internal;
  return new ConnectError(`http/2 stream closed with error code 0x${rstCode.toString(16)}`, code);
}

function toHeaders(raw: http2.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const key in raw) {
    if (key.startsWith(":")) continue;
    const value = raw[key];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(key, v);
    else headers.append(key, value);
  }
  return headers;
}
