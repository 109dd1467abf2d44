import * as net from "node:net";
import type { Interceptor } from "@connectrpc/connect";
import type { Resource } from "@raftstore/proto";
import { isInconsistentError, ReadConsistency } from "@raftstore/storage";
import { ReferenceBackend as MemoryBackend } from "@raftstore/storage/testing";
import { afterEach, describe, expect, it } from "vitest";
import { createForwardingClient } from "./client.js";
import { createForwardingServer, type ForwardingServer } from "./server.js";
import { idOf, newResource } from "./test-support/fixtures.js";
import { clientOf, type Loopback, startLoopback } from "./test-support/loopback.js";
import { HangingTarget } from "./test-support/stub-targets.js";
import { createForwardingTransport } from "./transport.js";

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

/** A leader whose writes wait until the test opens the gate. */
class GatedTarget extends MemoryBackend {
  #open: () => void = () => {};
  readonly #gate = new Promise<void>((resolve) => {
    this.#open = resolve;
  });
  #arrived: () => void = () => {};
  /** Resolves once a write is waiting at the gate. */
  readonly arrived = new Promise<void>((resolve) => {
    this.#arrived = resolve;
  });

  open(): void {
    this.#open();
  }

  override async writeCAS(resource: Resource): Promise<Resource> {
    this.#arrived();
    await this.#gate;
    return super.writeCAS(resource);
  }
}

describe("ForwardingServer.close", () => {
  it("ends idle sessions, and refuses connections handed over afterwards", async () => {
    const loopback = await loopbackFor(new MemoryBackend());
    const client = clientOf(loopback, patient);
    await client.writeCAS(newResource("web"));
    await loopback.server.close();

    const error = await client.read(idOf("web")).catch((e: unknown) => e);
    expect(isInconsistentError(error), String(error)).toBe(true);
    expect(loopback.accepted()).toBe(2);
  });

  it("refuses a grace period that is not 0 or more milliseconds", () => {
    for (const closeGracePeriodMs of [-1, Number.NaN]) {
      expect(() => createForwardingServer(new MemoryBackend(), { closeGracePeriodMs })).toThrow(
        RangeError,
      );
    }
  });

  it("returns the same promise every time, and resolves with no session ever opened", async () => {
    const server = createForwardingServer(new MemoryBackend());
    const first = server.close();
    expect(server.close()).toBe(first);
    await first;
  });

  it("lets a request in flight finish within the grace period", async () => {
    const target = new GatedTarget();
    const loopback = await loopbackFor(target, { closeGracePeriodMs: 60_000 });
    const client = clientOf(loopback, patient);
    const pending = client.writeCAS(newResource("web"));
    await target.arrived;
    const closed = loopback.server.close();
    target.open();
    const written = await pending;
    await closed;
    expect(await target.read(ReadConsistency.Strong, idOf("web"))).toEqual(written);
    // The session is gone: the next call needs a new connection, which is refused.
    await expect(client.read(idOf("web"))).rejects.toSatisfy(isInconsistentError);
  });

  it("ends a request still in flight after the grace period, aborting it on the leader", async () => {
    const target = new HangingTarget();
    const loopback = await loopbackFor(target, { closeGracePeriodMs: 20 });
    const outcome = clientOf(loopback, patient)
      .read(idOf("web"))
      .catch((e: unknown) => e);
    const call = await target.nextCall();
    await loopback.server.close();
    expect(isInconsistentError(await outcome)).toBe(true);
    await call.aborted;
  });
});

describe("ForwardingServer.handleConnection", () => {
  /**
   * A listener that reads a one-byte protocol prefix, as Consul's multiplexed server port does
   * (byte 9 is RPCRaftForwarding), and hands the rest of the connection to the forwarding server.
   */
  async function multiplexer(server: ForwardingServer): Promise<number> {
    const listener = net.createServer((socket) => {
      socket.once("readable", () => {
        const prefix: Buffer | null = socket.read(1);
        if (prefix?.[0] === 9) server.handleConnection(socket);
        else socket.destroy();
      });
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", () => resolve()));
    cleanups.push(() => new Promise((resolve) => listener.close(resolve)));
    return (listener.address() as net.AddressInfo).port;
  }

  it("serves a connection whose first byte a multiplexer already read", async () => {
    const server = createForwardingServer(new MemoryBackend());
    cleanups.push(() => server.close());
    const port = await multiplexer(server);
    const transport = createForwardingTransport({
      baseUrl: `http://127.0.0.1:${port}`,
      nodeOptions: {
        createConnection: () => {
          const socket = net.connect(port, "127.0.0.1");
          socket.write(Uint8Array.of(9));
          return socket;
        },
      },
    });
    cleanups.push(() => transport.close());
    const client = createForwardingClient(transport.transport, patient);
    const written = await client.writeCAS(newResource("web"));
    expect(await client.read(idOf("web"))).toEqual(written);
  });

  it("runs the configured interceptors around every forwarded call", async () => {
    const seen: string[] = [];
    const record: Interceptor = (next) => async (request) => {
      seen.push(request.method.name);
      return next(request);
    };
    const loopback = await loopbackFor(new MemoryBackend(), { interceptors: [record] });
    const client = clientOf(loopback);
    const written = await client.writeCAS(newResource("web"));
    await client.deleteCAS(idOf("web"), written.version);
    expect(seen).toEqual(["Write", "Delete"]);
  });
});
