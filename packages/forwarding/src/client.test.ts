import { clone, create } from "@bufbuild/protobuf";
import { type ID, type Resource, ResourceSchema, type Tenancy } from "@raftstore/proto";
import {
  type CallOptions,
  isCASFailureError,
  isInvalidArgumentError,
  isNotFoundError,
  ReadConsistency,
  type UnversionedType,
  Wildcard,
} from "@raftstore/storage";
import { ReferenceBackend as MemoryBackend } from "@raftstore/storage/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createForwardingClient, type ForwardingClient } from "./client.js";
import type { ForwardingTarget } from "./routes.js";
import { artistV1, artistV2, defaultTenancy, idOf, newResource } from "./test-support/fixtures.js";
import { clientOf, type Loopback, startLoopback } from "./test-support/loopback.js";
import { createForwardingTransport } from "./transport.js";

/** Asserts a value and everything reachable from it is frozen (typed arrays excepted). */
function expectDeepFrozen(value: unknown, path = "value"): void {
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return;
  expect(Object.isFrozen(value), `${path} is frozen`).toBe(true);
  for (const [key, child] of Object.entries(value)) expectDeepFrozen(child, `${path}.${key}`);
}

/** Records what the forwarding service asked of the leader, and what it passed along. */
class RecordingTarget implements ForwardingTarget {
  readonly calls: Array<{ method: string; args: unknown[]; signal?: AbortSignal }> = [];
  readonly backend = new MemoryBackend();

  writeCAS(resource: Resource, options?: CallOptions) {
    this.calls.push({ method: "writeCAS", args: [resource], signal: options?.signal });
    return this.backend.writeCAS(resource, options);
  }
  deleteCAS(id: ID, version: string, options?: CallOptions) {
    this.calls.push({ method: "deleteCAS", args: [id, version], signal: options?.signal });
    return this.backend.deleteCAS(id, version, options);
  }
  read(consistency: ReadConsistency, id: ID, options?: CallOptions) {
    this.calls.push({ method: "read", args: [consistency, id], signal: options?.signal });
    return this.backend.read(consistency, id, options);
  }
  list(
    consistency: ReadConsistency,
    type: UnversionedType,
    tenancy: Tenancy,
    namePrefix: string,
    options?: CallOptions,
  ) {
    const args = [consistency, type, tenancy, namePrefix];
    this.calls.push({ method: "list", args, signal: options?.signal });
    return this.backend.list(consistency, type, tenancy, namePrefix, options);
  }
}

let target: RecordingTarget;
let loopback: Loopback;
let client: ForwardingClient;

beforeEach(async () => {
  target = new RecordingTarget();
  loopback = await startLoopback(target);
  client = clientOf(loopback);
});
afterEach(() => loopback.close());

