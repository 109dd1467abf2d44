import type * as http2 from "node:http2";
import {
  create,
  type DescMessage,
  type DescMethodUnary,
  type fromBinary,
  isMessage,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport, type UnaryResponse } from "@connectrpc/connect";
import { codeFromHttpStatus, findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { fromBinaryFast } from "@raftstore/storage";
import { encodeMessageFrame, framePayload, toHeaders } from "./grpc-wire.js";
import type { GuardedSessionManager } from "./guarded-session-manager.js";

/** The most bytes a response may have; more is a ResourceExhausted error. */
const defaultReadMaxBytes = 64 * 1024 * 1024;
const NGHTTP2_CANCEL = 0x8;

/**
 * A gRPC Transport for unary calls on one long-lived HTTP/2 session, without connect's
 * streaming machinery.
 *
 * connect-node runs every unary call through async iterables, a linked AbortController and a
 * Headers round trip on both ends; on a 2-core machine that is most of a forwarded call's CPU
 * (see the package README). Forwarding makes only unary calls, so this transport frames one
 * message, sends it on a stream of the session manager's connection and parses the answer
 * itself, reusing connect's own gRPC status parsing, so errors (codes, messages, details,
 * metadata from headers and trailers) arrive exactly as with connect's transport. Streaming
 * methods and interceptors go to `fallback`, connect's own transport on the same session.
 */
export function createUnaryGrpcTransport(options: {
  baseUrl: string;
  sessionManager: GuardedSessionManager;
  fallback: Transport;
  readMaxBytes?: number;
}): Transport {
  const basePath = new URL(options.baseUrl).pathname.replace(/\/+$/, "");
  const readMaxBytes = options.readMaxBytes ?? defaultReadMaxBytes;
  return {
    unary(method, signal, timeoutMs, header, input) {
      return unaryCall(
        options.sessionManager,
        `${basePath}/${method.parent.typeName}/${method.name}`,
        readMaxBytes,
        method,
        signal,
        timeoutMs,
        header,
        input,
      );
    },
    stream: (...args) => options.fallback.stream(...args),
  };
}

async function unaryCall<I extends DescMessage, O extends DescMessage>(
  sessionManager: GuardedSessionManager,
  path: string,
  readMaxBytes: number,
  method: DescMethodUnary<I, O>,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: ConstructorParameters<typeof Headers>[0] | undefined,
  input: MessageInitShape<I>,
): Promise<UnaryResponse<I, O>> {
  if (signal?.aborted) throw ConnectError.from(signal.reason, Code.Canceled);
  let frame: Buffer;
  try {
    const message = isMessage(input, method.input) ? input : create(method.input, input);
    frame = encodeMessageFrame(method.input, message);
  } catch (error) {
    // As connect's transport reports it: the caller can tell it apart by encoding again.
    throw ConnectError.from(error, Code.Internal);
  }

  const headers: http2.OutgoingHttpHeaders = {
    "content-type": "application/grpc+proto",
    te: "trailers",
  };
  if (timeoutMs !== undefined && timeoutMs > 0)
    headers["grpc-timeout"] = `${Math.ceil(timeoutMs)}m`;
  if (header !== undefined) {
    new Headers(header).forEach((value, key) => {
      headers[key] = value;
    });
  }

  // The deadline and the caller's abort cover the whole call, opening the connection included.
  return await new Promise<UnaryResponse<I, O>>((resolve, reject) => {
    let stream: http2.ClientHttp2Stream | undefined;
    let responseHeaders: http2.IncomingHttpHeaders | undefined;
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (error: unknown, response?: UnaryResponse<I, O>) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (error !== undefined) {
        if (stream !== undefined && !stream.closed) stream.close(NGHTTP2_CANCEL);
        reject(error);
      } else {
        resolve(response as UnaryResponse<I, O>);
      }
    };
    const onAbort = () => finish(ConnectError.from(signal?.reason, Code.Canceled));
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs !== undefined && timeoutMs > 0) {
      timer = setTimeout(
        () =>
          finish(
            new ConnectError(`the call timed out after ${timeoutMs} ms`, Code.DeadlineExceeded),
          ),
        timeoutMs,
      );
    }
    const send = (stream: http2.ClientHttp2Stream) => {
      stream.on("response", (h) => {
        responseHeaders = h;
      });
      stream.on("trailers", (t) => {
        trailers = t;
      });
      stream.on("data", (chunk: Buffer) => {
        received += chunk.byteLength;
        if (received > readMaxBytes + 5) {
          finish(
            new ConnectError(
              `the response exceeds the limit of ${readMaxBytes} bytes`,
              Code.ResourceExhausted,
            ),
          );
          return;
        }
        chunks.push(chunk);
        sessionManager.notifyResponseByteRead(stream);
      });
      stream.on("error", (error) => finish(fromNodeError(error)));
      stream.on("close", () => {
        if (settled) return;
        try {
          finish(undefined, parseResponse(method, stream, responseHeaders, trailers, chunks));
        } catch (error) {
          finish(error);
        }
      });
      stream.end(frame);
    };
    sessionManager.request("POST", path, headers, {}).then(
      (opened) => {
        if (settled) {
          opened.close(NGHTTP2_CANCEL);
          return;
        }
        stream = opened;
        send(opened);
      },
      (error: unknown) => finish(fromNodeError(error)),
    );
  });
}

