import { clone, create, equals } from "@bufbuild/protobuf";
import { ResourceSchema, StatusSchema } from "@raftstore/proto";
import { isInvalidArgumentError } from "@raftstore/storage";
import { produce } from "immer";
import { describe, expect, it } from "vitest";
import { freezeRecord } from "./record.js";
import { resource, smallResource } from "./test-support/resources.js";

function expectDeepFrozen(value: unknown, path = "record"): void {
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return;
  expect(Object.isFrozen(value), `${path} is frozen`).toBe(true);
  for (const [key, child] of Object.entries(value)) expectDeepFrozen(child, `${path}.${key}`);
}

describe("freezeRecord", () => {
  it("returns a deeply frozen copy with the new version, equal to the input otherwise", () => {
    const input = smallResource(7);
    const record = freezeRecord(input, "42");
    expectDeepFrozen(record);
    expect(record.version).toBe("42");
    expect(equals(ResourceSchema, record, { ...input, version: "42" })).toBe(true);
  });

  it("never changes its input, and later changes to the input do not reach the record", () => {
    const input = smallResource(7);
    input.status = {
      controller: create(StatusSchema, { conditions: [{ type: "Ready", reason: "ok" }] }),
    };
    const before = clone(ResourceSchema, input);
    const record = freezeRecord(input, "42");
    expect(equals(ResourceSchema, input, before)).toBe(true);
    expect(Object.isFrozen(input)).toBe(false);
    expect(Object.isFrozen(input.id)).toBe(false);

    (input.id as { name: string }).name = "changed";
    input.metadata.label = "changed";
    (input.status.controller?.conditions[0] as { reason: string }).reason = "changed";
    (input.data?.value as Uint8Array)[0] = 255;
    expect(record.id?.name).toBe("artist-0000007");
    expect(record.metadata.label).toBe("blue");
    expect(record.status.controller?.conditions[0]?.reason).toBe("ok");
    expect(record.data?.value[0]).toBe(7 * 31);
  });

  it("shares the parts of an earlier record instead of copying them", () => {
    const first = freezeRecord(resource("web", { metadata: { k: "v" }, owner: undefined }), "1");
    const second = freezeRecord(first, "2");
    expect(second).not.toBe(first);
    expect(second.id).toBe(first.id);
    expect(second.metadata).toBe(first.metadata);
  });

  it("shares the untouched parts of a record changed with immer", () => {
    const first = freezeRecord(resource("web", { metadata: { k: "v" } }), "1");
    const changed = produce(first, (draft) => {
      draft.metadata.k = "w";
    });
    const second = freezeRecord(changed, "2");
    expect(second.id).toBe(first.id);
    expect(second.metadata).toBe(changed.metadata);
    expect(second.metadata.k).toBe("w");
    expect(first.metadata.k).toBe("v");
  });

  it("copies byte arrays even from frozen inputs, since a typed array cannot be frozen", () => {
    const first = freezeRecord(smallResource(1), "1");
    const second = freezeRecord(first, "2");
    expect(second.data?.value).not.toBe(first.data?.value);
    expect(second.data?.value).toEqual(first.data?.value);
  });

  it("copies bytes held in a Node.js Buffer, whose slice() is a view, not a copy", () => {
    // gRPC request bodies arrive as Buffers, and protobuf-es decodes bytes fields as views of
    // them: a Buffer can reach the store.
    const body = Buffer.from([9, 1, 2, 3, 9]);
    const input = smallResource(7);
    input.data = { $typeName: "google.protobuf.Any", typeUrl: "t", value: body.subarray(1, 4) };
    const record = freezeRecord(input, "42");
    body.fill(0);
    expect(Array.from(record.data?.value ?? [])).toEqual([1, 2, 3]);
  });

  it("copies a frozen object whose children are not frozen", () => {
    const input = resource("web", { metadata: { k: "v" } });
    Object.freeze(input);
    const record = freezeRecord(input, "1");
    expect(record.id).not.toBe(input.id);
    expectDeepFrozen(record);
  });

  it("interns types and tenancies, so that records of one type share one Type object", () => {
    const a = freezeRecord(smallResource(1), "1");
    const b = freezeRecord(smallResource(2), "1");
    expect(a.id?.type).toBe(b.id?.type);
    expect(a.id?.tenancy).toBe(b.id?.tenancy);
    expect(a.id).not.toBe(b.id);
    expectDeepFrozen(a.id?.type);
  });

  it("does not intern a type with extra fields, and keeps them", () => {
    const input = resource("web");
    const type = { ...input.id?.type, extra: "kept" };
    (input.id as { type: unknown }).type = type;
    const record = freezeRecord(input, "1");
    expect(record.id?.type).toEqual(type);
  });

  it("shares frozen empty maps instead of allocating one per record", () => {
    const a = freezeRecord(create(ResourceSchema, resource("a")), "1");
    const b = freezeRecord(create(ResourceSchema, resource("b")), "1");
    expect(a.status).toBe(b.status);
    expect(Object.isFrozen(a.status)).toBe(true);
  });

  it("rejects a cyclic input with InvalidArgumentError", () => {
    const input = resource("web");
    (input.metadata as Record<string, unknown>).self = input;
    let error: unknown;
    try {
      freezeRecord(input, "1");
    } catch (e) {
      error = e;
    }
    expect(isInvalidArgumentError(error), String(error)).toBe(true);
    expect(String(error)).toMatch(/cyclic/);
  });
});
