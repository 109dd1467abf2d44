import type * as http from "node:http";
import type * as http2 from "node:http2";
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescMethodServerStreaming,
  type DescMethodUnary,
  type DescService,
  type fromBinary,
  type MessageShape,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  createContextValues,
  createMethodImplSpec,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
} from "@connectrpc/connect";
import {
  invokeUnaryImplementation,
  transformInvokeImplementation,
} from "@connectrpc/connect/protocol";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { fromBinaryFast } from "@raftstore/storage";
import { type AllocateFrame, encodeMessageFrame, framePayload, toHeaders } from "./grpc-wire.js";

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/** Options of `createUnaryGrpcHandler`. */
export interface UnaryGrpcHandlerOptions {
  /**
   * The routes, as given to connect's `connectNodeAdapter`; their unary and server-streaming
   * methods go fast. They run once: the fallback gets the same implementations, registered again.
   */
  routes: (router: ConnectRouter) => void;
  /**
   * Makes the handler of every request that is not a plain gRPC unary call, from `routes`
   * (which registers the implementations `routes` made): normally connect's own adapter,
   * `(routes) => connectNodeAdapter({ routes, … })`.
   */
  fallback: (
    routes: (router: ConnectRouter) => void,
  ) => (req: NodeRequest, res: NodeResponse) => void;
  /** The same interceptors as the fallback's, run around every fast call. */
  interceptors?: Interceptor[];
  /**
   * The interceptors of unary calls, if not `interceptors`. With none, a unary call makes
   * nothing nobody asks for (see `CallContext`): an interceptor gets connect's request, whose
   * signal and headers must then be made for every call. For metrics, give `[]` here and
   * observe the calls with `onUnaryEnd`.
   */
  unaryInterceptors?: Interceptor[];
  /**
   * Told of every unary call this path answered, once its implementation is done (before the
   * answer is written): the method, the error it ends with (undefined: OK) and how long it
   * took, in seconds.
   */
  onUnaryEnd?: (method: DescMethodUnary, error: ConnectError | undefined, seconds: number) => void;
  /**
   * The largest request message accepted; a larger one is ResourceExhausted. Default: connect's
   * (0xffffffff bytes).
   */
  readMaxBytes?: number;
  /** The context values of a call, as connect's `contextValues` option. */
  contextValues?: (req: NodeRequest) => ContextValues;
  /**
   * The error for a request body that is not valid protobuf. Default: connect's own answer
   * (Internal, "parse binary: …").
   */
  decodeError?: (error: ConnectError) => ConnectError;
}

/** The per-route options of connect's router that this path honours. */
interface RouteOptions {
  readMaxBytes?: number;
}

interface FastMethod {
  method: DescMethodUnary | DescMethodServerStreaming;
  /** The implementation as connect's own handlers invoke it. */
  spec: Extract<MethodImplSpec, { kind: "unary" | "server_streaming" }>;
  url: string;
  /** The service's own `readMaxBytes` (router options), if it set one. */
  readMaxBytes: number | undefined;
  /** How a call of it is answered: `answer` (unary) or `answerStream`. */
  reply: typeof answer;
}

const defaultReadMaxBytes = 0xffffffff;
/** Why a finished call's context is aborted (it releases its deadline timer). */
const callDone = new ConnectError("the call is done", Code.Canceled);

/**
 * A Node.js request handler that answers plain gRPC unary and server-streaming calls (HTTP/2,
 * `application/grpc` or `application/grpc+proto`, no compression) of the given routes itself,
 * and hands everything else (client and bidi streaming, the Connect and gRPC-Web protocols,
 * HTTP/1.1, JSON, compressed calls, unknown paths) to `fallback`.
 *
 * connect-node runs every call through async iterables, a linked AbortController and two
 * Headers conversions; for the small unary calls of the resource and forwarding APIs that is
 * most of a request's CPU on a 2-core machine. This path reads the one framed message, runs the
 * same implementation with a connect HandlerContext through the same interceptors, and writes
 * the answer with connect's own status encoding (`setTrailerStatus`), so a client sees the same
 * codes, messages, details, headers and trailers from either path.
 */
