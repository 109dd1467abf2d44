import { clone, create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Resource, ResourceSchema } from "@raftstore/proto";
import {
  CASFailureError,
  GroupVersionMismatchError,
  InconsistentError,
  InvalidArgumentError,
  isCASFailureError,
  isGroupVersionMismatchError,
  isInconsistentError,
  isInvalidArgumentError,
  isNotFoundError,
  isQuotaExceededError,
  isWrongUidError,
  NotFoundError,
  QuotaExceededError,
  ReadConsistency,
  WrongUidError,
} from "@raftstore/storage";
import { ReferenceBackend as MemoryBackend } from "@raftstore/storage/testing";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ForwardingClient } from "./client.js";
import { errorHeader } from "./error-wire.js";
import type { ForwardingTarget } from "./routes.js";
import { artistV1, artistV2, defaultTenancy, idOf, newResource } from "./test-support/fixtures.js";
import { clientOf, type Loopback, startLoopback } from "./test-support/loopback.js";
import { failingTarget } from "./test-support/stub-targets.js";

// One leader whose target each test swaps: every error crosses a real loopback socket.
let target: ForwardingTarget = failingTarget(new Error("no target set"));
const delegate: ForwardingTarget = {
  writeCAS: (...args) => target.writeCAS(...args),
  deleteCAS: (...args) => target.deleteCAS(...args),
  read: (...args) => target.read(...args),
  list: (...args) => target.list(...args),
};
let loopback: Loopback;
let client: ForwardingClient;

beforeAll(async () => {
  loopback = await startLoopback(delegate);
  client = clientOf(loopback);
});
afterAll(() => loopback.close());
afterEach(() => {
  target = failingTarget(new Error("no target set"));
});

/** What each client method rejects with when the leader's target throws `error`. */
async function rejectionsOf(error: unknown): Promise<unknown[]> {
  target = failingTarget(error);
  const id = idOf("web");
  const outcomes = await Promise.allSettled([
    client.writeCAS(newResource("web")),
    client.deleteCAS(id, "1"),
    client.read(id),
    client.list(artistV1, defaultTenancy, ""),
  ]);
  return outcomes.map((o) => (o.status === "rejected" ? o.reason : "fulfilled"));
}

const stored: Resource = Object.assign(clone(ResourceSchema, newResource("web", artistV2)), {
  version: "7",
});

describe("storage errors cross from the leader to the follower as themselves", () => {
  const kinds: Array<[string, Error, (e: unknown) => boolean]> = [
    ["NotFoundError", new NotFoundError("nothing stored under demo.Artist/web"), isNotFoundError],
    ["CASFailureError", new CASFailureError("expected version 3, stored 4"), isCASFailureError],
    ["WrongUidError", new WrongUidError("uid u2 is stored"), isWrongUidError],
    ["InconsistentError", new InconsistentError("no quorum"), isInconsistentError],
    [
      "InvalidArgumentError",
      new InvalidArgumentError("resource.id.name", "is required"),
      isInvalidArgumentError,
    ],
    [
      "GroupVersionMismatchError",
      new GroupVersionMismatchError(artistV1, stored),
      isGroupVersionMismatchError,
    ],
    [
      "QuotaExceededError",
      new QuotaExceededError("the store would hold 2 GiB, past its quota of 1 GiB"),
      isQuotaExceededError,
    ],
  ];
  for (const [name, error, guard] of kinds) {
    it(`a ${name} thrown by the leader rejects every forwarded call with a ${name}, message kept`, async () => {
      for (const rejection of await rejectionsOf(error)) {
        expect(guard(rejection), String(rejection)).toBe(true);
        expect((rejection as Error).message).toBe(error.message);
      }
    });
  }

  it("an InvalidArgumentError keeps its field", async () => {
    const [rejection] = await rejectionsOf(new InvalidArgumentError("resource.owner", "is bad"));
    expect(isInvalidArgumentError(rejection) && rejection.field).toBe("resource.owner");
  });

  it("a GroupVersionMismatchError keeps its requested type and its stored resource, frozen", async () => {
    const leader = new MemoryBackend();
    target = leader;
    const written = await leader.writeCAS(newResource("web", artistV2));
    const error = await client.read(idOf("web", artistV1)).catch((e: unknown) => e);
    if (!isGroupVersionMismatchError(error)) throw new Error(`got ${String(error)}`);
    expect(error.requestedType).toEqual(artistV1);
    expect(error.stored).toEqual(written);
    expect(Object.isFrozen(error.stored.id?.type)).toBe(true);
    expect(error.message).toBe(
      'resource was requested with GroupVersion="v1", but stored with GroupVersion="v2"',
    );
  });

  it("a wrapped InconsistentError still arrives as an InconsistentError, with the wrapper's context", async () => {
    const wrapped = new Error("strong read", {
      cause: new InconsistentError("leadership lost to n2"),
    });
    for (const rejection of await rejectionsOf(wrapped)) {
      expect(isInconsistentError(rejection), String(rejection)).toBe(true);
      expect((rejection as Error).message).toBe("strong read: leadership lost to n2");
    }
  });

  it("an unknown error on the leader arrives as an Internal ConnectError with its message", async () => {
    for (const rejection of await rejectionsOf(new RangeError("log index overflow"))) {
      expect(rejection).toBeInstanceOf(ConnectError);
      const status = rejection as ConnectError;
      expect(status.code).toBe(Code.Internal);
      expect(status.rawMessage).toBe("log index overflow");
      expect(status.metadata.get(errorHeader)).toBe("internal");
    }
  });

  it("every storage error and message survives the trip (property)", async () => {
    const kind = fc.constantFrom(
      (m: string) => new NotFoundError(m),
      (m: string) => new CASFailureError(m),
      (m: string) => new WrongUidError(m),
      (m: string) => new InconsistentError(m),
    );
    // Any well-formed text, up to the length the leader keeps: newlines, percent signs, emoji.
    const message = fc.string({ unit: "grapheme", maxLength: 200 });
    await fc.assert(
      fc.asyncProperty(kind, message, async (make, text) => {
        const error = make(text);
        target = failingTarget(error);
        const rejection = await client.read(idOf("web")).catch((e: unknown) => e);
        expect((rejection as Error).name).toBe(error.name);
        expect((rejection as Error).message).toBe(text);
      }),
      { numRuns: 60 },
    );
  });
});

