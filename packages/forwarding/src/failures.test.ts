import * as http2 from "node:http2";
import * as net from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ForwardingService } from "@raftstore/proto/storage/v1";
import { isInconsistentError, isInvalidArgumentError, ReadConsistency } from "@raftstore/storage";
import { ReferenceBackend as MemoryBackend } from "@raftstore/storage/testing";
import { afterEach, describe, expect, it } from "vitest";
import { createForwardingClient } from "./client.js";
import { connectErrorToStorageError } from "./connect-error-to-storage-error.js";
import { errorHeader, fieldHeader } from "./error-wire.js";
import { createForwardingServer } from "./server.js";
import { artistV1, defaultTenancy, idOf, newResource } from "./test-support/fixtures.js";
import { clientOf, freePort, type Loopback, startLoopback } from "./test-support/loopback.js";
import { HangingTarget } from "./test-support/stub-targets.js";
import { createForwardingTransport, type ForwardingTransport } from "./transport.js";

// Far longer than any test may run: a failure that arrives is not the deadline firing.
const patient = { timeoutMs: 10 * 60_000 };

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function loopbackFor(...args: Parameters<typeof startLoopback>): Promise<Loopback> {
  const loopback = await startLoopback(...args);
  cleanups.push(() => loopback.close());
  return loopback;
}

function transportTo(baseUrl: string): ForwardingTransport {
  const transport = createForwardingTransport({ baseUrl });
  cleanups.push(() => transport.close());
  return transport;
}

function expectUnreachable(error: unknown, cause: Code): void {
  expect(isInconsistentError(error), String(error)).toBe(true);
  expect((error as Error).message).toMatch(/^leader unreachable: /);
  const original = (error as Error).cause;
  expect(original).toBeInstanceOf(ConnectError);
  expect(Code[(original as ConnectError).code]).toBe(Code[cause]);
}

