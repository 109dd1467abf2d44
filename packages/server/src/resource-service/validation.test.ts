import { clone, create, equals, isMessage } from "@bufbuild/protobuf";
import {
  type ID,
  IDSchema,
  ResourceSchema,
  TenancySchema,
  type Type,
  TypeSchema,
} from "@raftstore/proto";
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

  it("makes ids and tenancies that are the messages protobuf-es's create makes, from messages or plain objects", () => {
    const expected = create(IDSchema, {
      name: "a",
      uid: "u",
      type,
      tenancy: { partition: "default", namespace: "default" },
    });
    for (const id of [
      create(IDSchema, { name: "a", uid: "u", type }),
      { name: "a", uid: "u", type },
    ]) {
      const normalized = normalizeResource(create(ResourceSchema, { id }), "resource");
      expect(normalized.id).toStrictEqual(expected);
      expect(isMessage(normalized.id, IDSchema)).toBe(true);
      expect(isMessage(normalized.id?.type, TypeSchema)).toBe(true);
      expect(isMessage(normalized.id?.tenancy, TenancySchema)).toBe(true);
    }
    const plainType = { $typeName: undefined, ...type } as unknown as Type;
    const id = { $typeName: IDSchema.typeName, name: "a", uid: "u", type: plainType } as ID;
    expect(normalizeResource({ ...create(ResourceSchema), id }, "resource").id).toStrictEqual(
      expected,
    );
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
