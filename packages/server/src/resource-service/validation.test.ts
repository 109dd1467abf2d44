import { clone, create, equals } from "@bufbuild/protobuf";
import { ResourceSchema } from "@raftstore/proto";
import { isInvalidArgumentError } from "@raftstore/storage";
import { describe, expect, it } from "vitest";
import { normalizeResource } from "./validation.js";

describe("normalizeResource", () => {
  const type = { group: "demo", groupVersion: "v1", kind: "Artist" };

  it("fills in the default tenancy of the id and the owner, and leaves its input as it was", () => {
    const input = create(ResourceSchema, {
      id: { name: "a", type },
      owner: { name: "o", type, tenancy: { partition: "p" } },
      version: "3",
      metadata: { k: "v" },
      data: { typeUrl: "t", value: new Uint8Array([1, 2]) },
    });
    const before = clone(ResourceSchema, input);
    const normalized = normalizeResource(input, "resource");
    expect(normalized.id?.tenancy).toMatchObject({ partition: "default", namespace: "default" });
    expect(normalized.owner?.tenancy).toMatchObject({ partition: "p", namespace: "default" });
    expect(normalized.version).toBe("3");
    expect(normalized.metadata).toEqual({ k: "v" });
    expect(normalized.data?.value).toEqual(new Uint8Array([1, 2]));
    expect(normalized.$typeName).toBe(ResourceSchema.typeName);
    // The input keeps its own id and owner: nothing was written into it.
    expect(equals(ResourceSchema, input, before)).toBe(true);
    expect(input.id?.tenancy).toBeUndefined();
  });

  it("refuses a resource without one, or with an id that is not valid", () => {
    expect(() => normalizeResource(undefined, "resource")).toThrow(/resource is required/);
    const bad = create(ResourceSchema, { id: { name: "Not A Label", type } });
    let error: unknown;
    try {
      normalizeResource(bad, "resource");
    } catch (e) {
      error = e;
    }
    expect(isInvalidArgumentError(error)).toBe(true);
  });
});
