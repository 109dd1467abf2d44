import { create, toBinary } from "@bufbuild/protobuf";
import { Store } from "@raftstore/inmem";
import { IDSchema, type Resource, ResourceSchema } from "@raftstore/proto";
import { LogResponseSchema, LogSchema, LogType } from "@raftstore/proto/storage/v1";
import { describe, expect, it } from "vitest";
import { applyEntry, encodeWriteEntry } from "./log-entry.js";

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