describe("a group-version mismatch too large for a trailer", () => {
  /** A stored resource whose encoding is well over the 16 KiB a trailer detail may carry. */
  const large = (name: string) =>
    create(ResourceSchema, {
      ...newResource(name, artistV2),
      metadata: { blob: "x".repeat(100_000) },
    });

  it("is completed by the client with the whole stored resource", async () => {
    const leader = new MemoryBackend();
    target = leader;
    const written = await leader.writeCAS(large("big"));
    const error = await client.read(idOf("big", artistV1)).catch((e: unknown) => e);
    if (!isGroupVersionMismatchError(error)) throw new Error(`got ${String(error)}`);
    expect(error.requestedType).toEqual(artistV1);
    expect(error.stored).toEqual(written);
    expect(Object.isFrozen(error.stored.metadata)).toBe(true);
  });

  it("is read again from the start when the stored resource changed in between", async () => {
    const leader = new MemoryBackend();
    let written = await leader.writeCAS(large("big"));
    let reads = 0;
    target = {
      writeCAS: (r, o) => leader.writeCAS(r, o),
      deleteCAS: (i, v, o) => leader.deleteCAS(i, v, o),
      list: (c, t, n, p, o) => leader.list(c, t, n, p, o),
      // Another writer updates the resource after the first read answers.
      read: async (consistency, id, options) => {
        const result = leader.read(consistency, id, options);
        if (++reads === 1) {
          await result.catch(() => undefined);
          written = await leader.writeCAS(written);
        }
        return result;
      },
    };
    const error = await client.read(idOf("big", artistV1)).catch((e: unknown) => e);
    if (!isGroupVersionMismatchError(error)) throw new Error(`got ${String(error)}`);
    expect(error.stored.version).toBe(written.version);
    expect(reads).toBe(4); // mismatch, stale re-read, mismatch, matching re-read
  });

  it("gives up with an InconsistentError when the stored resource keeps changing", async () => {
    const leader = new MemoryBackend();
    let written = await leader.writeCAS(large("big"));
    target = {
      writeCAS: (r, o) => leader.writeCAS(r, o),
      deleteCAS: (i, v, o) => leader.deleteCAS(i, v, o),
      list: (c, t, n, p, o) => leader.list(c, t, n, p, o),
      read: async (consistency, id, options) => {
        const result = leader.read(consistency, id, options);
        await result.catch(() => undefined);
        written = await leader.writeCAS(written);
        return result;
      },
    };
    const error = await client.read(idOf("big", artistV1)).catch((e: unknown) => e);
    expect(isInconsistentError(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/changed during each of 3 attempts/);
  });

  it("still reports NotFound when the uid does not match, before any mismatch", async () => {
    const leader = new MemoryBackend();
    target = leader;
    await leader.writeCAS(large("big"));
    const error = await client.read(idOf("big", artistV1, "other-uid")).catch((e: unknown) => e);
    expect(isNotFoundError(error), String(error)).toBe(true);
    // The resource is there, under v2 and uid u1: the uid check came first.
    await expect(leader.read(ReadConsistency.Strong, idOf("big", artistV2))).resolves.toBeDefined();
  });
});