export function createUnaryGrpcHandler(
  options: UnaryGrpcHandlerOptions,
): (req: NodeRequest, res: NodeResponse) => void {
  const { methods, replay } = collectFastMethods(options.routes);
  const fallback = options.fallback(replay);
  const readMaxBytes = options.readMaxBytes ?? defaultReadMaxBytes;
  const interceptors = options.interceptors ?? [];
  const unaryInterceptors = options.unaryInterceptors ?? interceptors;
  return (req, res) => {
    const fast = req.httpVersionMajor === 2 ? methods.get(req.url ?? "") : undefined;
    const headers = req.headers;
    const contentType = headers["content-type"];
    if (
      fast === undefined ||
      req.method !== "POST" ||
      (contentType !== "application/grpc" && contentType !== "application/grpc+proto") ||
      (headers["grpc-encoding"] !== undefined && headers["grpc-encoding"] !== "identity")
    ) {
      fallback(req, res);
      return;
    }
    serve(req as http2.Http2ServerRequest, res as http2.Http2ServerResponse, fast, contentType, {
      readMaxBytes: fast.readMaxBytes ?? readMaxBytes,
      interceptors: fast.reply === answer ? unaryInterceptors : interceptors,
      onUnaryEnd: options.onUnaryEnd,
      contextValues: options.contextValues?.(req),
      decodeError: options.decodeError,
    });
  };
}

/**
 * Runs `routes` once, against a router that records the unary and server-streaming
 * implementations by request path, and every registration, so that `replay` can make the same
 * ones on another router (connect's): one instance of each service serves both paths.
 */
function collectFastMethods(routes: (router: ConnectRouter) => void): {
  methods: Map<string, FastMethod>;
  replay: (router: ConnectRouter) => void;
} {
  const methods = new Map<string, FastMethod>();
  const registrations: ((router: ConnectRouter) => void)[] = [];
  const add = (method: DescMethod, impl: unknown, options: RouteOptions | undefined) => {
    const kind = method.methodKind;
    if ((kind !== "unary" && kind !== "server_streaming") || typeof impl !== "function") return;
    const url = `/${method.parent.typeName}/${method.name}`;
    methods.set(url, {
      method: method as FastMethod["method"],
      spec: createMethodImplSpec(method, impl as never) as FastMethod["spec"],
      url,
      readMaxBytes: options?.readMaxBytes,
      reply: kind === "unary" ? answer : answerStream,
    });
  };
  const recorder: ConnectRouter = {
    handlers: [],
    service(service: DescService, implementation: Record<string, unknown>, options?: RouteOptions) {
      registrations.push((router) => router.service(service, implementation as never, options));
      for (const method of service.methods) {
        const fn = implementation[method.localName];
        if (typeof fn === "function") add(method, fn.bind(implementation), options);
      }
      return recorder;
    },
    rpc(method: DescMethod, impl: unknown, options?: RouteOptions) {
      registrations.push((router) => router.rpc(method as never, impl as never, options));
      add(method, impl, options);
      return recorder;
    },
  } as ConnectRouter;
  routes(recorder);
  const replay = (router: ConnectRouter) => {
    for (const register of registrations) register(router);
  };
  return { methods, replay };
}

interface ServeOptions {
  readMaxBytes: number;
  interceptors: Interceptor[];
  onUnaryEnd: UnaryGrpcHandlerOptions["onUnaryEnd"];
  contextValues: ContextValues | undefined;
  decodeError: ((error: ConnectError) => ConnectError) | undefined;
}

function serve(
  req: http2.Http2ServerRequest,
  res: http2.Http2ServerResponse,
  fast: FastMethod,
  contentType: string,
  options: ServeOptions,
): void {
  const chunks: Buffer[] = [];
  let received = 0;
  const onData = (chunk: Buffer) => {
    received += chunk.byteLength;
    if (received <= options.readMaxBytes + 5) {
      chunks.push(chunk);
      return;
    }
    // Refuse at once, without buffering the rest: it is discarded as it arrives.
    req.off("data", onData);
    req.off("end", onEnd);
    req.resume();
    fast.reply(req, res, fast, contentType, options, undefined).catch(abandon(res));
  };
  const onEnd = () => fast.reply(req, res, fast, contentType, options, chunks).catch(abandon(res));
  req.on("data", onData);
  req.on("end", onEnd);
}

