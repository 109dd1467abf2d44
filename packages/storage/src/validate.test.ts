import { create } from "@bufbuild/protobuf";
import { ResourceSchema } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { ReadConsistency } from "./backend.js";
import { isInconsistentError, isInvalidArgumentError } from "./errors.js";
import {
  hasIdShape,
  validateConsistency,
  validateId,
  validateListQuery,
  validateResource,
} from "./validate.js";

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

  it("checks an id's shape without its characters, and never fails an id validateId accepts", () => {
    const id = valid().id as Record<string, unknown>;
    const type = id.type as Record<string, unknown>;
    const tenancy = id.tenancy as Record<string, unknown>;
    const badShapes = [
      undefined,
      null,
      "web",
      { ...id, type: undefined },
      { ...id, type: { ...type, group: 1 } },
      { ...id, type: { ...type, kind: undefined } },
      { ...id, type: { ...type, groupVersion: null } },
      { ...id, tenancy: null },
      { ...id, tenancy: { ...tenancy, partition: undefined } },
      { ...id, tenancy: { ...tenancy, namespace: 0 } },
      { ...id, name: undefined },
      { ...id, uid: null },
    ];
    for (const bad of badShapes) {
      expect(hasIdShape(bad)).toBe(false);
      expect(fieldOf(() => validateId(bad))).toBeDefined();
    }
    // What only validateId sees: the characters. A lazy caller must not succeed on these.
    const badCharacters = [
      { ...id, name: "" },
      { ...id, name: "a\0b" },
      { ...id, uid: "\0" },
      { ...id, type: { ...type, group: "" } },
      { ...id, type: { ...type, groupVersion: "v\0" } },
      { ...id, tenancy: { ...tenancy, namespace: "\0" } },
    ];
    for (const bad of badCharacters) {
      expect(hasIdShape(bad)).toBe(true);
      expect(fieldOf(() => validateId(bad))).toBeDefined();
    }
    const { groupVersion: _, ...unversioned } = type;
    for (const good of [id, { ...id, uid: "u1" }, { ...id, type: unversioned }]) {
      expect(hasIdShape(good)).toBe(true);
      expect(fieldOf(() => validateId(good))).toBeUndefined();
    }
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
