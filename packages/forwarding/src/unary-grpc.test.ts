// The lean gRPC unary path (createUnaryGrpcHandler on the server, the forwarding transport's
// unary calls on the client) against connect's own: the same routes are served by connect's
// adapter alone and by the lean handler in front of it, and called through connect's gRPC
// transport and through the lean one. Every case must look the same from all four pairings.
// Server-streaming calls (connect's client only: the lean transport has no streaming half) are
// compared the same way, against both servers.
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createClient,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import {
  connectNodeAdapter,
  createConnectTransport,
  createGrpcTransport,
} from "@connectrpc/connect-node";
import {
  ResourceService,
  type WatchListRequest,
  WatchListRequestSchema,
  WatchListResponseSchema,
} from "@raftstore/proto";
import {
  ForwardingService,
  GroupVersionMismatchErrorDetailsSchema,
  type ReadRequest,
  ReadRequestSchema,
  ReadResponseSchema,
  type WriteRequest,
} from "@raftstore/proto/storage/v1";
import { afterEach, describe, expect, it } from "vitest";
import { GuardedSessionManager } from "./guarded-session-manager.js";
import { createForwardingTransport } from "./transport.js";
import { createUnaryGrpcHandler } from "./unary-grpc-handler.js";

const type = { group: "demo", groupVersion: "v1", kind: "Artist" };

/** What the service saw of the calls that waited for their signal. */
const aborted: unknown[] = [];
/** The signal of the last "keep-signal" call, to look at once the call is over. */
let keptSignal: AbortSignal | undefined;

function routes(router: ConnectRouter): void {
  router.service(ForwardingService, {
    async read(request: ReadRequest, context) {
      const name = request.id?.name ?? "";
      switch (name) {
        case "ok":
          return { resource: { id: request.id, version: "7" } };
        case "headers":
          context.responseHeader.set("x-answer-header", "h");
          context.responseTrailer.set("x-answer-trailer", "t");
          return { resource: { id: request.id, version: request.id?.uid ?? "" } };
        case "echo-header":
          return { resource: { version: context.requestHeader.get("x-asked") ?? "none" } };
        case "deadline":
          return { resource: { version: String(context.timeoutMs() !== undefined) } };
        case "details":
          throw new ConnectError(
            "stored under another group version",
            Code.OutOfRange,
            { "x-error-meta": "m" },
            [
              {
                desc: GroupVersionMismatchErrorDetailsSchema,
                value: { requestedType: type, stored: { id: request.id, version: "3" } },
              },
            ],
          );
        case "plain":
          throw new Error("a secret the client must not see");
        case "unencodable": {
          // A message field holding a plain object: protobuf-es refuses to encode the answer.
          const answer = create(ReadResponseSchema, { resource: { id: request.id } });
          (answer.resource as unknown as Record<string, unknown>).data = { typeUrl: "x" };
          return answer;
        }
        case "keep-signal":
          keptSignal = context.signal;
          return { resource: { version: String(context.signal.aborted) } };
        case "wait":
          return await new Promise((_, reject) => {
            context.signal.addEventListener("abort", () => {
              aborted.push(context.signal.reason);
              reject(context.signal.reason);
            });
          });
        default:
          throw new ConnectError(`no case ${name}`, Code.NotFound);
      }
    },
    // Echoes the bytes it was sent, and says which class the implementation saw them as.
    async write(request: WriteRequest) {
      const value = request.resource?.data?.value;
      return {
        resource: {
          version: value?.constructor.name ?? "none",
          data: { typeUrl: "type.googleapis.com/x", value },
        },
      };
    },
    // On purpose no list: the test of the fallback calls it, and expects connect's
    // Unimplemented through the lean handler too.
  });
  // A server-streaming method, its cases picked by the name prefix.
  router.service(ResourceService, {
    async *watchList(request: WatchListRequest, context) {
      const event = (name: string) => ({
        event: {
          event: { case: "upsert" as const, value: { resource: { id: { name }, version: "1" } } },
        },
      });
      switch (request.namePrefix) {
        case "three":
          context.responseHeader.set("x-answer-header", "h");
          context.responseTrailer.set("x-answer-trailer", "t");
          yield event("a");
          yield event("b");
          yield event("c");
          return;
        case "fail-after-one":
          yield event("a");
          throw new ConnectError("fell behind", Code.Aborted, { "x-error-meta": "m" });
        case "fail-first":
          throw new ConnectError("no such type", Code.InvalidArgument);
        case "plain":
          yield event("a");
          throw new Error("a secret the client must not see");
        case "same-object": {
          // One object yielded twice, changed in between: not frozen, so written afresh.
          const message = create(WatchListResponseSchema, event("first"));
          yield message;
          const changed = message.event?.event;
          if (changed?.case === "upsert" && changed.value.resource !== undefined) {
            changed.value.resource.version = "2";
          }
          yield message;
          return;
        }
        case "shared":
          yield sharedEvent;
          yield sharedEvent;
          return;
        case "flood":
          for (flooded = 0; flooded < 10_000; flooded++) yield bigEvent;
          return;
        case "wait":
          yield event("a");
          await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
          aborted.push(context.signal.reason);
          return;
        default:
          throw new ConnectError(`no case ${request.namePrefix}`, Code.NotFound);
      }
    },
  });
}

