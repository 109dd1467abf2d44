import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { type ID, type Resource, ResourceSchema } from "@raftstore/proto";
import {
  ForwardingService,
  type ResourceResult,
  ResourceResultSchema,
} from "@raftstore/proto/storage/v1";
import {
  CASFailureError,
  type CallOptions,
  GroupVersionMismatchError,
  InvalidArgumentError,
  isInconsistentError,
  ReadConsistency,
  WrongUidError,
} from "@raftstore/storage";
import { ReferenceBackend as MemoryBackend } from "@raftstore/storage/testing";
import { afterEach, describe, expect, it } from "vitest";
import { CallBatcher } from "./call-batcher.js";
import { createForwardingClient } from "./client.js";
import type { ForwardingTarget } from "./routes.js";
import { artistV2, idOf, newResource } from "./test-support/fixtures.js";
import { clientOf, type Loopback, startLoopback } from "./test-support/loopback.js";
import { createForwardingTransport } from "./transport.js";

/**
 * A leader whose writes and strong reads wait until released (as they wait for a Raft commit or
 * a heartbeat round), and which fails the writes of a few names on purpose. It records every
 * writeCAS and read it runs.
 */
class GatedTarget implements ForwardingTarget {
  readonly backend = new MemoryBackend();
  readonly written: string[] = [];
  readonly reads: string[] = [];
  held = true;
  #waiting: Array<() => void> = [];

