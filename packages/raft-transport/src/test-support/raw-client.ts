import * as http2 from "node:http2";
import { ConnectError, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { type EncodedStreamMethod, sendMessagesMethod } from "../wire-format.js";

// Clients that send what a well-behaved transport never would, to test the receiving side.

/**
 * Writes `batches` (each a list of already-serialized RaftMessages, or any bytes) on one stream
 * of `method`, then ends it. Resolves with the Connect error the server ended the stream with,
 * or undefined when it accepted the whole stream.
 */
export async function sendBatches(
  baseUrl: string,
  batches: readonly (readonly Uint8Array[])[],
  method: EncodedStreamMethod = sendMessagesMethod,
  nodeOptions?: http2.SecureClientSessionOptions,
): Promise<ConnectError | undefined> {
  const sessions = new Http2SessionManager(baseUrl, {}, nodeOptions);
  const transport = createGrpcTransport({ baseUrl, sessionManager: sessions });
  try {
    return await streamBatches(transport, batches, method);
  } finally {
    sessions.abort();
  }
}

/** As `sendBatches`, through any connect client transport (gRPC, gRPC-Web, Connect). */
export async function streamBatches(
  transport: Transport,
  batches: readonly (readonly Uint8Array[])[],
  method: EncodedStreamMethod = sendMessagesMethod,
): Promise<ConnectError | undefined> {
  async function* requests() {
    for (const messages of batches) yield { messages: [...messages] };
  }
  try {
    const response = await transport.stream(method, undefined, undefined, undefined, requests());
    for await (const _ of response.message);
    return undefined;
  } catch (error) {
    return ConnectError.from(error);
  }
}

/** A gRPC frame: not compressed, 4-byte big-endian length, payload. */
export function grpcFrame(payload: Uint8Array, declaredLength = payload.length): Uint8Array {
  const frame = new Uint8Array(5 + payload.length);
  new DataView(frame.buffer).setUint32(1, declaredLength);
  frame.set(payload, 5);
  return frame;
}

/**
 * POSTs raw bytes as the body of a gRPC call to `path` over plaintext HTTP/2, and resolves with
 * the grpc-status and grpc-message the server answered with.
 */
export function postRawGrpc(
  baseUrl: string,
  path: string,
  body: Uint8Array,
): Promise<{ status: string | undefined; message: string | undefined }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc+proto",
      te: "trailers",
    });
    let headers: http2.IncomingHttpHeaders = {};
    stream.on("response", (h) => {
      headers = h;
    });
    stream.on("trailers", (trailers) => {
      headers = { ...headers, ...trailers };
    });
    stream.on("data", () => {});
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      const status = headers["grpc-status"];
      const message = headers["grpc-message"];
      resolve({
        status: Array.isArray(status) ? status[0] : status,
        message: message === undefined ? undefined : decodeURIComponent(String(message)),
      });
    });
    stream.end(body);
  });
}