describe("a follower's calls reach the leader over a real socket", () => {
  it("writeCAS creates and updates on the leader, returning what the leader stored", async () => {
    const created = await client.writeCAS(newResource("web"));
    expect(created.version).not.toBe("");
    expect(created.metadata).toEqual({ team: "core" });
    expect(await target.backend.read(ReadConsistency.Strong, idOf("web"))).toEqual(created);

    const updated = await client.writeCAS({ ...created, metadata: { team: "edge" } });
    expect(updated.version).not.toBe(created.version);
    await expect(client.writeCAS(created)).rejects.toSatisfy(isCASFailureError);
  });

  it("overwrite reaches the leader's overwrite, alone and batched", async () => {
    const overwriting = Object.assign(new RecordingTarget(), {
      overwrite(this: RecordingTarget, resource: Resource, options?: CallOptions) {
        this.calls.push({ method: "overwrite", args: [resource], signal: options?.signal });
        return this.backend.overwrite(resource, options);
      },
    });
    const leader = await startLoopback(overwriting);
    try {
      const follower = clientOf(leader, { maxWritesInFlight: 1 });
      const created = await follower.writeCAS(newResource("web"));
      await follower.writeCAS({ ...created, metadata: { team: "edge" } });
      // Built on the first version; several at once, so that some travel in one WriteBatch.
      const written = await Promise.all(
        ["a", "b", "c"].map((team) => follower.overwrite({ ...created, metadata: { team } })),
      );
      expect(new Set(written.map((r) => r.version)).size).toBe(3);
      expect(overwriting.calls.filter((c) => c.method === "overwrite")).toHaveLength(3);
      expect(overwriting.calls.filter((c) => c.method === "writeCAS")).toHaveLength(2);
    } finally {
      await leader.close();
    }
  });

  it("overwrite is refused by a leader whose target cannot overwrite, and changes nothing", async () => {
    const created = await client.writeCAS(newResource("web"));
    const refused = Promise.all([
      client.overwrite({ ...created, metadata: { team: "edge" } }),
      client.overwrite({ ...created, metadata: { team: "edge" } }),
      client.overwrite({ ...created, metadata: { team: "edge" } }),
    ]);
    await expect(refused).rejects.toSatisfy(isInvalidArgumentError);
    expect(await target.backend.read(ReadConsistency.Strong, idOf("web"))).toEqual(created);
  });

  it("deleteIncarnation reaches the leader's, which deletes whatever version is stored", async () => {
    const deleting = Object.assign(new RecordingTarget(), {
      deleteIncarnation(this: RecordingTarget, id: ID, options?: CallOptions) {
        this.calls.push({ method: "deleteIncarnation", args: [id], signal: options?.signal });
        return this.backend.deleteIncarnation(id, options);
      },
    });
    const leader = await startLoopback(deleting);
    try {
      const follower = clientOf(leader);
      const created = await follower.writeCAS(newResource("web"));
      await follower.writeCAS({ ...created, metadata: { team: "edge" } });
      await follower.deleteIncarnation(created.id as ID);
      await expect(deleting.backend.read(ReadConsistency.Strong, idOf("web"))).rejects.toSatisfy(
        isNotFoundError,
      );
      expect(deleting.calls.map((c) => c.method)).toEqual([
        "writeCAS",
        "writeCAS",
        "deleteIncarnation",
      ]);
      await expect(follower.deleteIncarnation(idOf(""))).rejects.toSatisfy(isInvalidArgumentError);
    } finally {
      await leader.close();
    }
  });

  it("deleteIncarnation is refused by a leader whose target cannot do it, and changes nothing", async () => {
    const created = await client.writeCAS(newResource("web"));
    await expect(client.deleteIncarnation(created.id as ID)).rejects.toSatisfy(
      isInvalidArgumentError,
    );
    expect(await target.backend.read(ReadConsistency.Strong, idOf("web"))).toEqual(created);
  });

  it("read is a strong read on the leader", async () => {
    const written = await target.backend.writeCAS(newResource("web"));
    expect(await client.read(idOf("web"))).toEqual(written);
    const read = target.calls.find((c) => c.method === "read");
    expect(read?.args[0]).toBe(ReadConsistency.Strong);
    await expect(client.read(idOf("missing"))).rejects.toSatisfy(isNotFoundError);
  });

  it("list is a strong list of every group version, sending only the group and kind", async () => {
    const v1 = await target.backend.writeCAS(newResource("api"));
    const v2 = await target.backend.writeCAS(newResource("app", artistV2));
    await target.backend.writeCAS(newResource("web"));
    const listed = await client.list(artistV1, defaultTenancy, "a");
    expect(listed).toEqual(expect.arrayContaining([v1, v2]));
    expect(listed).toHaveLength(2);
    const call = target.calls.find((c) => c.method === "list");
    expect(call?.args).toEqual([
      ReadConsistency.Strong,
      { group: "demo", kind: "Artist" },
      defaultTenancy,
      "a",
    ]);
    const everywhere = { partition: Wildcard, namespace: Wildcard } as Tenancy;
    expect(await client.list({ group: "demo", kind: "Album" }, everywhere, "")).toEqual([]);
  });

  it("deleteCAS deletes on the leader, idempotently", async () => {
    const written = await target.backend.writeCAS(newResource("web"));
    await expect(client.deleteCAS(idOf("web"), "stale")).rejects.toSatisfy(isCASFailureError);
    await client.deleteCAS(idOf("web"), written.version);
    await client.deleteCAS(idOf("web"), written.version);
    await expect(target.backend.read(ReadConsistency.Strong, idOf("web"))).rejects.toSatisfy(
      isNotFoundError,
    );
  });

  it("passes the leader a signal for every call", async () => {
    await client.writeCAS(newResource("web"));
    await client.read(idOf("web"));
    for (const call of target.calls) expect(call.signal).toBeInstanceOf(AbortSignal);
  });

  it("carries a resource of several megabytes both ways", async () => {
    const big = newResource("big");
    big.metadata.blob = "x".repeat(8 * 1024 * 1024);
    const written = await client.writeCAS(big);
    expect((await client.read(idOf("big"))).metadata.blob).toHaveLength(8 * 1024 * 1024);
    expect(written.version).not.toBe("");
  });

  it("reuses one connection for many calls", async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.writeCAS(newResource(`r${i}`))));
    await client.list(artistV1, defaultTenancy, "");
    expect(loopback.accepted()).toBe(1);
  });
});

