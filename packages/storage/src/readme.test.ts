import { create } from "@bufbuild/protobuf";
import { type ID, IDSchema, type Resource, ResourceSchema } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { type Backend, ReadConsistency } from "./backend.js";
import { isCASFailureError } from "./errors.js";
import { ReferenceBackend } from "./testing/reference-backend.js";

describe("the README example", () => {
  it("retries a blanket write until its compare-and-swap wins", async () => {
    async function setLabel(backend: Backend, id: ID, value: string): Promise<Resource> {
      for (;;) {
        const current = await backend.read(ReadConsistency.Strong, id);
        const changed = { ...current, metadata: { ...current.metadata, label: value } };
        try {
          return await backend.writeCAS(changed);
        } catch (error) {
          if (!isCASFailureError(error)) throw error;
        }
      }
    }

    const backend = new ReferenceBackend();
    const id = create(IDSchema, {
      uid: "u1",
      name: "web",
      type: { group: "demo", groupVersion: "v1", kind: "Artist" },
      tenancy: { partition: "default", namespace: "default" },
    });
    await backend.writeCAS(create(ResourceSchema, { id }));
    const results = await Promise.all(["a", "b", "c"].map((v) => setLabel(backend, id, v)));
    expect(new Set(results.map((r) => r.version)).size).toBe(3);
    const final = await backend.read(ReadConsistency.Strong, id);
    expect(final.version).toBe(results.at(-1)?.version);
  });
});
