import { clone, create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ResourceSchema } from "@raftstore/proto";
import { GroupVersionMismatchErrorDetailsSchema } from "@raftstore/proto/storage/v1";
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
  WatchClosedError,
  WrongUidError,
} from "@raftstore/storage";
import { describe, expect, it } from "vitest";
import { connectErrorToStorageError } from "./connect-error-to-storage-error.js";
import { errorToConnectError } from "./error-to-connect-error.js";
import { detailHeader, errorHeader, fieldHeader, partialDetailValue } from "./error-wire.js";
import { artistV1, artistV2, newResource } from "./test-support/fixtures.js";

const stored = Object.assign(clone(ResourceSchema, newResource("web", artistV2)), { version: "7" });

describe("errorToConnectError (leader side)", () => {
  const cases: Array<[string, Error, Code]> = [
    ["NotFoundError", new NotFoundError(), Code.NotFound],
    ["CASFailureError", new CASFailureError(), Code.Aborted],
    ["WrongUidError", new WrongUidError(), Code.AlreadyExists],
    ["InconsistentError", new InconsistentError(), Code.FailedPrecondition],
    [
      "InvalidArgumentError",
      new InvalidArgumentError("id.name", "is required"),
      Code.InvalidArgument,
    ],
    ["GroupVersionMismatchError", new GroupVersionMismatchError(artistV1, stored), Code.OutOfRange],
    ["QuotaExceededError", new QuotaExceededError(), Code.ResourceExhausted],
  ];
  for (const [name, error, code] of cases) {
    it(`maps a ${name} to ${Code[code]}, marked as a storage error, keeping its message`, () => {
      const mapped = errorToConnectError(error);
      expect(mapped.code).toBe(code);
      expect(mapped.rawMessage).toBe(error.message);
      expect(mapped.metadata.get(errorHeader)).toBe(name);
      expect(mapped.cause).toBe(error);
    });
  }

  it("finds an InconsistentError wrapped in causes and keeps the wrapper's context", () => {
    const wrapped = new Error("strong read", {
      cause: new Error("ensureStrongConsistency", {
        cause: new InconsistentError("leadership lost"),
      }),
    });
    const mapped = errorToConnectError(wrapped);
    expect(mapped.code).toBe(Code.FailedPrecondition);
    expect(mapped.rawMessage).toBe("strong read: leadership lost");
  });

  it("uses the outermost storage error of a chain", () => {
    const mapped = errorToConnectError(
      new NotFoundError("owner missing", { cause: new CASFailureError() }),
    );
    expect(mapped.code).toBe(Code.NotFound);
  });

  it("does not repeat a storage error's message the wrapper already contains", () => {
    const inner = new InconsistentError("no quorum");
    const mapped = errorToConnectError(new Error(`apply: ${inner.message}`, { cause: inner }));
    expect(mapped.rawMessage).toBe("apply: no quorum");
  });

  it("maps anything else to Internal with its message, marked as the leader's", () => {
    const mapped = errorToConnectError(new TypeError("cannot read properties of undefined"));
    expect(mapped.code).toBe(Code.Internal);
    expect(mapped.rawMessage).toBe("cannot read properties of undefined");
    expect(mapped.metadata.get(errorHeader)).toBe("internal");
  });

  it("maps errors the forwarding service does not carry, and non-errors, to Internal", () => {
    expect(errorToConnectError(new WatchClosedError()).code).toBe(Code.Internal);
    const thrown = errorToConnectError("a string was thrown");
    expect([thrown.code, thrown.rawMessage]).toEqual([Code.Internal, "a string was thrown"]);
  });

  it("stops walking a cyclic cause chain", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    a.cause = b;
    expect(errorToConnectError(a).code).toBe(Code.Internal);
  });

  it("cuts a huge message so that the status still fits in a trailer", () => {
    const mapped = errorToConnectError(new Error("x".repeat(100_000)));
    expect(mapped.rawMessage.length).toBeLessThan(2100);
    expect(mapped.rawMessage).toMatch(/… \(97952 more\)$/);
  });

  it("replaces unpaired surrogates, which a gRPC message cannot carry", () => {
    expect(errorToConnectError(new Error("a\uD800b")).rawMessage).toBe("a\uFFFDb");
    expect(errorToConnectError(new Error("ok 😀")).rawMessage).toBe("ok 😀");
  });

  it("puts an InvalidArgumentError's field in a URI-encoded trailer", () => {
    const mapped = errorToConnectError(new InvalidArgumentError("résumé.name", "is required"));
    expect(mapped.metadata.get(fieldHeader)).toBe("r%C3%A9sum%C3%A9.name");
  });

  it("carries a GroupVersionMismatchError's requested type and stored resource as a detail", () => {
    const mapped = errorToConnectError(new GroupVersionMismatchError(artistV1, stored));
    const [detail] = mapped.findDetails(GroupVersionMismatchErrorDetailsSchema);
    expect(detail?.requestedType).toEqual(artistV1);
    expect(detail?.stored).toEqual(stored);
    expect(mapped.metadata.get(detailHeader)).toBeNull();
  });

  it("cuts the stored resource to its id and version when it is too large for a trailer", () => {
    const large = create(ResourceSchema, { ...stored, metadata: { blob: "x".repeat(20_000) } });
    const mapped = errorToConnectError(new GroupVersionMismatchError(artistV1, large));
    const [detail] = mapped.findDetails(GroupVersionMismatchErrorDetailsSchema);
    expect(mapped.metadata.get(detailHeader)).toBe(partialDetailValue);
    expect(detail?.stored?.id).toEqual(large.id);
    expect(detail?.stored?.version).toBe("7");
    expect(detail?.stored?.metadata).toEqual({});
  });
});