/** Reads a finished unary gRPC exchange the way connect's gRPC transport does. */
function parseResponse<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  stream: http2.ClientHttp2Stream,
  rawHeaders: http2.IncomingHttpHeaders | undefined,
  rawTrailers: http2.IncomingHttpHeaders | undefined,
  chunks: Buffer[],
): UnaryResponse<I, O> {
  if (rawHeaders === undefined || (stream.rstCode !== undefined && stream.rstCode !== 0)) {
    const rstCode = stream.rstCode ?? 0;
    throw new ConnectError(
      `the HTTP/2 stream closed with error code 0x${rstCode.toString(16)} before an answer`,
      codeByResetCode.get(rstCode) ?? Code.Unavailable,
    );
  }
  const header = toHeaders(rawHeaders);
  const status = Number(rawHeaders[":status"]);
  // A trailers-only answer carries the status in its headers.
  const headerError = findTrailerError(header);
  if (headerError !== undefined) throw headerError;
  if (status !== 200) {
    throw new ConnectError(`HTTP ${status}`, codeFromHttpStatus(status), header);
  }
  const contentType = header.get("content-type") ?? "";
  if (!/^application\/grpc(\+proto)?(;|$)/i.test(contentType)) {
    throw new ConnectError(`unexpected content type "${contentType}"`, Code.Unknown, header);
  }
  const trailer = toHeaders(rawTrailers ?? {});
  const trailerError = findTrailerError(trailer);
  if (trailerError !== undefined) {
    header.forEach((value, key) => {
      trailerError.metadata.append(key, value);
    });
    throw trailerError;
  }
  if (rawTrailers === undefined || trailer.get("grpc-status") === null) {
    throw new ConnectError("the answer ended without a gRPC status", Code.Internal, header);
  }
  const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  if (body.byteLength < 5) {
    throw new ConnectError("the answer has no message", Code.Unimplemented, header);
  }
  if ((body[0] as number) & 1) {
    throw new ConnectError("the answer is compressed, which was not asked for", Code.Internal);
  }
  const length = body.readUInt32BE(1);
  if (body.byteLength !== 5 + length) {
    throw new ConnectError(
      `the answer has ${body.byteLength - 5} message bytes where its frame says ${length}`,
      Code.Unimplemented,
      header,
    );
  }
  let message: ReturnType<typeof fromBinary<O>>;
  try {
    message = fromBinaryFast(method.output, framePayload(body));
  } catch (error) {
    throw ConnectError.from(error, Code.Internal);
  }
  return { stream: false, service: method.parent, method, header, message, trailer };
}

/** What an HTTP/2 RST_STREAM code means, as connect-node maps it. */
const codeByResetCode = new Map<number, Code>([
  [0x1, Code.Internal], // PROTOCOL_ERROR
  [0x2, Code.Internal], // INTERNAL_ERROR
  [0x3, Code.Internal], // FLOW_CONTROL_ERROR
  [0x4, Code.Internal], // SETTINGS_TIMEOUT
  [0x6, Code.Internal], // FRAME_SIZE_ERROR
  [0x7, Code.Unavailable], // REFUSED_STREAM
  [0x8, Code.Canceled], // CANCEL
  [0x9, Code.Internal], // COMPRESSION_ERROR
  [0xa, Code.Internal], // CONNECT_ERROR
  [0xb, Code.ResourceExhausted], // ENHANCE_YOUR_CALM
  [0xc, Code.PermissionDenied], // INADEQUATE_SECURITY
  [0xd, Code.PermissionDenied], // HTTP_1_1_REQUIRED
]);

/** A Node.js socket or stream error as a ConnectError, with connect-node's codes. */
function fromNodeError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const connectCode =
    code === "ECONNREFUSED" || code === "ETIMEDOUT" || code === "ENOTFOUND" || code === "EAI_AGAIN"
      ? Code.Unavailable
      : code === "ECONNRESET" ||
          code === "ERR_STREAM_DESTROYED" ||
          code === "ERR_HTTP2_INVALID_STREAM" ||
          code === "ERR_STREAM_WRITE_AFTER_END"
        ? Code.Aborted
        : Code.Internal;
  const connectError = ConnectError.from(error, connectCode);
  if (connectError !== error) connectError.cause = error;
  return connectError;
}