  /** Lets every held write go, and every later one through without waiting. */
  release(): void {
    this.held = false;
    for (const go of this.#waiting.splice(0)) go();
  }

  /** Lets the oldest held write go; later ones are still held. */
  releaseOne(): void {
    this.#waiting.shift()?.();
  }

  async writeCAS(resource: Resource, options?: CallOptions): Promise<Resource> {
    this.written.push(resource.id?.name ?? "");
    if (this.held) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    const failure = plannedFailure(resource);
    if (failure !== undefined) throw failure;
    return this.backend.writeCAS(resource, options);
  }
  async read(consistency: ReadConsistency, id: ID, options?: CallOptions): Promise<Resource> {
    this.reads.push(id.name);
    if (this.held) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    return this.backend.read(consistency, id, options);
  }
  // Deletes and lists are not batched: straight to the store.
  readonly deleteCAS: ForwardingTarget["deleteCAS"] = (...args) => this.backend.deleteCAS(...args);
  readonly list: ForwardingTarget["list"] = (...args) => this.backend.list(...args);
}

/** The failure a GatedTarget raises for a write, by the resource's name. */
function plannedFailure(resource: Resource): Error | undefined {
  switch (resource.id?.name) {
    case "cas":
      return new CASFailureError("version mismatch: stored v7");
    case "uid":
      return new WrongUidError("the stored resource has uid u9");
    case "bad":
      return new InvalidArgumentError("metadata", "must not hold the reserved key finalizers");
    case "gvm":
      return new GroupVersionMismatchError(
        artistV2,
        create(ResourceSchema, { id: idOf("gvm", artistV2), version: "v3" }),
      );
    case "boom":
      return new Error("the leader's disk is on fire");
    default:
      return undefined;
  }
}

/** Records the forwarding methods the leader served, in order. */
function methodRecorder() {
  const methods: string[] = [];
  const interceptor: Interceptor = (next) => (request) => {
    methods.push(request.method.name);
    return next(request);
  };
  return { methods, interceptor };
}

/** Lets the event loop turn a few times, so that calls reach the leader. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Waits until `condition()` holds, turning the event loop (at most ~2 s). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const resource of open.splice(0)) await resource.close();
});

async function gatedLeader(
  options: { maxWritesInFlight?: number; maxReadsInFlight?: number } = {},
) {
  const target = new GatedTarget();
  const recorder = methodRecorder();
  const loopback: Loopback = await startLoopback(target, { interceptors: [recorder.interceptor] });
  open.push(loopback);
  const client = clientOf(loopback, options);
  return { target, methods: recorder.methods, client, loopback };
}

/** What a caller sees of a settled write: the resource's name, or the error's class and text. */
async function outcome(write: Promise<Resource>): Promise<string> {
  try {
    return `ok ${(await write).id?.name}`;
  } catch (error) {
    const name = error instanceof Error ? error.constructor.name : typeof error;
    const code = error instanceof ConnectError ? ` [${Code[error.code]}]` : "";
    return `${name}${code}: ${(error as Error).message}`;
  }
}

describe("forwarded writes are batched while the calls in flight are busy", () => {
  it("sends a lone write at once, and the writes that queue behind busy calls in one WriteBatch", async () => {
    const { target, methods, client } = await gatedLeader();
    const first = [client.writeCAS(newResource("a")), client.writeCAS(newResource("b"))];
    await until(() => target.written.length === 2);
    // Both calls in flight are busy: the next ten wait, and go together once one is answered.
    const queued = Array.from({ length: 10 }, (_, i) => client.writeCAS(newResource(`q${i}`)));
    await settle();
    expect(target.written).toEqual(["a", "b"]);

    target.release();
    const names = (await Promise.all([...first, ...queued])).map((r) => r.id?.name);
    expect(names).toEqual(["a", "b", ...Array.from({ length: 10 }, (_, i) => `q${i}`)]);
    expect(methods).toEqual(["Write", "Write", "WriteBatch"]);
    // Every write is the leader's own answer: stored, with a version, frozen.
    const stored = await Promise.all(queued);
    for (const resource of stored) {
      expect(resource.version).not.toBe("");
      expect(Object.isFrozen(resource)).toBe(true);
    }
  });

  it("cuts a long queue into batches of at most 256 writes, in queue order", async () => {
    const { target, methods, client } = await gatedLeader({ maxWritesInFlight: 1 });
    const blocker = client.writeCAS(newResource("first"));
    await until(() => target.written.length === 1);
    const queued = Array.from({ length: 300 }, (_, i) => client.writeCAS(newResource(`q${i}`)));
    await settle();
    target.release();
    await blocker;
    const names = (await Promise.all(queued)).map((r) => r.id?.name);
    expect(names).toEqual(Array.from({ length: 300 }, (_, i) => `q${i}`));
    expect(methods).toEqual(["Write", "WriteBatch", "WriteBatch"]);
    expect(target.written).toEqual(["first", ...names]);
  });

  it("answers each write of a batch on its own, with the error a single Write would give", async () => {
    const names = ["ok1", "cas", "uid", "bad", "gvm", "boom", "ok2"];
    const batched = await gatedLeader({ maxWritesInFlight: 1 });
    const blocker = batched.client.writeCAS(newResource("first"));
    await until(() => batched.target.written.length === 1);
    const writes = names.map((name) => batched.client.writeCAS(newResource(name)));
    await settle();
    batched.target.release();
    const viaBatch = await Promise.all(writes.map(outcome));
    await blocker;
    expect(batched.methods).toEqual(["Write", "WriteBatch"]);

    const single = await gatedLeader({ maxWritesInFlight: 1 });
    single.target.release();
    const viaWrite: string[] = [];
    for (const name of names)
      viaWrite.push(await outcome(single.client.writeCAS(newResource(name))));
    expect(single.methods).toEqual(names.map(() => "Write"));

    expect(viaBatch).toEqual(viaWrite);
    expect(viaBatch).toEqual([
      "ok ok1",
      "CASFailureError: version mismatch: stored v7",
      "WrongUidError: the stored resource has uid u9",
      "InvalidArgumentError: invalid argument: metadata must not hold the reserved key finalizers",
      expect.stringMatching(/^GroupVersionMismatchError: /),
      "ConnectError [Internal]: [internal] the leader's disk is on fire",
      "ok ok2",
    ]);
  });

  it("fails a queued write at once when its caller aborts it, and never sends it", async () => {
    const { target, methods, client } = await gatedLeader({ maxWritesInFlight: 1 });
    const blocker = client.writeCAS(newResource("first"));
    await until(() => target.written.length === 1);
    const controller = new AbortController();
    const abandoned = client.writeCAS(newResource("abandoned"), { signal: controller.signal });
    const kept = client.writeCAS(newResource("kept"));
    controller.abort(new Error("the caller gave up"));
    await expect(abandoned).rejects.toThrow("the caller gave up");

    target.release();
    await blocker;
    expect((await kept).id?.name).toBe("kept");
    expect(target.written).toEqual(["first", "kept"]);
    expect(methods).toEqual(["Write", "Write"]);
  });

  it("fails a write that waits past its deadline as the leader being unreachable", async () => {
    const { target, client } = await gatedLeader({ maxWritesInFlight: 1 });
    const blocker = client.writeCAS(newResource("first"));
    await until(() => target.written.length === 1);
    const late = client.writeCAS(newResource("late"), { timeoutMs: 50 });
    const error = await late.catch((e: unknown) => e);
    expect(isInconsistentError(error)).toBe(true);
    expect((error as Error).message).toBe("leader unreachable: no answer within 50 ms");
    target.release();
    await blocker;
  });

  it("fails every write of a batch with InconsistentError when the leader goes away mid-call", async () => {
    const { target, methods, client, loopback } = await gatedLeader({ maxWritesInFlight: 1 });
    const blocker = client.writeCAS(newResource("first"));
    await until(() => target.written.length === 1);
    const queued = [1, 2, 3].map((i) => client.writeCAS(newResource(`q${i}`)));
    target.releaseOne();
    await blocker;
    // The three left in one batch and are held on the leader: drop the connection.
    await until(() => target.written.length === 4);
    expect(methods).toEqual(["Write", "WriteBatch"]);
    loopback.transport.close();
    for (const error of await Promise.all(queued.map((w) => w.catch((e: unknown) => e)))) {
      expect(isInconsistentError(error), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/^leader unreachable: /);
    }
    target.release();
  });

  it("sends each write on its own to a leader that does not know WriteBatch (an older version)", async () => {
    const target = new GatedTarget();
    const recorder = methodRecorder();
    const old = await startOldLeader(target, recorder.interceptor);
    const client = createForwardingClient(old.transport, { maxWritesInFlight: 1 });
    const blocker = client.writeCAS(newResource("first"));
    await until(() => target.written.length === 1);
    const queued = ["x", "y", "z"].map((name) => client.writeCAS(newResource(name)));
    await settle();
    target.release();
    await blocker;
    expect((await Promise.all(queued)).map((r) => r.id?.name)).toEqual(["x", "y", "z"]);
    // One batch was refused as unknown, then every write went alone, and no batch since.
    expect(recorder.methods).toEqual(["Write", "WriteBatch", "Write", "Write", "Write"]);
    target.held = true;
    const again = [client.writeCAS(newResource("p")), client.writeCAS(newResource("q"))];
    await until(() => target.written.length === 5);
    target.release();
    await Promise.all(again);
    expect(recorder.methods.slice(5)).toEqual(["Write", "Write"]);
  });
});

describe("forwarded strong reads are batched the same way", () => {
  it("sends the reads that queue behind a busy one in one ReadBatch, each answered as a Read would be", async () => {
    const names = ["one", "missing", "two", "gvm"];
    const prepare = async (leader: Awaited<ReturnType<typeof gatedLeader>>) => {
      leader.target.held = false;
      for (const name of ["first", "one", "two"])
        await leader.target.backend.writeCAS(newResource(name));
      await leader.target.backend.writeCAS(create(ResourceSchema, { id: idOf("gvm", artistV2) }));
      leader.target.held = true;
    };
    const batched = await gatedLeader({ maxReadsInFlight: 1 });
    await prepare(batched);
    const blocker = batched.client.read(idOf("first"));
    await until(() => batched.target.reads.length === 1);
    const reads = names.map((name) => batched.client.read(idOf(name)));
    await settle();
    expect(batched.target.reads).toEqual(["first"]);
    batched.target.release();
    const viaBatch = await Promise.all(reads.map(outcome));
    await blocker;
    // The group-version mismatch reads the stored resource again, alone, to complete itself.
    expect(batched.methods.slice(0, 2)).toEqual(["Read", "ReadBatch"]);

    const single = await gatedLeader({ maxReadsInFlight: 1 });
    await prepare(single);
    single.target.release();
    const viaRead: string[] = [];
    for (const name of names) viaRead.push(await outcome(single.client.read(idOf(name))));
    expect(single.methods.every((method) => method === "Read")).toBe(true);

    expect(viaBatch).toEqual(viaRead);
    expect(viaBatch.slice(0, 3)).toEqual([
      "ok one",
      expect.stringMatching(/^NotFoundError: /),
      "ok two",
    ]);
    expect(viaBatch[3]).toMatch(/^GroupVersionMismatchError: /);
  });

  it("sends each read on its own to a leader that does not know ReadBatch", async () => {
    const target = new GatedTarget();
    target.held = false;
    for (const name of ["first", "x", "y"]) await target.backend.writeCAS(newResource(name));
    target.held = true;
    const recorder = methodRecorder();
    const old = await startOldLeader(target, recorder.interceptor);
    const client = createForwardingClient(old.transport, { maxReadsInFlight: 1 });
    const blocker = client.read(idOf("first"));
    await until(() => target.reads.length === 1);
    const queued = ["x", "y"].map((name) => client.read(idOf(name)));
    await settle();
    target.release();
    await blocker;
    expect((await Promise.all(queued)).map((r) => r.id?.name)).toEqual(["x", "y"]);
    expect(recorder.methods).toEqual(["Read", "ReadBatch", "Read", "Read"]);
  });

  it("refuses an in-flight limit that is not a whole number of at least 1", () => {
    const transport = createForwardingTransport({ baseUrl: "http://127.0.0.1:1" });
    expect(() => createForwardingClient(transport.transport, { maxReadsInFlight: 0 })).toThrow(
      "maxReadsInFlight must be an integer of at least 1, got 0",
    );
    expect(() => createForwardingClient(transport.transport, { maxWritesInFlight: 1.5 })).toThrow(
      "maxWritesInFlight must be an integer of at least 1, got 1.5",
    );
    transport.close();
  });
});

describe("CallBatcher", () => {
  it("fails a call whose result is neither a resource nor an error, and a batch answered short", async () => {
    const answers: ResourceResult[][] = [
      [create(ResourceResultSchema, {}), create(ResourceResultSchema, {})],
      [create(ResourceResultSchema, {})],
    ];
    let release: () => void = () => {};
    const batcher = new CallBatcher<string>(
      {
        single: async (name) => {
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          return newResource(name);
        },
        batch: async () => answers.shift() ?? [],
        batchFailure: (error) => error,
      },
      { batchMethod: "TestBatch", maxInFlight: 1, maxBatchBytes: 1 << 20, estimatedBytes: () => 1 },
    );
    const first = batcher.send("first", { timeoutMs: 1000 });
    const empty = ["a", "b"].map((name) => batcher.send(name, { timeoutMs: 1000 }));
    release();
    expect((await first).id?.name).toBe("first");
    for (const error of await Promise.all(empty.map((p) => p.catch((e: unknown) => e)))) {
      expect(error instanceof ConnectError && error.code).toBe(Code.Internal);
      expect((error as Error).message).toMatch(/answered TestBatch without a resource or an error/);
    }
    const blocker = batcher.send("again", { timeoutMs: 1000 });
    const short = ["c", "d"].map((name) => batcher.send(name, { timeoutMs: 1000 }));
    release();
    await blocker;
    for (const error of await Promise.all(short.map((p) => p.catch((e: unknown) => e)))) {
      expect((error as Error).message).toMatch(/a batch of 2 calls with 1 results/);
    }
  });
});

describe("the leader's WriteBatch and ReadBatch", () => {
  it("refuses an empty batch or one over 256 writes, and answers a write without a resource with its own InvalidArgument", async () => {
    const loopback = await startLoopback(new MemoryBackend());
    open.push(loopback);
    const rpc = createClient(ForwardingService, loopback.transport.transport);
    const empty = await rpc.writeBatch({ writes: [] }).catch((e: unknown) => e);
    expect(empty instanceof ConnectError && empty.code).toBe(Code.InvalidArgument);

    const writes = Array.from({ length: 257 }, (_, i) => ({ resource: newResource(`w${i}`) }));
    const tooMany = await rpc.writeBatch({ writes }).catch((e: unknown) => e);
    expect(tooMany instanceof ConnectError && tooMany.code).toBe(Code.InvalidArgument);
    expect((tooMany as Error).message).toMatch(/must hold 1 to 256 writes, found 257/);

    const { results } = await rpc.writeBatch({
      writes: [{}, { resource: newResource("web") }],
    });
    expect(results.map((r) => r.outcome.case)).toEqual(["error", "resource"]);
    const refused = results[0]?.outcome.value as { code: number; message: string };
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.message).toMatch(/resource/);
  });

  it("lets every call of a batch listen on its signal without a MaxListenersExceededWarning", async () => {
    // As the Raft engine does: each write and read waits with an abort listener on its signal.
    const listening = new MemoryBackend();
    const target: ForwardingTarget = {
      writeCAS: (resource, options) => {
        options?.signal?.addEventListener("abort", () => {}, { once: true });
        return listening.writeCAS(resource, options);
      },
      read: (consistency, id, options) => {
        options?.signal?.addEventListener("abort", () => {}, { once: true });
        return listening.read(consistency, id, options);
      },
      deleteCAS: (...args) => listening.deleteCAS(...args),
      list: (...args) => listening.list(...args),
    };
    const loopback = await startLoopback(target);
    open.push(loopback);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const rpc = createClient(ForwardingService, loopback.transport.transport);
      const writes = Array.from({ length: 50 }, (_, i) => ({ resource: newResource(`l${i}`) }));
      const written = await rpc.writeBatch({ writes });
      expect(written.results.every((r) => r.outcome.case === "resource")).toBe(true);
      const reads = writes.map((w) => ({ id: w.resource.id }));
      const read = await rpc.readBatch({ reads });
      expect(read.results.every((r) => r.outcome.case === "resource")).toBe(true);
      await settle();
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.map((w) => w.name)).not.toContain("MaxListenersExceededWarning");
  });

