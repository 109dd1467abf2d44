import { create } from "@bufbuild/protobuf";
import { ResourceSchema, TypeSchema } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import {
  CASFailureError,
  findStorageError,
  GroupVersionMismatchError,
  InconsistentError,
  InvalidArgumentError,
  isCASFailureError,
  isInconsistentError,
  isNotFoundError,
  isQuotaExceededError,
  NotFoundError,
  QuotaExceededError,
} from "./errors.js";

describe("storage errors", () => {
  it("are recognised by name, so a copy from another package instance still matches", () => {
    const foreign = Object.assign(new Error("resource not found"), { name: "NotFoundError" });
    expect(isNotFoundError(foreign)).toBe(true);
    expect(isNotFoundError(new CASFailureError())).toBe(false);
    expect(isNotFoundError("NotFoundError")).toBe(false);
  });

  it("keep Consul's messages by default", () => {
    expect(new NotFoundError().message).toBe("resource not found");
    expect(new CASFailureError().message).toBe(
      "CAS operation failed because the given version doesn't match what is stored",
    );
    expect(new InconsistentError().message).toBe("cannot satisfy consistency requirements");
  });

  it("are found through a cause chain, and only there when the guard is not enough", () => {
    const inner = new InconsistentError("leader unknown");
    const wrapped = new Error("strong read failed", { cause: inner });
    expect(isInconsistentError(wrapped)).toBe(false);
    expect(findStorageError(wrapped, "InconsistentError")).toBe(inner);
    expect(findStorageError(wrapped, "NotFoundError")).toBeUndefined();
  });

  it("say that a quota refused a write, and are told from the other refusals", () => {
    const error = new QuotaExceededError();
    expect(error.name).toBe("QuotaExceededError");
    expect(error.message).toBe("write refused: the store would grow past its quota");
    expect(isQuotaExceededError(error)).toBe(true);
    expect(isQuotaExceededError(new CASFailureError())).toBe(false);
    expect(findStorageError(new Error("write", { cause: error }), "QuotaExceededError")).toBe(
      error,
    );
  });

  it("stop following a cyclic cause chain", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(findStorageError(a, "NotFoundError")).toBeUndefined();
  });

  it("say which group versions differ and carry the stored resource", () => {
    const requested = create(TypeSchema, { group: "g", groupVersion: "v2", kind: "k" });
    const stored = create(ResourceSchema, {
      id: { type: { group: "g", groupVersion: "v1", kind: "k" } },
    });
    const error = new GroupVersionMismatchError(requested, stored);
    expect(error.message).toBe(
      'resource was requested with GroupVersion="v2", but stored with GroupVersion="v1"',
    );
    expect(error.stored).toBe(stored);
    expect(error.requestedType).toBe(requested);
  });

  it("name the offending field of malformed input", () => {
    const error = new InvalidArgumentError("resource.id.name", "is required");
    expect(error.field).toBe("resource.id.name");
    expect(error.message).toBe("invalid argument: resource.id.name is required");
    expect(isCASFailureError(error)).toBe(false);
  });
});
