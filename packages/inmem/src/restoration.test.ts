import { create } from "@bufbuild/protobuf";
import { type ID, type Resource, ResourceSchema, TypeSchema } from "@raftstore/proto";
import { isInvalidArgumentError, isNotFoundError, isWatchClosedError } from "@raftstore/storage";
import { describe, expect, it } from "vitest";
import { Store } from "./store.js";
import { artist, defaultTenancy, everywhere, idOf, resource } from "./test-support/resources.js";

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, none was thrown");
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("Store snapshot and restore", () => {
  // Consul's inmem.TestSnapshotRestore, step by step.
  it("restores another store's snapshot, wiping the old content and ending watches", async () => {
    const serviceType = create(TypeSchema, { group: "mesh", groupVersion: "v1", kind: "service" });
    const service = { group: "mesh", kind: "service" };
    const oldStore = new Store();
    const a = oldStore.writeCAS(
      create(ResourceSchema, {
        id: { type: serviceType, tenancy: defaultTenancy, name: "billing", uid: "a" },
        version: "",
      }),
      "1",
    );
    const newStore = new Store();
    const b = newStore.writeCAS(
      create(ResourceSchema, {
        id: { type: serviceType, tenancy: defaultTenancy, name: "api", uid: "a" },
        version: "",
      }),
      "1",
    );

    const snapshot = oldStore.snapshot();
    const watch = newStore.watchList(service, defaultTenancy, "");
    expect((await watch.next()).event.case).toBe("upsert");
    expect((await watch.next()).event.case).toBe("endOfSnapshot");

    const restoration = newStore.restore();
    try {
      for (let r = snapshot.next(); r !== undefined; r = snapshot.next()) restoration.apply(r);
      restoration.commit();
    } finally {
      restoration.abort();
    }

    expect(newStore.read(a.id as ID)).toEqual(a);
    expect(newStore.read(a.id as ID).version).toBe("1");
    expect(isNotFoundError(thrown(() => newStore.read(b.id as ID)))).toBe(true);
    expect(isWatchClosedError(await rejection(watch.next()))).toBe(true);
  });

  it("keeps versions as given and copies inputs without changing them", () => {
    const store = new Store();
    const input = resource("web", { version: "12345", metadata: { k: "v" } });
    const restoration = store.restore();
    restoration.apply(input);
    expect(restoration.size).toBe(1);
    restoration.commit();
    input.metadata.k = "changed";
    const restored = store.read(idOf("web"));
    expect(restored.version).toBe("12345");
    expect(restored.metadata.k).toBe("v");
    expect(Object.isFrozen(restored)).toBe(true);
    expect(Object.isFrozen(input)).toBe(false);
  });

  it("rebuilds the owner index and the order of lists", () => {
    const store = new Store();
    const restoration = store.restore();
    for (const name of ["c", "a", "b"]) {
      restoration.apply(resource(name, { version: "1", owner: idOf("owner") }));
    }
    restoration.commit();
    const names = (list: Resource[]) => list.map((r) => r.id?.name);
    expect(names(store.list(artist, everywhere, ""))).toEqual(["a", "b", "c"]);
    expect(names(store.listByOwner(idOf("owner")))).toEqual(["a", "b", "c"]);
  });

  it("serves the old content until commit, and discards what was written to it meanwhile", () => {
    const store = new Store();
    const old = store.writeCAS(resource("old"), "1");
    const restoration = store.restore();
    restoration.apply(resource("restored", { version: "5" }));
    expect(store.read(idOf("old"))).toBe(old);
    store.writeCAS(resource("written-meanwhile"), "2");
    restoration.commit();
    expect(store.list(artist, everywhere, "").map((r) => r.id?.name)).toEqual(["restored"]);
  });

  it("counts a commit as one change of the event index", () => {
    const store = new Store();
    store.writeCAS(resource("web"), "1");
    const restoration = store.restore();
    restoration.commit();
    expect(store.eventIndex).toBe(2);
    expect(store.size).toBe(0);
  });

  it("leaves the store untouched when aborted, and abort is safe at any time", () => {
    const store = new Store();
    const web = store.writeCAS(resource("web"), "1");
    const watch = store.watchList(artist, everywhere, "");
    const aborted = store.restore();
    aborted.apply(resource("other", { version: "1" }));
    aborted.abort();
    aborted.abort();
    expect(store.read(idOf("web"))).toBe(web);
    expect(store.eventIndex).toBe(1);
    expect(watch.ended).toBe(false);

    const committed = store.restore();
    committed.commit();
    committed.abort();
    expect(store.size).toBe(0);
  });

  it("refuses apply() and commit() once finished, with a message saying why", () => {
    const store = new Store();
    const committed = store.restore();
    committed.commit();
    expect(String(thrown(() => committed.apply(resource("web", { version: "1" }))))).toMatch(
      /apply\(\) called after the restoration was committed/,
    );
    expect(String(thrown(() => committed.commit()))).toMatch(/after the restoration was committed/);
    const aborted = store.restore();
    aborted.abort();
    expect(String(thrown(() => aborted.commit()))).toMatch(/after the restoration was aborted/);
  });

  it("rejects malformed resources, empty versions and repeated keys, and stays usable", () => {
    const store = new Store();
    const restoration = store.restore();
    restoration.apply(resource("web", { version: "1" }));
    const bad = [
      resource("", { version: "1" }),
      resource("api", { version: "" }),
      resource("web", { version: "2", uid: "other" }),
    ];
    const errors = bad.map((r) => thrown(() => restoration.apply(r)));
    for (const error of errors) expect(isInvalidArgumentError(error), String(error)).toBe(true);
    expect(String(errors[2])).toMatch(/demo\.Artist "default\/default\/web" was applied twice/);
    restoration.apply(resource("api", { version: "3" }));
    restoration.commit();
    expect(store.list(artist, everywhere, "").map((r) => r.version)).toEqual(["3", "1"]);
  });

  it("ends watches opened before the commit, even with events still queued", async () => {
    const store = new Store();
    const watch = store.watchList(artist, everywhere, "");
    await watch.next();
    store.writeCAS(resource("queued"), "1");
    const restoration = store.restore();
    restoration.commit();
    expect(isWatchClosedError(await rejection(watch.next()))).toBe(true);
    expect(String(await rejection(watch.next()))).toMatch(/restored from a snapshot/);
    expect(store.watchCount).toBe(0);
    const after = store.watchList(artist, everywhere, "");
    expect((await after.next()).event.case).toBe("endOfSnapshot");
    after.close();
  });
});
