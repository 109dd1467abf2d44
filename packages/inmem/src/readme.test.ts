import { create } from "@bufbuild/protobuf";
import { IDSchema, ResourceSchema, TenancySchema } from "@raftstore/proto";
import { ReadConsistency } from "@raftstore/storage";
import { produce } from "immer";
import { describe, expect, it } from "vitest";
import { InmemBackend } from "./inmem-backend.js";
import { Store } from "./store.js";

// The examples of README.md, line for line (tools/check-readme-examples.mjs checks it).

const id = create(IDSchema, {
  uid: "01J00000000000000000000001",
  name: "beatles",
  type: { group: "demo", groupVersion: "v1", kind: "Artist" },
  tenancy: { partition: "default", namespace: "default" },
});

describe("the README examples", () => {
  it("uses the Store: CAS writes, an MVCC view, a watch", async () => {
    const store = new Store({ maxWatchLag: 1_000 });
    const created = store.writeCAS(create(ResourceSchema, { id }), "1");

    const everyNamespace = create(TenancySchema, { partition: "default", namespace: "*" });
    const watch = store.watchList({ group: "demo", kind: "Artist" }, everyNamespace, "");
    const view = store.view();

    const updated = store.writeCAS({ ...created, metadata: { genre: "rock" } }, "2");
    expect(view.read(id)).toBe(created); // the view stays where it was taken
    expect(store.read(id)).toBe(updated);

    expect((await watch.next()).event.case).toBe("upsert"); // the snapshot: created
    expect((await watch.next()).event.case).toBe("endOfSnapshot");
    expect((await watch.next()).event.value).toMatchObject({ resource: updated });
    watch.close();
  });

  it("derives a change with immer and shares what did not change", () => {
    const store = new Store();
    const created = store.writeCAS(create(ResourceSchema, { id }), "1");

    const changed = produce(store.read(id), (draft) => {
      draft.metadata.genre = "pop";
    });
    const written = store.writeCAS(changed, "2");
    expect(written.id).toBe(created.id); // shared, not copied
    expect(created.metadata.genre).toBeUndefined(); // records never change
  });

  it("copies one store into another through a snapshot and a restore", () => {
    const store = new Store();
    store.writeCAS(create(ResourceSchema, { id }), "7");
    const replica = new Store();

    const restoration = replica.restore();
    try {
      for (const resource of store.snapshot()) restoration.apply(resource);
      restoration.commit();
    } finally {
      restoration.abort();
    }
    expect(replica.read(id).version).toBe("7");
  });

  it("uses InmemBackend as a ready Backend", async () => {
    const backend = new InmemBackend();
    const written = await backend.writeCAS(create(ResourceSchema, { id }));
    expect(written.version).toBe("1");
    expect(await backend.read(ReadConsistency.Strong, id)).toBe(written);
    backend.close();
  });
});
