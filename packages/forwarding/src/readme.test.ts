import * as http2 from "node:http2";
import * as net from "node:net";
import { Code, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ID } from "@raftstore/proto";
import { isCASFailureError, isNotFoundError, ReadConsistency } from "@raftstore/storage";
import { ReferenceBackend as MemoryBackend } from "@raftstore/storage/testing";
import { describe, expect, it } from "vitest";
import { createForwardingClient } from "./client.js";
import { createForwardingRoutes } from "./routes.js";
import { createForwardingServer } from "./server.js";
import { idOf, newResource } from "./test-support/fixtures.js";
import { createForwardingTransport } from "./transport.js";
import { createUnaryGrpcHandler } from "./unary-grpc-handler.js";

describe("the README examples", () => {
  it("a follower writes, reads and deletes through the leader", async () => {
    const leader = new MemoryBackend();
    const resource = newResource("web");
    const outcomes: string[] = [];

    // On the leader: serve forwarding on the connections its listener accepts.
    const forwarding = createForwardingServer(leader);
    const listener = net.createServer((socket) => forwarding.handleConnection(socket));
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const { port } = listener.address() as net.AddressInfo;

    // On a follower: a client over a transport to the leader.
    const toLeader = createForwardingTransport({ baseUrl: `http://127.0.0.1:${port}` });
    const client = createForwardingClient(toLeader.transport, { timeoutMs: 5_000 });

    const written = await client.writeCAS(resource); // runs leader.writeCAS
    const read = await client.read(written.id as ID); // a strong read on the leader
    try {
      await client.writeCAS(resource); // the leader's CASFailureError, rebuilt here
    } catch (error) {
      if (!isCASFailureError(error)) throw error;
      outcomes.push("lost the race: read again and retry");
    }
    await client.deleteCAS(read.id as ID, read.version);

    // Shut down: the follower's connection first, then the server and the listener.
    toLeader.close();
    await forwarding.close();
    await new Promise((resolve) => listener.close(resolve));

    expect(read).toEqual(written);
    expect(Object.isFrozen(read)).toBe(true);
    expect(outcomes).toEqual(["lost the race: read again and retry"]);
    await expect(leader.read(ReadConsistency.Strong, idOf("web"))).rejects.toSatisfy(
      isNotFoundError,
    );
  });

  it("the routes can share an HTTP/2 server with other services", async () => {
    const leader = new MemoryBackend();

    const server = http2.createServer(
      connectNodeAdapter({
        routes: (router) => {
          createForwardingRoutes(leader)(router);
          // router.service(ResourceService, …) and others on the same port
        },
      }),
    );

    const sessions = new Set<http2.ServerHttp2Session>();
    server.on("session", (session) => sessions.add(session));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    const toLeader = createForwardingTransport({ baseUrl: `http://127.0.0.1:${port}` });
    const written = await createForwardingClient(toLeader.transport).writeCAS(newResource("web"));
    expect(written.version).toBe("1");
    toLeader.close();
    for (const session of sessions) session.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it("createUnaryGrpcHandler serves the unary calls of routes, and connect the rest", async () => {
    const leader = new MemoryBackend();
    const routes = createForwardingRoutes(leader);
    const methods: string[] = [];
    const interceptors: Interceptor[] = [
      (next) => async (req) => {
        methods.push(req.method.name);
        return await next(req);
      },
    ];

    const handler = createUnaryGrpcHandler({
      routes,
      interceptors, // run around every call it serves, as connect runs them
      fallback: (registered) => connectNodeAdapter({ routes: registered, interceptors }),
    });

    const server = http2.createServer(handler);
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on("session", (session) => sessions.add(session));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    const toLeader = createForwardingTransport({ baseUrl: `http://127.0.0.1:${port}` });
    const client = createForwardingClient(toLeader.transport);
    const written = await client.writeCAS(newResource("web"));
    await expect(client.read(idOf("db"))).rejects.toSatisfy(isNotFoundError);
    expect(written.version).toBe("1");
    expect(methods).toEqual(["Write", "Read"]);
    toLeader.close();
    for (const session of sessions) session.close();
    await new Promise((resolve) => server.close(resolve));

    // Unary calls without interceptors, observed instead (how a node counts its RPCs):
    const observed: string[] = [];
    const observe = (name: string, code: Code | undefined, seconds: number) => {
      expect(seconds).toBeGreaterThanOrEqual(0);
      observed.push(`${name} ${code === undefined ? "ok" : Code[code]}`);
    };
    const lean = createUnaryGrpcHandler({
      routes,
      interceptors, // still run around server-streaming calls
      unaryInterceptors: [],
      onUnaryEnd: (method, error, seconds) => observe(method.name, error?.code, seconds),
      fallback: (registered) => connectNodeAdapter({ routes: registered, interceptors }),
    });
    const leanServer = http2.createServer(lean);
    await new Promise<void>((resolve) => leanServer.listen(0, "127.0.0.1", resolve));
    const leanUrl = `http://127.0.0.1:${(leanServer.address() as net.AddressInfo).port}`;
    const toLean = createForwardingTransport({ baseUrl: leanUrl });
    const leanClient = createForwardingClient(toLean.transport);
    await leanClient.writeCAS(newResource("api"));
    await expect(leanClient.read(idOf("cache"))).rejects.toSatisfy(isNotFoundError);
    expect(observed).toEqual(["Write ok", "Read NotFound"]);
    expect(methods).toEqual(["Write", "Read"]); // none more
    toLean.close();
    await new Promise((resolve) => leanServer.close(resolve));
  });
});
