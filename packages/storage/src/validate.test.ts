import { create } from "@bufbuild/protobuf";
import { ResourceSchema } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { ReadConsistency } from "./backend.js";
import { isInconsistentError, isInvalidArgumentError } from "./errors.js";
import { validateConsistency, validateListQuery, validateResource } from "./validate.js";

const valid = () =>
  create(ResourceSchema, {
    id: {
      name: "web",
      type: { group: "demo", groupVersion: "v1", kind: "Artist" },
      tenancy: { partition: "default", namespace: "default" },
    },
  });

function fieldOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (error) {
    if (isInvalidArgumentError(error)) return error.field;
    throw error;
  }
  return undefined;
}

describe("validation", () => {
  it("accepts a well-formed resource", () => {
    expect(fieldOf(() => validateResource(valid()))).toBeUndefined();
  });

  it("names the first malformed field", () => {
    const res = valid();
    expect(fieldOf(() => validateResource(undefined))).toBe("resource");
    expect(fieldOf(() => validateResource({ ...res, id: undefined }))).toBe("resource.id");
    expect(fieldOf(() => validateResource({ ...res, id: { ...res.id, type: undefined } }))).toBe(
      "resource.id.type",
    );
    expect(fieldOf(() => validateResource({ ...res, id: { ...res.id, name: "" } }))).toBe(
      "resource.id.name",
    );
    expect(
      fieldOf(() =>
        validateResource({ ...res, id: { ...res.id, type: { group: "demo", kind: "" } } }),
      ),
    ).toBe("resource.id.type.kind");
    expect(fieldOf(() => validateResource({ ...res, version: 3 }))).toBe("resource.version");
    expect(fieldOf(() => validateResource({ ...res, owner: { name: "x" } }))).toBe(
      "resource.owner.type",
    );
    expect(fieldOf(() => validateListQuery({ group: "g", kind: "k" }, {}, ""))).toBe(
      "tenancy.partition",
    );
    expect(
      fieldOf(() =>
        validateListQuery({ group: "g", kind: "k" }, { partition: "", namespace: "" }, null),
      ),
    ).toBe("namePrefix");
  });

  it("rejects NUL characters, which would corrupt storage keys", () => {
    const res = valid();
    expect(fieldOf(() => validateResource({ ...res, id: { ...res.id, name: "a\0b" } }))).toBe(
      "resource.id.name",
    );
  });

  it('refuses a metadata or status key "__proto__", which no protobuf decode keeps', () => {
    const withKey = (value: unknown) =>
      Object.defineProperty({}, "__proto__", { value, enumerable: true, writable: true });
    const res = valid();
    expect(fieldOf(() => validateResource({ ...res, metadata: withKey("x") }))).toBe(
      "resource.metadata",
    );
    expect(fieldOf(() => validateResource({ ...res, status: withKey({}) }))).toBe(
      "resource.status",
    );
    // Other names of Object.prototype are ordinary keys.
    const ordinary = { ...res, metadata: { constructor: "c", toString: "t" } };
    expect(fieldOf(() => validateResource(ordinary))).toBeUndefined();
  });

  it("treats an unknown consistency as unsatisfiable rather than weaker", () => {
    expect(() => validateConsistency(ReadConsistency.Strong)).not.toThrow();
    expect(() => validateConsistency("linearizable")).toThrow(
      expect.objectContaining({ name: "InconsistentError" }),
    );
    try {
      validateConsistency(undefined);
    } catch (error) {
      expect(isInconsistentError(error)).toBe(true);
    }
  });
});