/**
 * What is left when writing an answer throws (headers Node refuses, say): reset the stream, so
 * the client sees the call fail, rather than leave an unhandled rejection behind.
 */
const abandon = (res: http2.Http2ServerResponse) => (error: unknown) => {
  res.stream.destroy(error instanceof Error ? error : new Error(String(error)));
};

async function answer(
  req: http2.Http2ServerRequest,
  res: http2.Http2ServerResponse,
  fast: FastMethod,
  contentType: string,
  options: ServeOptions,
  chunks: Buffer[] | undefined,
): Promise<void> {
  const started = performance.now();
  const method = fast.method as DescMethodUnary;
  const stream = res.stream;
  const call = startCall(req, fast, contentType, options);
  const { context } = call;
  let frame: Buffer | undefined;
  let failure: ConnectError | undefined;
  try {
    if (call.timeoutError !== undefined) throw call.timeoutError;
    const input = decodeRequest(method, chunks, options);
    const spec = fast.spec as Extract<MethodImplSpec, { kind: "unary" }>;
    let output: MessageShape<DescMessage>;
    if (options.interceptors.length === 0) {
      // connect's invocation without interceptors: the implementation with the call's context,
      // its answer normalized with `create`.
      output = create(method.output, await spec.impl(input, context));
    } else {
      // connect's own invocation: interceptors, the request they may change, and the response
      // headers and trailers copied into the context, exactly as connectNodeAdapter runs them.
      const plain = context.materialize();
      output = await invokeUnaryImplementation(spec, plain, input, options.interceptors);
    }
    frame = encodeResponse(method, output);
  } catch (error) {
    failure = asConnectError(error);
  } finally {
    call.finish();
  }
  options.onUnaryEnd?.(method, failure, (performance.now() - started) / 1000);
  if (stream.destroyed || stream.closed) return;
  res.writeHead(200, context.responseHeaderObject());
  endWithStatus(res, context, failure, frame);
}

/** As connect's gRPC handler words what is not a ConnectError. */
function asConnectError(error: unknown): ConnectError {
  return error instanceof ConnectError
    ? error
    : new ConnectError("internal error", Code.Internal, undefined, undefined, error);
}

/**
 * Ends an answer whose headers are written: the last frame if it succeeded, then the trailers
 * with its status. Through the compatibility API, which owns the stream's trailers.
 */
function endWithStatus(
  res: http2.Http2ServerResponse,
  context: CallContext,
  failure: ConnectError | undefined,
  frame?: Buffer,
): void {
  if (failure === undefined) {
    res.addTrailers(context.responseTrailerObject());
    if (frame === undefined) res.end();
    else res.end(frame);
    return;
  }
  const trailer = new Headers(context.responseTrailer);
  setTrailerStatus(trailer, failure);
  res.addTrailers(toObject(trailer));
  res.end();
}

/**
 * Answers a server-streaming call: connect's own invocation (interceptors included) of the
 * implementation, each message it yields written as one frame as soon as it comes, and the
 * status in the trailers. The headers go with the first message, as connect sends them. A
 * stream the client reads slower than the implementation yields is not buffered without end:
 * the next message waits until the stream drains (a watch then falls behind its store and is
 * ended there, with WatchClosedError). A client that goes away aborts the context's signal, and
 * the implementation's generator is closed.
 */
async function answerStream(
  req: http2.Http2ServerRequest,
  res: http2.Http2ServerResponse,
  fast: FastMethod,
  contentType: string,
  options: ServeOptions,
  chunks: Buffer[] | undefined,
): Promise<void> {
  const stream = res.stream;
  const call = startCall(req, fast, contentType, options);
  // connect's streaming invocation copies the context with a spread: every value made.
  const context = call.context.materialize();
  let failure: ConnectError | undefined;
  let headed = false;
  const head = () => {
    if (headed) return;
    headed = true;
    res.writeHead(200, call.context.responseHeaderObject());
  };
  try {
    if (call.timeoutError !== undefined) throw call.timeoutError;
    const input = decodeRequest(fast.method, chunks, options);
    const invoke = transformInvokeImplementation(fast.spec, context, options.interceptors);
    for await (const message of invoke(single(input))) {
      if (stream.destroyed || stream.closed) break;
      head();
      if (!res.write(streamFrame(fast.method, message))) await drained(stream, context.signal);
    }
    // An implementation that ends quietly when its signal aborts still failed at its deadline.
    context.signal.throwIfAborted();
  } catch (error) {
    failure = asConnectError(error);
  } finally {
    call.finish();
  }
  if (stream.destroyed || stream.closed) return;
  head();
  endWithStatus(res, call.context, failure);
}

