import { create } from "@bufbuild/protobuf";
import { IDSchema, ResourceSchema } from "@raftstore/proto";
import { ReadConsistency } from "@raftstore/storage";
import { describe, expect, it } from "vitest";
import { Backend } from "./backend.js";
import { encodeWriteEntry } from "./log-entry.js";
import { silentLogger } from "./logger.js";

describe("the README example", () => {
  it("applies committed entries deterministically and serves eventual reads from the store", async () => {
    const id = create(IDSchema, {
      uid: "01HZX0000000000000000000AA",
      name: "web",
      type: { group: "demo", groupVersion: "v1", kind: "Artist" },
      tenancy: { partition: "default", namespace: "default" },
    });
    const backend = new Backend(undefined, silentLogger);

    // What the FSM does for the committed entry at index 7:
    backend.apply(encodeWriteEntry(create(ResourceSchema, { id })), 7n);

    const stored = await backend.read(ReadConsistency.Eventual, id);
    expect(stored.version).toBe("7");
  });
});