/** A frozen message, as a watch event shared by every watch of its type is. */
const sharedEvent = Object.freeze(
  create(WatchListResponseSchema, {
    event: { event: { case: "endOfSnapshot", value: {} } },
  }),
);
/** 64 KiB per message. */
const bigEvent = create(WatchListResponseSchema, {
  event: {
    event: {
      case: "upsert",
      value: { resource: { id: { name: "big" }, data: { value: new Uint8Array(65536) } } },
    },
  },
});
/** How many big messages the "flood" case has yielded. */
let flooded = 0;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  aborted.length = 0;
});

type NodeHandler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

async function serve(handler: NodeHandler): Promise<string> {
  const server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Servers {
  connectOnly: string;
  lean: string;
  fallbackCalls(): number;
  interceptedCalls(): string[];
}

async function startServers(options: { readMaxBytes?: number } = {}): Promise<Servers> {
  const intercepted: string[] = [];
  const interceptor: Interceptor = (next) => async (req) => {
    intercepted.push(req.method.name);
    return await next(req);
  };
  const connect = connectNodeAdapter({ routes, interceptors: [interceptor], ...options });
  let fallbackCalls = 0;
  const lean = createUnaryGrpcHandler({
    routes,
    interceptors: [interceptor],
    ...options,
    fallback: (registered) => {
      const adapter = connectNodeAdapter({
        routes: registered,
        interceptors: [interceptor],
        ...options,
      });
      return (req, res) => {
        fallbackCalls++;
        adapter(req, res);
      };
    },
  });
  return {
    connectOnly: await serve(connect),
    lean: await serve(lean),
    fallbackCalls: () => fallbackCalls,
    interceptedCalls: () => intercepted,
  };
}

function connectTransport(baseUrl: string): Transport {
  const sessionManager = new GuardedSessionManager(baseUrl);
  cleanups.push(() => sessionManager.abort());
  return createGrpcTransport({ baseUrl, sessionManager });
}

function leanTransport(baseUrl: string): Transport {
  const forwarding = createForwardingTransport({ baseUrl });
  cleanups.push(() => forwarding.close());
  return forwarding.transport;
}

/** What a client can observe of one call. */
async function outcome(transport: Transport, name: string, init: { uid?: string } = {}) {
  const client = createClient(ForwardingService, transport);
  let header: Headers | undefined;
  let trailer: Headers | undefined;
  try {
    const response = await client.read(
      { id: { name, type, uid: init.uid ?? "" } },
      {
        headers: { "x-asked": "q" },
        timeoutMs: name === "deadline" ? 60_000 : undefined,
        onHeader: (h) => {
          header = h;
        },
        onTrailer: (t) => {
          trailer = t;
        },
      },
    );
    return {
      ok: response.resource?.version,
      header: header?.get("x-answer-header"),
      trailer: trailer?.get("x-answer-trailer"),
    };
  } catch (error) {
    const e = ConnectError.from(error);
    return {
      code: Code[e.code],
      message: e.rawMessage,
      meta: e.metadata.get("x-error-meta"),
      details: e.findDetails(GroupVersionMismatchErrorDetailsSchema).map((d) => d.stored?.version),
    };
  }
}

/** A Read of `name` sent by hand, with `headers` added: the stream, its request sent. */
function rawRequest(
  baseUrl: string,
  name: string,
  headers: Record<string, string>,
  method: "Read" | "WatchList" = "Read",
) {
  const session = http2.connect(baseUrl);
  cleanups.push(() => session.destroy());
  const payload =
    method === "Read"
      ? toBinary(ReadRequestSchema, create(ReadRequestSchema, { id: { name, type } }))
      : toBinary(WatchListRequestSchema, create(WatchListRequestSchema, { namePrefix: name }));
  const frame = Buffer.alloc(5 + payload.byteLength);
  frame.writeUInt32BE(payload.byteLength, 1);
  frame.set(payload, 5);
  const stream = session.request({
    ":method": "POST",
    ":path":
      method === "Read"
        ? `/${ForwardingService.typeName}/Read`
        : `/${ResourceService.typeName}/WatchList`,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  stream.end(frame);
  return stream;
}

/** One gRPC call made by hand, with `headers` added; its answer's grpc-status. */
async function rawCall(
  baseUrl: string,
  name: string,
  headers: Record<string, string>,
  method: "Read" | "WatchList" = "Read",
) {
  const stream = rawRequest(baseUrl, name, headers, method);
  stream.resume();
  return await new Promise<string | undefined>((resolve, reject) => {
    stream.on("trailers", (trailers) => resolve(trailers["grpc-status"] as string | undefined));
    stream.on("error", reject);
  });
}

/** connect's adapter alone, and the lean handler in front of it, with `interceptors`. */
function bothHandlers(interceptors: Interceptor[]): NodeHandler[] {
  return [
    connectNodeAdapter({ routes, interceptors }),
    createUnaryGrpcHandler({
      routes,
      interceptors,
      fallback: (registered) => connectNodeAdapter({ routes: registered, interceptors }),
    }),
  ];
}

/** Either client transport against either server, named. */
function allPairings(servers: Servers) {
  return [
    ["connect → connect", connectTransport(servers.connectOnly)],
    ["connect → lean server", connectTransport(servers.lean)],
    ["lean client → connect", leanTransport(servers.connectOnly)],
    ["lean client → lean server", leanTransport(servers.lean)],
  ] as const;
}

describe("the lean gRPC unary path", () => {
  it("answers every case as connect does, from either side", async () => {
    const servers = await startServers();
    const pairs = allPairings(servers);
    const cases = [
      "ok",
      "headers",
      "echo-header",
      "deadline",
      "details",
      "plain",
      "unencodable",
      "missing",
    ];
    for (const name of cases) {
      const seen = [];
      for (const [, transport] of pairs) seen.push(await outcome(transport, name, { uid: "u1" }));
      for (let i = 1; i < pairs.length; i++) {
        expect(seen[i], `${name}: ${pairs[i]?.[0]}`).toEqual(seen[0]);
      }
    }
    // Spot checks that the cases test what they say.
    expect(await outcome(leanTransport(servers.lean), "ok")).toEqual({
      ok: "7",
      header: null,
      trailer: null,
    });
    expect(await outcome(leanTransport(servers.lean), "headers", { uid: "u2" })).toEqual({
      ok: "u2",
      header: "h",
      trailer: "t",
    });
    expect(await outcome(leanTransport(servers.lean), "echo-header")).toMatchObject({ ok: "q" });
    expect(await outcome(leanTransport(servers.lean), "deadline")).toMatchObject({ ok: "true" });
    expect(await outcome(leanTransport(servers.lean), "details")).toEqual({
      code: "OutOfRange",
      message: "stored under another group version",
      meta: "m",
      details: ["3"],
    });
    expect(await outcome(leanTransport(servers.lean), "plain")).toMatchObject({
      code: "Internal",
      message: "internal error",
    });
    expect(await outcome(leanTransport(servers.lean), "unencodable")).toMatchObject({
      code: "Internal",
    });
    // The lean server took every plain gRPC unary call itself, through the interceptors.
    expect(servers.fallbackCalls()).toBe(0);
    expect(servers.interceptedCalls().length).toBe(2 * cases.length * 2 + 7);
  });

  it("gives bytes as plain Uint8Arrays on both ends, as connect does, never Buffer views", async () => {
    const servers = await startServers();
    const pairs = allPairings(servers);
    for (const [what, transport] of pairs) {
      const client = createClient(ForwardingService, transport);
      const { resource } = await client.write({
        resource: {
          id: { name: "bytes", type },
          data: { typeUrl: "x", value: new Uint8Array([1, 2, 3]) },
        },
      });
      expect(resource?.version, `${what}: the server's view`).toBe("Uint8Array");
      expect(resource?.data?.value.constructor, `${what}: the client's view`).toBe(Uint8Array);
      expect(resource?.data?.value, what).toEqual(new Uint8Array([1, 2, 3]));
    }
  });

  it("hands what it does not serve to connect: unimplemented methods, the Connect protocol", async () => {
    const servers = await startServers();
    for (const transport of [leanTransport(servers.lean), connectTransport(servers.lean)]) {
      const error = await createClient(ForwardingService, transport)
        .list({ type })
        .catch((e: unknown) => ConnectError.from(e));
      expect(Code[(error as ConnectError).code]).toBe("Unimplemented");
    }
    expect(servers.fallbackCalls()).toBe(2);
    const json = createConnectTransport({ baseUrl: servers.lean, httpVersion: "2" });
    expect(await outcome(json, "ok")).toMatchObject({ ok: "7" });
    expect(servers.fallbackCalls()).toBe(3);
  });

  it("refuses a request larger than readMaxBytes with ResourceExhausted, as connect does", async () => {
    const servers = await startServers({ readMaxBytes: 64 });
    const big = "x".repeat(200);
    for (const baseUrl of [servers.connectOnly, servers.lean]) {
      const error = await createClient(ForwardingService, leanTransport(baseUrl))
        .read({ id: { name: big, type } })
        .catch((e: unknown) => ConnectError.from(e));
      expect(Code[(error as ConnectError).code], baseUrl).toBe("ResourceExhausted");
    }
  });

  it("lets an interceptor change the request the implementation sees, as connect does", async () => {
    const interceptors: Interceptor[] = [
      (next) => async (req) => {
        req.header.set("x-asked", "by-interceptor");
        return await next(req);
      },
    ];
    for (const handler of bothHandlers(interceptors)) {
      const baseUrl = await serve(handler);
      const answer = await createClient(ForwardingService, leanTransport(baseUrl)).read({
        id: { name: "echo-header", type },
      });
      expect(answer.resource?.version, baseUrl).toBe("by-interceptor");
    }
  });

  it("lets an interceptor replace the request and the response, as connect does", async () => {
    const interceptors: Interceptor[] = [
      (next) => async (req) => {
        const res = await next({ ...req, header: new Headers({ "x-asked": "replaced" }) });
        // New objects in place of the response's own, which the server then copies from.
        const header = new Headers(res.header);
        header.set("x-answer-header", "from-interceptor");
        const trailer = new Headers(res.trailer);
        trailer.set("x-answer-trailer", "from-interceptor");
        return { ...res, header, trailer };
      },
    ];
    const seen = [];
    for (const handler of bothHandlers(interceptors)) {
      const baseUrl = await serve(handler);
      seen.push(await outcome(leanTransport(baseUrl), "echo-header"));
      seen.push(await outcome(leanTransport(baseUrl), "headers", { uid: "u3" }));
    }
    expect(seen.slice(2)).toEqual(seen.slice(0, 2));
    expect(seen.slice(2)).toEqual([
      { ok: "replaced", header: "from-interceptor", trailer: "from-interceptor" },
      { ok: "u3", header: "from-interceptor", trailer: "from-interceptor" },
    ]);
  });

  it("without unary interceptors, makes a call's AbortController only when something asks for its signal", async () => {
    const ended: string[] = [];
    const baseUrl = await serve(
      createUnaryGrpcHandler({
        routes,
        unaryInterceptors: [],
        onUnaryEnd: (method, error, seconds) => {
          expect(seconds).toBeGreaterThanOrEqual(0);
          ended.push(`${method.name} ${error === undefined ? "ok" : Code[error.code]}`);
        },
        fallback: (registered) => connectNodeAdapter({ routes: registered }),
      }),
    );
    const Original = globalThis.AbortController;
    let made = 0;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        made++;
      }
    };
    try {
      // The client side below is Node's own HTTP/2 client, which makes none.
      expect(await rawCall(baseUrl, "ok", {})).toBe("0");
      expect(made).toBe(0);
      expect(await rawCall(baseUrl, "keep-signal", {})).toBe("0");
      expect(made).toBe(1);
      expect(await rawCall(baseUrl, "missing", {})).toBe(String(Code.NotFound));
      expect(made).toBe(1);
    } finally {
      globalThis.AbortController = Original;
    }
    // The signal it made was aborted when the call ended, as connect's is.
    expect(keptSignal?.aborted).toBe(true);
    expect(Code[ConnectError.from(keptSignal?.reason).code]).toBe("Canceled");
    expect(ended).toEqual(["Read ok", "Read ok", "Read NotFound"]);
    // The cases that compare with connect, without unary interceptors on the lean side.
    const connectOnly = await serve(connectNodeAdapter({ routes }));
    for (const name of ["ok", "headers", "echo-header", "deadline", "details", "plain"]) {
      expect(await outcome(leanTransport(baseUrl), name, { uid: "u4" }), name).toEqual(
        await outcome(leanTransport(connectOnly), name, { uid: "u4" }),
      );
    }
  });

  it("runs the routes once: both paths share one instance of each service", () => {
    let runs = 0;
    let adapterRoutes = 0;
    createUnaryGrpcHandler({
      routes: (router) => {
        runs++;
        routes(router);
      },
      fallback: (registered) =>
        connectNodeAdapter({
          routes: (router) => {
            adapterRoutes++;
            registered(router);
          },
        }),
    });
    expect([runs, adapterRoutes]).toEqual([1, 1]);
  });

  it("reports a body that is not protobuf through decodeError", async () => {
    const baseUrl = await serve(
      createUnaryGrpcHandler({
        routes,
        fallback: (registered) => connectNodeAdapter({ routes: registered }),
        decodeError: (e) => new ConnectError(`bad request: ${e.rawMessage}`, Code.InvalidArgument),
      }),
    );
    const session = http2.connect(baseUrl);
    cleanups.push(() => session.close());
    const frame = Buffer.from([0, 0, 0, 0, 3, 0xff, 0xff, 0xff]);
    const stream = session.request({
      ":method": "POST",
      ":path": "/raftstore.storage.v1.ForwardingService/Read",
      "content-type": "application/grpc",
      te: "trailers",
    });
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve) => {
      stream.on("trailers", resolve);
      stream.resume();
      stream.end(frame);
    });
    expect(trailers["grpc-status"]).toBe(String(Code.InvalidArgument));
    expect(decodeURIComponent(String(trailers["grpc-message"]))).toMatch(
      /^bad request: parse binary: /,
    );
  });

  it("a caller's abort and a deadline end the call on both sides", async () => {
    const servers = await startServers();
    const client = createClient(ForwardingService, leanTransport(servers.lean));
    const controller = new AbortController();
    const pending = client.read({ id: { name: "wait", type } }, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    await expect(pending).rejects.toSatisfy((e) => ConnectError.from(e).code === Code.Canceled);
    const late = client.read({ id: { name: "wait", type } }, { timeoutMs: 100 });
    await expect(late).rejects.toSatisfy(
      (e) => ConnectError.from(e).code === Code.DeadlineExceeded,
    );
    // The service saw both calls end (the client went away; the grpc-timeout passed).
    const deadline = Date.now() + 5000;
    while (aborted.length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(aborted.length).toBe(2);
  });

  it("the signal tells why a call ended, as connect's does: its deadline, or its end", async () => {
    const servers = await startServers();
    const seen: Record<string, unknown> = {};
    for (const [side, baseUrl] of [
      ["connect", servers.connectOnly],
      ["lean", servers.lean],
    ] as const) {
      // A client that sends grpc-timeout and then just waits: only the server's own deadline
      // can end the call.
      const status = await rawCall(baseUrl, "wait", { "grpc-timeout": "50m" });
      const waited = ConnectError.from(aborted.shift());
      // A call that returns: its signal, live while it ran, is aborted once it is over.
      const client = createClient(ForwardingService, leanTransport(baseUrl));
      const answer = await client.read({ id: { name: "keep-signal", type } });
      const afterCall = {
        abortedDuringCall: answer.resource?.version,
        abortedAfterCall: keptSignal?.aborted,
        reasonAfterCall: Code[ConnectError.from(keptSignal?.reason).code],
      };
      // A deadline already past when the call arrives: the signal is aborted from the start
      // (connect still runs the implementation, and so does the lean path).
      const expiredStatus = await rawCall(baseUrl, "keep-signal", { "grpc-timeout": "0m" });
      // A call that ends long before its deadline leaves no timer behind.
      const timers = () =>
        process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
      const before = timers();
      await rawCall(baseUrl, "ok", { "grpc-timeout": "60S" });
      const timersLeft = timers() - before;
      seen[side] = {
        timersLeft,
        status,
        reason: Code[waited.code],
        ...afterCall,
        expiredStatus,
        expiredReason: Code[ConnectError.from(keptSignal?.reason).code],
      };
    }
    expect(seen.lean).toEqual(seen.connect);
    expect(seen.lean).toEqual({
      status: String(Code.DeadlineExceeded),
      expiredStatus: "0",
      expiredReason: "DeadlineExceeded",
      timersLeft: 0,
      reason: "DeadlineExceeded",
      abortedDuringCall: "false",
      abortedAfterCall: true,
      reasonAfterCall: "Canceled",
    });
  });

  it("a deadline longer than Node's timers take does not expire at once", async () => {
    // 30 days: Node would fire a timer of more than 2^31 - 1 ms after 1 ms.
    const servers = await startServers();
    const stream = rawRequest(servers.lean, "wait", { "grpc-timeout": "2592000S" });
    stream.on("error", () => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(aborted).toEqual([]);
    stream.close();
    const deadline = Date.now() + 5000;
    while (aborted.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(Code[ConnectError.from(aborted[0]).code]).toBe("Canceled");
  });

  it("the deadline and the caller's abort also cover opening the connection", async () => {
    // A listener that accepts and then says nothing: no HTTP/2 session ever comes up.
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const sockets: net.Socket[] = [];
    silent.on("connection", (socket) => sockets.push(socket));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          silent.close(() => resolve());
        }),
    );
    const baseUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const client = createClient(ForwardingService, leanTransport(baseUrl));
    const late = await client
      .read({ id: { name: "ok", type } }, { timeoutMs: 100 })
      .catch((e: unknown) => ConnectError.from(e));
    expect(Code[(late as ConnectError).code]).toBe("DeadlineExceeded");
    const controller = new AbortController();
    const pending = client.read({ id: { name: "ok", type } }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const aborted = await pending.catch((e: unknown) => ConnectError.from(e));
    expect(Code[(aborted as ConnectError).code]).toBe("Canceled");
  });

  it("a server that is not there is Unavailable, and the transport reconnects once it is", async () => {
    const servers = await startServers();
    const transport = leanTransport("http://127.0.0.1:1");
    const error = await createClient(ForwardingService, transport)
      .read({ id: { name: "ok", type } })
      .catch((e: unknown) => ConnectError.from(e));
    expect(Code[(error as ConnectError).code]).toBe("Unavailable");
    expect(await outcome(leanTransport(servers.lean), "ok")).toMatchObject({ ok: "7" });
  });

  it("refuses a response from something that is not a gRPC server", async () => {
    const baseUrl = await serve(
      (_req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("hello");
      },
    );
    const error = await createClient(ForwardingService, leanTransport(baseUrl))
      .read({ id: { name: "ok", type } })
      .catch((e: unknown) => ConnectError.from(e));
    expect(Code[(error as ConnectError).code]).toBe("Unknown");
  });
});

/** What a client can observe of one server-streaming call. */
async function streamOutcome(transport: Transport, namePrefix: string) {
  const client = createClient(ResourceService, transport);
  const messages: string[] = [];
  let header: Headers | undefined;
  let trailer: Headers | undefined;
  try {
    for await (const message of client.watchList(
      { namePrefix },
      {
        onHeader: (h) => {
          header = h;
        },
        onTrailer: (t) => {
          trailer = t;
        },
      },
    )) {
      const e = message.event?.event;
      messages.push(
        e?.case === "upsert"
          ? `${e.value.resource?.id?.name}@${e.value.resource?.version}`
          : String(e?.case),
      );
    }
    return {
      messages,
      header: header?.get("x-answer-header"),
      trailer: trailer?.get("x-answer-trailer"),
    };
  } catch (error) {
    const e = ConnectError.from(error);
    return {
      messages,
      code: Code[e.code],
      message: e.rawMessage,
      meta: e.metadata.get("x-error-meta"),
    };
  }
}

describe("the lean gRPC path for server-streaming calls", () => {
  it("streams every case as connect does: messages, headers, trailers and errors", async () => {
    const servers = await startServers();
    const cases = [
      "three",
      "fail-after-one",
      "fail-first",
      "plain",
      "same-object",
      "shared",
      "missing",
    ];
    for (const name of cases) {
      const byConnect = await streamOutcome(connectTransport(servers.connectOnly), name);
      const byLean = await streamOutcome(connectTransport(servers.lean), name);
      expect(byLean, name).toEqual(byConnect);
    }
    expect(servers.fallbackCalls()).toBe(0);
    const lean = connectTransport(servers.lean);
    expect(await streamOutcome(lean, "three")).toEqual({
      messages: ["a@1", "b@1", "c@1"],
      header: "h",
      trailer: "t",
    });
    expect(await streamOutcome(lean, "fail-after-one")).toEqual({
      messages: ["a@1"],
      code: "Aborted",
      message: "fell behind",
      meta: "m",
    });
    expect(await streamOutcome(lean, "plain")).toMatchObject({
      messages: ["a@1"],
      code: "Internal",
      message: "internal error",
    });
    expect((await streamOutcome(lean, "same-object")).messages).toEqual(["first@1", "first@2"]);
    expect((await streamOutcome(lean, "shared")).messages).toEqual([
      "endOfSnapshot",
      "endOfSnapshot",
    ]);
    // Both streaming calls of each case ran through the interceptors, on either server.
    expect(servers.interceptedCalls().filter((m) => m === "WatchList").length).toBe(
      2 * cases.length + 5,
    );
  });

  it("ends a stream at its deadline with DeadlineExceeded, where connect says OK", async () => {
    const servers = await startServers();
    const statuses = [];
    for (const url of [servers.connectOnly, servers.lean]) {
      statuses.push(await rawCall(url, "wait", { "grpc-timeout": "50m" }, "WatchList"));
      statuses.push(await rawCall(url, "three", {}, "WatchList"));
    }
    // The implementation ends quietly when its signal aborts. connect's own server then answers
    // OK, for a stream its deadline cut short; the lean one answers the deadline.
    expect(statuses).toEqual(["0", "0", String(Code.DeadlineExceeded), "0"]);
    expect(servers.fallbackCalls()).toBe(0);
  });

  it("stops pulling messages while the client does not read, and ends when it goes away", async () => {
    const servers = await startServers();
    const client = createClient(ResourceService, connectTransport(servers.lean));
    const abort = new AbortController();
    const messages = client.watchList({ namePrefix: "flood" }, { signal: abort.signal });
    const iterator = messages[Symbol.asyncIterator]();
    await iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Flow control holds the rest: a few MiB of windows and buffers, not 10,000 × 64 KiB.
    expect(flooded).toBeGreaterThan(0);
    expect(flooded).toBeLessThan(1000);
    const seen = flooded;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(flooded).toBe(seen);
    abort.abort();
    await iterator.next().catch(() => undefined);

    const waiting = new AbortController();
    const waits = client.watchList({ namePrefix: "wait" }, { signal: waiting.signal });
    const first = await waits[Symbol.asyncIterator]().next();
    expect(first.done).toBe(false);
    waiting.abort();
    await expect.poll(() => aborted.length).toBe(1);
    expect(ConnectError.from(aborted[0]).code).toBe(Code.Canceled);
  });
});