async function* single<T>(value: T): AsyncIterable<T> {
  yield value;
}

/** Resolves once `stream` can take more, or is gone, or the call is over. */
function drained(stream: http2.Http2Stream, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    stream.once("drain", done);
    stream.once("close", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * The frames of frozen messages, by message. A message a server streams to many clients at once
 * (one watch event, to every watch of its type) is encoded once when it is frozen: frozen is
 * taken to mean that it, and what it holds, no longer change.
 */
const frozenFrames = new WeakMap<object, Buffer>();

function streamFrame(
  method: DescMethodUnary | DescMethodServerStreaming,
  message: MessageShape<DescMessage>,
): Buffer {
  if (!Object.isFrozen(message)) return encodeResponse(method, message);
  let frame = frozenFrames.get(message);
  if (frame === undefined) {
    // Kept as long as the message lives (a watch event a slow watch has not been sent yet):
    // memory of its own, not a slab of Node's pool.
    frame = encodeResponse(method, message, Buffer.allocUnsafeSlow);
    frozenFrames.set(message, frame);
  }
  return frame;
}

/** The longest delay Node's timers take; a longer one fires at once. */
const maxTimerMs = 2 ** 31 - 1;

/** No deadline: what `timeoutMs()` says. */
const noTimeout = () => undefined;

/**
 * A call's connect HandlerContext, as connect's `createHandlerContext` makes it, at a fraction of
 * the cost: nothing is made before something asks for it. The signal's AbortController (one;
 * connect links three), the request headers as a Headers, and the response headers and trailers
 * are each made on first use; a deadline timer only when the client sent `grpc-timeout`. On
 * this machine an AbortController and its abort cost more than the rest of a plain read
 * together, and a plain read asks for none of these.
 *
 * The signal aborts as connect's does: Canceled when the client goes away, DeadlineExceeded at
 * the deadline, and `callDone` when the call ends; a signal first asked for after one of those
 * is made aborted, with the first reason. The lazy values are getters of the class, not own
 * properties (an object literal with getters costs V8 a runtime call per getter, per call):
 * `materialize()` gives the plain object connect's own invocation needs, which copies it.
 */
class CallContext implements HandlerContext {
  readonly protocolName = "grpc";
  readonly requestMethod = "POST";
  readonly service: DescService;
  readonly method: DescMethod;
  readonly url: string;
  readonly values: ContextValues;
  timeoutMs: () => number | undefined = noTimeout;
  readonly #headers: http2.IncomingHttpHeaders;
  readonly #contentType: string;
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #requestHeader: Headers | undefined;
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;

  constructor(
    fast: FastMethod,
    headers: http2.IncomingHttpHeaders,
    contentType: string,
    values: ContextValues,
  ) {
    this.service = fast.method.parent;
    this.method = fast.method;
    this.url = fast.url;
    this.values = values;
    this.#headers = headers;
    this.#contentType = contentType;
  }

  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      controller = this.#controller = new AbortController();
      if (this.#aborted) controller.abort(this.#reason);
    }
    return controller.signal;
  }

  get requestHeader(): Headers {
    this.#requestHeader ??= toHeaders(this.#headers);
    return this.#requestHeader;
  }

  get responseHeader(): Headers {
    this.#responseHeader ??= new Headers({ "content-type": this.#contentType });
    return this.#responseHeader;
  }

  get responseTrailer(): Headers {
    this.#responseTrailer ??= new Headers({ "grpc-status": "0" });
    return this.#responseTrailer;
  }

  /** Aborts the signal, made or not yet made; the first reason stays. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  /** The response headers as Node takes them. */
  responseHeaderObject(): http2.OutgoingHttpHeaders {
    const headers = this.#responseHeader;
    return headers === undefined ? { "content-type": this.#contentType } : toObject(headers);
  }

  /** The trailers of a successful answer as Node takes them. */
  responseTrailerObject(): http2.OutgoingHttpHeaders {
    const trailer = this.#responseTrailer;
    return trailer === undefined ? { "grpc-status": "0" } : toObject(trailer);
  }

  /** A plain HandlerContext with every value made, sharing this one's signal and headers. */
  materialize(): HandlerContext {
    return {
      service: this.service,
      method: this.method,
      protocolName: this.protocolName,
      requestMethod: this.requestMethod,
      url: this.url,
      signal: this.signal,
      timeoutMs: this.timeoutMs,
      requestHeader: this.requestHeader,
      responseHeader: this.responseHeader,
      responseTrailer: this.responseTrailer,
      values: this.values,
    };
  }
}

/**
 * Starts a call: its context, whose signal aborts when the client goes away or the deadline
 * passes, and `finish()`, which ends it (the signal aborts with `callDone`, the deadline timer
 * is released).
 */
function startCall(
  req: http2.Http2ServerRequest,
  fast: FastMethod,
  contentType: string,
  options: ServeOptions,
): { context: CallContext; timeoutError: ConnectError | undefined; finish(): void } {
  const stream = req.stream;
  const context = new CallContext(
    fast,
    req.headers,
    contentType,
    options.contextValues ?? createContextValues(),
  );
  const onClose = () => context.abort(new ConnectError("the client went away", Code.Canceled));
  stream.once("close", onClose);
  const grpcTimeout = req.headers["grpc-timeout"];
  const timeout = parseTimeout(
    typeof grpcTimeout === "string" ? grpcTimeout : (grpcTimeout?.[0] ?? null),
    Number.MAX_SAFE_INTEGER,
  );
  let deadline: NodeJS.Timeout | undefined;
  if (timeout.timeoutMs !== undefined) {
    const expires = Date.now() + timeout.timeoutMs;
    context.timeoutMs = () => expires - Date.now();
    const expire = () =>
      context.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    if (timeout.timeoutMs <= 0) expire();
    // Node fires a timer of more than 2^31 - 1 ms (24.8 days) after 1 ms: a client's long
    // deadline (a month, say) waits as long as a timer can instead. connect's own path does not.
    else deadline = setTimeout(expire, Math.min(timeout.timeoutMs, maxTimerMs));
  }
  return {
    context,
    timeoutError: timeout.error,
    finish() {
      stream.off("close", onClose);
      clearTimeout(deadline);
      context.abort(callDone);
    },
  };
}

/** The answer's frame; one that cannot be encoded is Internal, worded as connect words it. */
function encodeResponse(
  method: DescMethodUnary | DescMethodServerStreaming,
  message: MessageShape<DescMessage>,
  allocate?: AllocateFrame,
): Buffer {
  try {
    return encodeMessageFrame(method.output, message, allocate);
  } catch (error) {
    throw new ConnectError(
      `serialize binary: ${error instanceof Error ? error.message : String(error)}`,
      Code.Internal,
    );
  }
}

function decodeRequest(
  method: DescMethodUnary | DescMethodServerStreaming,
  chunks: Buffer[] | undefined,
  options: ServeOptions,
): ReturnType<typeof fromBinary> {
  if (chunks === undefined) {
    throw new ConnectError(
      `message size is larger than configured readMaxBytes ${options.readMaxBytes}`,
      Code.ResourceExhausted,
    );
  }
  const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  if (body.byteLength < 5 || body.byteLength !== 5 + body.readUInt32BE(1)) {
    throw new ConnectError(
      "a unary request must be exactly one gRPC message frame",
      Code.InvalidArgument,
    );
  }
  if ((body[0] as number) & 1) {
    throw new ConnectError("the request is compressed without a grpc-encoding", Code.Internal);
  }
  try {
    return fromBinaryFast(method.input, framePayload(body));
  } catch (error) {
    const parse = new ConnectError(
      `parse binary: ${error instanceof Error ? error.message : String(error)}`,
      Code.Internal,
    );
    throw options.decodeError?.(parse) ?? parse;
  }
}

function toObject(headers: Headers): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}