describe("connectErrorToStorageError (follower side)", () => {
  const roundTrips: Array<[Error, (e: unknown) => boolean]> = [
    [new NotFoundError("nothing under that key"), isNotFoundError],
    [new CASFailureError("version 3 is stale"), isCASFailureError],
    [new WrongUidError("uid u2 is stored"), isWrongUidError],
    [new InconsistentError("no quorum"), isInconsistentError],
    [new InvalidArgumentError("id.tenancy", "is required"), isInvalidArgumentError],
    [new GroupVersionMismatchError(artistV1, stored), isGroupVersionMismatchError],
    [new QuotaExceededError("the store would hold 2 GiB, past 1 GiB"), isQuotaExceededError],
  ];
  for (const [error, guard] of roundTrips) {
    it(`rebuilds a ${error.name} from the leader's status, with its message`, () => {
      const status = errorToConnectError(error);
      const rebuilt = connectErrorToStorageError(status);
      expect(guard(rebuilt), String(rebuilt)).toBe(true);
      expect((rebuilt as Error).message).toBe(error.message);
      expect((rebuilt as Error).cause).toBe(status);
    });
  }

  it("carries an InconsistentError's noLeader mark (the call did nothing), and only that one's", () => {
    const noLeader = Object.assign(new InconsistentError("no longer the leader; retry"), {
      noLeader: true,
    });
    const status = errorToConnectError(new Error("forwarded write failed", { cause: noLeader }));
    expect(status.metadata.get("raftstore-error-no-leader")).toBe("1");
    const rebuilt = connectErrorToStorageError(status);
    expect(isInconsistentError(rebuilt), String(rebuilt)).toBe(true);
    expect((rebuilt as { noLeader?: unknown }).noLeader).toBe(true);
    const unmarked = connectErrorToStorageError(
      errorToConnectError(new InconsistentError("the outcome is unknown")),
    );
    expect(isInconsistentError(unmarked)).toBe(true);
    expect((unmarked as { noLeader?: unknown }).noLeader).toBeUndefined();
    // The header alone, on a status that is not the leader's InconsistentError, means nothing.
    const forged = connectErrorToStorageError(
      new ConnectError("reset", Code.Unavailable, { "raftstore-error-no-leader": "1" }),
    );
    expect((forged as { noLeader?: unknown }).noLeader).toBeUndefined();
  });

  it("marks a refused connection as having done nothing (noLeader), and only that", () => {
    const refusedCause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:7001"), {
      code: "ECONNREFUSED",
    });
    const refused = connectErrorToStorageError(
      new ConnectError(refusedCause.message, Code.Unavailable, undefined, undefined, refusedCause),
    );
    expect(isInconsistentError(refused)).toBe(true);
    expect((refused as { noLeader?: unknown }).noLeader).toBe(true);
    // Without the cause (as a transport may lose it), the message still tells.
    const byMessage = connectErrorToStorageError(
      new ConnectError("connect ECONNREFUSED 10.0.0.1:7001", Code.Unavailable),
    );
    expect((byMessage as { noLeader?: unknown }).noLeader).toBe(true);
    // A reset once the request may have been sent: unknown, not marked.
    const reset = connectErrorToStorageError(new ConnectError("read ECONNRESET", Code.Aborted));
    expect(isInconsistentError(reset)).toBe(true);
    expect((reset as { noLeader?: unknown }).noLeader).toBeUndefined();
  });

  it("rebuilds an InvalidArgumentError's field", () => {
    const error = new InvalidArgumentError("résumé.name", "must be a string, got number");
    const rebuilt = connectErrorToStorageError(errorToConnectError(error));
    expect(isInvalidArgumentError(rebuilt) && rebuilt.field).toBe("résumé.name");
  });

  it("rebuilds a GroupVersionMismatchError with its requested type and a frozen stored resource", () => {
    const rebuilt = connectErrorToStorageError(
      errorToConnectError(new GroupVersionMismatchError(artistV1, stored)),
    );
    if (!isGroupVersionMismatchError(rebuilt)) throw new Error(`got ${String(rebuilt)}`);
    expect(rebuilt.requestedType).toEqual(artistV1);
    expect(rebuilt.stored).toEqual(stored);
    expect(Object.isFrozen(rebuilt.stored.id?.tenancy)).toBe(true);
  });

  it("leaves OutOfRange without the detail, or with a partial one, a ConnectError", () => {
    const bare = new ConnectError("gv", Code.OutOfRange, {
      [errorHeader]: "GroupVersionMismatchError",
    });
    expect(connectErrorToStorageError(bare)).toBe(bare);
    const large = create(ResourceSchema, { ...stored, metadata: { blob: "x".repeat(20_000) } });
    const partial = errorToConnectError(new GroupVersionMismatchError(artistV1, large));
    expect(connectErrorToStorageError(partial)).toBe(partial);
  });

  it("leaves the leader's Internal status a ConnectError with the leader's message", () => {
    const status = errorToConnectError(new Error("disk on fire"));
    const result = connectErrorToStorageError(status);
    expect(result).toBe(status);
    expect((result as ConnectError).rawMessage).toBe("disk on fire");
  });

  it("does not read a proxy's unmarked FailedPrecondition or NotFound as a storage error", () => {
    for (const code of [Code.FailedPrecondition, Code.NotFound, Code.AlreadyExists]) {
      const proxied = new ConnectError("upstream policy", code);
      expect(connectErrorToStorageError(proxied)).toBe(proxied);
    }
  });

  it("does not trust a marker whose code is not the one that error travels as", () => {
    const odd = new ConnectError("huh", Code.Unimplemented, { [errorHeader]: "NotFoundError" });
    expect(connectErrorToStorageError(odd)).toBe(odd);
    const unknown = new ConnectError("huh", Code.NotFound, { [errorHeader]: "SomethingElse" });
    expect(connectErrorToStorageError(unknown)).toBe(unknown);
  });

  const unreachable = [
    Code.Unavailable,
    Code.DeadlineExceeded,
    Code.Canceled,
    Code.Aborted,
    Code.Internal,
    Code.Unknown,
  ];
  for (const code of unreachable) {
    it(`reads an unmarked ${Code[code]} as an unreachable leader: a retryable InconsistentError`, () => {
      const broken = new ConnectError("connection reset", code);
      const result = connectErrorToStorageError(broken);
      expect(isInconsistentError(result), String(result)).toBe(true);
      expect((result as Error).message).toMatch(
        /^leader unreachable: \[[a-z_]+\] connection reset$/,
      );
      expect((result as Error).cause).toBe(broken);
    });
  }

  it("leaves other unmarked statuses, and errors that are not ConnectErrors, unchanged", () => {
    for (const code of [Code.Unimplemented, Code.PermissionDenied, Code.ResourceExhausted]) {
      const other = new ConnectError("nope", code);
      expect(connectErrorToStorageError(other)).toBe(other);
    }
    const plain = new Error("leader unknown");
    expect(connectErrorToStorageError(plain)).toBe(plain);
    expect(connectErrorToStorageError(undefined)).toBeUndefined();
  });
});
