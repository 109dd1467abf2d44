import { create, toBinary } from "@bufbuild/protobuf";
import { Store } from "@raftstore/inmem";
import { IDSchema, type Resource, ResourceSchema } from "@raftstore/proto";
import {
  DeleteRequestSchema,
  LogResponseSchema,
  LogSchema,
  LogType,
} from "@raftstore/proto/storage/v1";
import { describe, expect, it } from "vitest";
import {
  applyEntry,
  encodeDeleteIncarnationEntry,
  encodeOverwriteEntry,
  encodeWriteEntry,
  UnsupportedEntryError,
} from "./log-entry.js";

const fields = {
  id: {
    name: "a",
    type: { group: "demo", groupVersion: "v1", kind: "Greeting" },
    tenancy: { partition: "default", namespace: "default" },
  },
  metadata: { owner: "team-a" },
  data: { typeUrl: "type.googleapis.com/demo.v1.Greeting", value: new Uint8Array([1, 2, 3]) },
};

describe("write entries", () => {
  it("encode as protobuf-es encodes the Log it would create, from a message or a plain object", () => {
    const expected = toBinary(
      LogSchema,
      create(LogSchema, {
        type: LogType.WRITE,
        request: { case: "write", value: { resource: fields } },
      }),
    );
    for (const resource of [create(ResourceSchema, fields), fields as unknown as Resource]) {
      expect(Buffer.from(encodeWriteEntry(resource)).equals(expected)).toBe(true);
    }
  });

  it("apply to the same LogResponse message protobuf-es's create makes", () => {
    const store = new Store();
    const response = applyEntry(store, encodeWriteEntry(create(ResourceSchema, fields)), 7n);
    const stored = store.read(create(IDSchema, fields.id));
    expect(stored.version).toBe("7");
    expect(response).toStrictEqual(
      create(LogResponseSchema, { response: { case: "write", value: { resource: stored } } }),
    );
  });
});

describe("overwrite entries", () => {
  it("encode as protobuf-es encodes the Log it would create", () => {
    const expected = toBinary(
      LogSchema,
      create(LogSchema, {
        type: LogType.OVERWRITE,
        request: { case: "overwrite", value: { resource: fields } },
      }),
    );
    const encoded = encodeOverwriteEntry(create(ResourceSchema, fields));
    expect(Buffer.from(encoded).equals(expected)).toBe(true);
  });

  it("apply over any version of the incarnation, and fail the same way on every node otherwise", () => {
    const store = new Store();
    const first = applyEntry(store, encodeWriteEntry(create(ResourceSchema, fields)), 7n);
    expect(first).not.toBeInstanceOf(Error);
    const rewritten = { ...fields, metadata: { owner: "team-b" }, version: "stale" };
    const response = applyEntry(store, encodeOverwriteEntry(create(ResourceSchema, rewritten)), 9n);
    const stored = store.read(create(IDSchema, fields.id));
    expect(stored.version).toBe("9");
    expect(stored.metadata).toEqual({ owner: "team-b" });
    expect(response).toStrictEqual(
      create(LogResponseSchema, { response: { case: "overwrite", value: { resource: stored } } }),
    );

    const missing = { ...fields, id: { ...fields.id, name: "missing" } };
    const refused = applyEntry(store, encodeOverwriteEntry(create(ResourceSchema, missing)), 10n);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).name).toBe("CASFailureError");
  });
});

describe("incarnation delete entries", () => {
  it("encode as protobuf-es encodes the Log it would create", () => {
    const id = create(IDSchema, { ...fields.id, uid: "u1" });
    const expected = toBinary(
      LogSchema,
      create(LogSchema, {
        type: LogType.DELETE_INCARNATION,
        request: { case: "deleteIncarnation", value: { id } },
      }),
    );
    expect(Buffer.from(encodeDeleteIncarnationEntry(id)).equals(expected)).toBe(true);
  });

  it("delete any version of the incarnation, and nothing of another", () => {
    const store = new Store();
    const created = { ...fields, id: { ...fields.id, uid: "u1" } };
    applyEntry(store, encodeWriteEntry(create(ResourceSchema, created)), 7n);
    const updated = { ...created, version: "7", metadata: { owner: "team-b" } };
    applyEntry(store, encodeWriteEntry(create(ResourceSchema, updated)), 8n);
    const other = create(IDSchema, { ...fields.id, uid: "u2" });
    const noop = applyEntry(store, encodeDeleteIncarnationEntry(other), 9n);
    expect(noop).toStrictEqual(
      create(LogResponseSchema, { response: { case: "deleteIncarnation", value: {} } }),
    );
    expect(store.read(create(IDSchema, fields.id)).version).toBe("8");

    const id = create(IDSchema, created.id);
    const response = applyEntry(store, encodeDeleteIncarnationEntry(id), 10n);
    expect(response).toStrictEqual(
      create(LogResponseSchema, { response: { case: "deleteIncarnation", value: {} } }),
    );
    expect(store.size).toBe(0);
    const malformed = toBinary(
      LogSchema,
      create(LogSchema, { request: { case: "deleteIncarnation", value: {} } }),
    );
    expect((applyEntry(store, malformed, 11n) as Error).message).toMatch(
      /deleteIncarnation without an id/,
    );
  });
});

describe("entries of a newer version", () => {
  it("throw UnsupportedEntryError, changing nothing, where a malformed entry is answered with an error", () => {
    const store = new Store();
    const write = encodeWriteEntry(create(ResourceSchema, fields));
    // A field 9 in the Log, and a field 7 in a delete's request: both unknown to this version.
    const newerLog = new Uint8Array([...write, 0x48, 0x01]);
    const request = toBinary(
      DeleteRequestSchema,
      create(DeleteRequestSchema, { id: create(IDSchema, fields.id), version: "1" }),
    );
    const newerRequest = new Uint8Array([
      0x08,
      LogType.DELETE,
      0x1a,
      request.byteLength + 2,
      ...request,
      0x38,
      0x01,
    ]);
    for (const entry of [newerLog, newerRequest]) {
      expect(() => applyEntry(store, entry, 5n)).toThrow(UnsupportedEntryError);
      expect(() => applyEntry(store, entry, 5n)).toThrow(/log entry 5 carries fields this version/);
    }
    expect(store.size).toBe(0);
    const garbage = applyEntry(store, new Uint8Array([0xff, 0xff, 0xff]), 6n);
    expect((garbage as Error).name).toBe("MalformedEntryError");
    expect(applyEntry(store, write, 7n)).not.toBeInstanceOf(Error);
  });
});