  it("refuses an empty ReadBatch, and answers a read without an id with its own InvalidArgument", async () => {
    const loopback = await startLoopback(new MemoryBackend());
    open.push(loopback);
    const rpc = createClient(ForwardingService, loopback.transport.transport);
    const empty = await rpc.readBatch({ reads: [] }).catch((e: unknown) => e);
    expect(empty instanceof ConnectError && empty.code).toBe(Code.InvalidArgument);
    expect((empty as Error).message).toMatch(/must hold 1 to 256 reads, found 0/);

    const { results } = await rpc.readBatch({ reads: [{}, { id: idOf("nobody") }] });
    expect(results.map((r) => r.outcome.case)).toEqual(["error", "error"]);
    const codes = results.map((r) => (r.outcome.value as { code: number }).code);
    expect(codes).toEqual([Code.InvalidArgument, Code.NotFound]);
  });
});

/** A leader from before WriteBatch: its forwarding service has no such method. */
async function startOldLeader(target: ForwardingTarget, interceptor: Interceptor) {
  const server = http2.createServer(
    connectNodeAdapter({
      interceptors: [interceptor],
      routes: (router) =>
        router.service(ForwardingService, {
          write: async (request) => ({
            resource: await target.writeCAS(request.resource as Resource),
          }),
          read: async (request) => ({
            resource: await target.read(ReadConsistency.Strong, request.id as ID),
          }),
        }),
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const forwarding = createForwardingTransport({ baseUrl: `http://127.0.0.1:${port}` });
  const leader = {
    transport: forwarding.transport,
    async close() {
      forwarding.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  open.push(leader);
  return leader;
}