describe("what the client hands back", () => {
  it("is deeply frozen: written, read and listed resources", async () => {
    const written = await client.writeCAS(
      create(ResourceSchema, {
        id: idOf("web"),
        owner: idOf("owner"),
        metadata: { team: "core" },
        data: { typeUrl: "type.googleapis.com/demo.Artist", value: new Uint8Array([1, 2]) },
      }),
    );
    expectDeepFrozen(written, "writeCAS result");
    expectDeepFrozen(await client.read(idOf("web")), "read result");
    const listed = await client.list(artistV1, defaultTenancy, "");
    expectDeepFrozen(listed, "list result");
    expect(listed).toHaveLength(1);
  });

  it("never mutates its input, and later changes to the input do not reach what was stored", async () => {
    const input = newResource("web");
    const before = clone(ResourceSchema, input);
    const written = await client.writeCAS(input);
    expect(input).toEqual(before);
    input.metadata.team = "changed";
    expect(await client.read(idOf("web"))).toEqual(written);
  });

  it("accepts frozen inputs", async () => {
    const written = await client.writeCAS(newResource("web"));
    const updated = await client.writeCAS(written);
    await client.deleteCAS(updated.id as ID, updated.version);
  });
});

describe("malformed input", () => {
  it("is rejected with InvalidArgumentError before anything is sent", async () => {
    const bad = <T>(value: unknown) => value as T;
    const valid = newResource("web");
    const calls: Array<[string, () => Promise<unknown>]> = [
      ["a write without an id", () => client.writeCAS(create(ResourceSchema, {}))],
      ["a numeric version", () => client.writeCAS(bad({ ...valid, version: 5 }))],
      ["a read without an id", () => client.read(bad(undefined))],
      ["a delete with a numeric version", () => client.deleteCAS(idOf("web"), bad(1))],
      ["a list without a kind", () => client.list(bad({ group: "demo" }), defaultTenancy, "")],
      ["a list without a tenancy", () => client.list(artistV1, bad(undefined), "")],
    ];
    for (const [what, call] of calls) {
      await expect(call(), what).rejects.toSatisfy(isInvalidArgumentError);
    }
    expect(target.calls).toEqual([]);
  });

  it("that only protobuf encoding catches is an InvalidArgumentError, not an unreachable leader", async () => {
    // Plain JavaScript (or a cast) can hand over a `data` that is a plain object rather than a
    // google.protobuf.Any message: validation does not look at it, encoding rejects it.
    const data = { typeUrl: "type.googleapis.com/demo.Artist", value: new Uint8Array([1]) };
    const input = { ...newResource("web"), data } as unknown as Resource;
    const error = await client.writeCAS(input).catch((e: unknown) => e);
    expect(isInvalidArgumentError(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/^invalid argument: request cannot be encoded: /);
    expect(target.calls).toEqual([]);
  });

  it("a timeout that is not a positive number, or longer than gRPC carries, is refused", async () => {
    // 100,000,000 ms takes 9 digits in grpc-timeout, which servers refuse; 2^53 - 1 would also
    // overflow Node's timers and fire after 1 ms.
    for (const timeoutMs of [
      0,
      -1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      100_000_000,
      Number.MAX_SAFE_INTEGER,
    ]) {
      expect(() => createForwardingClient(loopback.transport.transport, { timeoutMs })).toThrow(
        RangeError,
      );
      await expect(client.read(idOf("web"), { timeoutMs })).rejects.toThrow(RangeError);
    }
    expect(target.calls).toEqual([]);
  });

  it("a fractional timeout works over either transport: it is rounded up to whole milliseconds", async () => {
    // With interceptors the transport is connect's own, whose grpc-timeout header takes whole
    // units only: 1.5 ms once went out as "1.5m", which the server refused.
    const intercepted = createForwardingTransport({
      baseUrl: loopback.baseUrl,
      interceptors: [(next) => (req) => next(req)],
    });
    try {
      await target.backend.writeCAS(newResource("web"));
      for (const transport of [loopback.transport.transport, intercepted.transport]) {
        const fractional = createForwardingClient(transport, { timeoutMs: 1000.5 });
        expect((await fractional.read(idOf("web"))).id?.name).toBe("web");
        expect((await client.read(idOf("web"), { timeoutMs: 999.25 })).id?.name).toBe("web");
        expect((await fractional.read(idOf("web"), { timeoutMs: 2000.75 })).id?.name).toBe("web");
        // The longest deadline grpc-timeout carries in milliseconds.
        expect((await fractional.read(idOf("web"), { timeoutMs: 99_999_999 })).id?.name).toBe(
          "web",
        );
      }
    } finally {
      intercepted.close();
    }
  });
});