describe("a leader that cannot be reached", () => {
  it("refusing the connection fails the call with an InconsistentError at once, not at the deadline", async () => {
    const transport = transportTo(`http://127.0.0.1:${await freePort()}`);
    const client = createForwardingClient(transport.transport, patient);
    const error = await client.read(idOf("web")).catch((e: unknown) => e);
    expectUnreachable(error, Code.Unavailable);
    // The next call tries again, and fails the same way.
    expectUnreachable(
      await client.writeCAS(newResource("web")).catch((e: unknown) => e),
      Code.Unavailable,
    );
  });

  it("closing its sessions while a request is in flight fails the request, and aborts it on the leader", async () => {
    const target = new HangingTarget();
    const loopback = await loopbackFor(target, { closeGracePeriodMs: 0 });
    const outcome = clientOf(loopback, patient)
      .writeCAS(newResource("web"))
      .catch((e: unknown) => e);
    const call = await target.nextCall();
    await loopback.server.close();
    expectUnreachable(await outcome, Code.Canceled);
    await call.aborted;
  });

  it("crashing mid-request (its socket destroyed) fails the request", async () => {
    const target = new HangingTarget();
    const sockets: net.Socket[] = [];
    const server = createForwardingServer(target);
    const listener = net.createServer((socket) => {
      sockets.push(socket);
      server.handleConnection(socket);
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", () => resolve()));
    cleanups.push(() => new Promise((resolve) => listener.close(resolve)));
    cleanups.push(() => server.close());
    const { port } = listener.address() as net.AddressInfo;
    const client = createForwardingClient(
      transportTo(`http://127.0.0.1:${port}`).transport,
      patient,
    );

    const pending = client.read(idOf("web"));
    await target.nextCall();
    for (const socket of sockets) socket.destroy();
    const error = await pending.catch((e: unknown) => e);
    expect(isInconsistentError(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/^leader unreachable: /);
  });

  it("that never answers fails the call with an InconsistentError when the client's deadline passes", async () => {
    const target = new HangingTarget();
    const loopback = await loopbackFor(target);
    const client = clientOf(loopback, { timeoutMs: 100 });
    const error = await client.list(artistV1, defaultTenancy, "").catch((e: unknown) => e);
    expectUnreachable(error, Code.DeadlineExceeded);
    expect((error as Error).message).toBe("leader unreachable: no answer within 100 ms");
    // The leader learns of the deadline too, and stops working on the call (if the call reached
    // it at all before the deadline, which a loaded machine may not manage).
    await target.takeArrived()?.aborted;
  });

  it("a call's own timeout overrides the client's", async () => {
    const target = new HangingTarget();
    const loopback = await loopbackFor(target);
    const client = clientOf(loopback, patient);
    const error = await client.read(idOf("web"), { timeoutMs: 30 }).catch((e: unknown) => e);
    expect((error as Error).message).toBe("leader unreachable: no answer within 30 ms");
  });

  it("closing the transport fails the calls in flight, and the next call connects again", async () => {
    const target = new HangingTarget();
    const hanging = await loopbackFor(target);
    const client = clientOf(hanging, patient);
    const pending = client.deleteCAS(idOf("web"), "1");
    await target.nextCall();
    hanging.transport.close();
    const error = await pending.catch((e: unknown) => e);
    expect(isInconsistentError(error), String(error)).toBe(true);

    const next = client.deleteCAS(idOf("web"), "1");
    await target.nextCall();
    hanging.transport.close();
    await expect(next).rejects.toSatisfy(isInconsistentError);
    expect(hanging.accepted()).toBe(2);
  });
});

describe("the caller's AbortSignal", () => {
  it("aborts a call in flight with the signal's reason, and the leader's work with it", async () => {
    const target = new HangingTarget();
    const loopback = await loopbackFor(target);
    const controller = new AbortController();
    const pending = clientOf(loopback, patient).writeCAS(newResource("web"), {
      signal: controller.signal,
    });
    const call = await target.nextCall();
    const reason = new Error("the caller gave up");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await call.aborted;
  });

  it("rejects at once, sending nothing, when it is already aborted", async () => {
    const leader = new MemoryBackend();
    const loopback = await loopbackFor(leader);
    const reason = new Error("too late");
    const signal = AbortSignal.abort(reason);
    const client = clientOf(loopback);
    await expect(client.writeCAS(newResource("web"), { signal })).rejects.toBe(reason);
    await expect(client.read(idOf("web"), { signal })).rejects.toBe(reason);
    await expect(leader.read(ReadConsistency.Eventual, idOf("web"))).rejects.toThrow();
    expect(loopback.accepted()).toBe(0);
  });

  it("without a reason rejects with the signal's AbortError", async () => {
    const target = new HangingTarget();
    const loopback = await loopbackFor(target);
    const controller = new AbortController();
    const pending = clientOf(loopback).read(idOf("web"), { signal: controller.signal });
    await target.nextCall();
    controller.abort();
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBe(controller.signal.reason);
    expect((error as Error).name).toBe("AbortError");
  });
});

describe("requests the leader refuses", () => {
  it("a malformed request is answered with InvalidArgument, naming the field, and never reaches the target", async () => {
    const target = new HangingTarget();
    const loopback = await loopbackFor(target);
    // A raw client: the forwarding client validates before sending, a foreign one may not.
    const raw = createClient(ForwardingService, loopback.transport.transport);
    const requests: Array<[string, () => Promise<unknown>]> = [
      ["resource", () => raw.write({})],
      ["resource.id", () => raw.write({ resource: { version: "" } })],
      ["id", () => raw.read({})],
      ["id.tenancy", () => raw.delete({ id: { name: "web", type: artistV1 } })],
      ["tenancy", () => raw.list({ type: artistV1 })],
      ["type", () => raw.list({ tenancy: defaultTenancy })],
    ];
    for (const [field, request] of requests) {
      const error = await request().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code, field).toBe(Code.InvalidArgument);
      expect((error as ConnectError).metadata.get(errorHeader)).toBe("InvalidArgumentError");
      expect((error as ConnectError).metadata.get(fieldHeader)).toBe(field);
      const rebuilt = connectErrorToStorageError(error);
      expect(isInvalidArgumentError(rebuilt) && rebuilt.field).toBe(field);
    }
    await expect(Promise.race([target.nextCall(), "no call"])).resolves.toBe("no call");
  });

  it("a request over the server's size limit is refused with ResourceExhausted, not read as an outage", async () => {
    const leader = new MemoryBackend();
    const loopback = await loopbackFor(leader, { readMaxBytes: 1024 });
    const big = newResource("web");
    big.metadata.blob = "x".repeat(4096);
    const error = await clientOf(loopback)
      .writeCAS(big)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.ResourceExhausted);
    await expect(leader.read(ReadConsistency.Strong, idOf("web"))).rejects.toThrow();
  });
});

describe("statuses that did not come from the forwarding service", () => {
  /** An h2c server answering every forwarding call with `error`, unmarked, as a proxy might. */
  async function foreignServer(error: ConnectError | undefined): Promise<string> {
    const server = http2.createServer(
      connectNodeAdapter({
        routes: (router) => {
          if (error === undefined) return;
          router.service(ForwardingService, {
            read: () => {
              throw error;
            },
          });
        },
      }),
    );
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on("session", (session) => sessions.add(session));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const session of sessions) session.destroy();
          server.close(() => resolve());
        }),
    );
    return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  }

  it("a proxy's FailedPrecondition stays a ConnectError: it is not an InconsistentError", async () => {
    const baseUrl = await foreignServer(
      new ConnectError("policy says no", Code.FailedPrecondition),
    );
    const client = createForwardingClient(transportTo(baseUrl).transport);
    const error = await client.read(idOf("web")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.FailedPrecondition);
  });

  it("an upstream that is down (Unavailable from a proxy) is an unreachable leader", async () => {
    const baseUrl = await foreignServer(new ConnectError("no healthy upstream", Code.Unavailable));
    const client = createForwardingClient(transportTo(baseUrl).transport);
    expectUnreachable(await client.read(idOf("web")).catch((e: unknown) => e), Code.Unavailable);
  });

  it("a server that does not serve forwarding answers Unimplemented, which stays a ConnectError", async () => {
    const baseUrl = await foreignServer(undefined);
    const client = createForwardingClient(transportTo(baseUrl).transport);
    const error = await client.read(idOf("web")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unimplemented);
  });
});
