import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";

// connect-es reports a request body that is not valid protobuf as Internal ("parse binary: …"),
// although the fault is the client's, while a bad JSON body is InvalidArgument. Clients must be
// able to tell "fix your request" from "the server broke", so this rewrites that one case to
// InvalidArgument, for the gRPC protocol (status in the trailers) and the Connect protocol (a
// JSON error body). Everything else passes through untouched.

const parseFailure = /^parse binary: /;
const message = (raw: string) => `cannot decode the request: ${raw.replace(parseFailure, "")}`;

/** The same rewrite for the lean gRPC path, which hands over connect's own parse error. */
export function decodeErrorAsInvalidArgument(error: ConnectError): ConnectError {
  if (error.code !== Code.Internal || !parseFailure.test(error.rawMessage)) return error;
  return new ConnectError(message(error.rawMessage), Code.InvalidArgument);
}

function fixGrpcStatus(headers: Headers): void {
  if (headers.get("grpc-status") !== "13") return;
  const raw = decodeURIComponent(headers.get("grpc-message") ?? "");
  if (!parseFailure.test(raw)) return;
  headers.set("grpc-status", "3");
  headers.set("grpc-message", encodeURIComponent(message(raw)));
}

async function* watchTrailers(body: AsyncIterable<Uint8Array>, trailer: Headers) {
  yield* body;
  fixGrpcStatus(trailer);
}

async function fixConnectError(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  let error: { code?: string; message?: string } | undefined;
  try {
    error = JSON.parse(bytes.toString("utf8")) as typeof error;
  } catch {
    error = undefined;
  }
  if (error?.code !== "internal" || !parseFailure.test(error.message ?? "")) {
    return {
      ...res,
      body: (async function* () {
        yield bytes;
      })(),
    };
  }
  const fixed = Buffer.from(
    JSON.stringify({ ...error, code: "invalid_argument", message: message(error.message ?? "") }),
  );
  const header = new Headers(res.header);
  header.set("content-length", String(fixed.byteLength));
  return {
    ...res,
    status: 400,
    header,
    body: (async function* () {
      yield fixed;
    })(),
  };
}

function wrap(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: Parameters<UniversalHandler>[0]) => {
    const res = await handler(req);
    if (res.header !== undefined) fixGrpcStatus(res.header);
    const type = res.header?.get("content-type") ?? "";
    if (res.status === 500 && type.startsWith("application/json") && res.body !== undefined) {
      return fixConnectError(res);
    }
    if (res.trailer !== undefined && res.body !== undefined && Symbol.asyncIterator in res.body) {
      return { ...res, body: watchTrailers(res.body as AsyncIterable<Uint8Array>, res.trailer) };
    }
    return res;
  };
  return Object.assign(wrapped, {
    method: handler.method,
    service: handler.service,
    requestPath: handler.requestPath,
    protocolNames: handler.protocolNames,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
  }) satisfies UniversalHandler;
}

/**
 * Registers `routes`, then makes the router report undecodable protobuf requests as
 * InvalidArgument. Use it as the `routes` option of connectNodeAdapter.
 */
export function withParseErrorsAsInvalidArgument(
  routes: (router: ConnectRouter) => void,
): (router: ConnectRouter) => void {
  return (router) => {
    routes(router);
    const handlers = router.handlers as UniversalHandler[];
    for (let i = 0; i < handlers.length; i++) handlers[i] = wrap(handlers[i] as UniversalHandler);
  };
}
