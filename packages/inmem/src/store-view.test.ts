import type { ID, Resource } from "@raftstore/proto";
import { isNotFoundError } from "@raftstore/storage";
import { describe, expect, it } from "vitest";
import { Store } from "./store.js";
import {
  artist,
  artistV1,
  artistV2,
  everywhere,
  idOf,
  resource,
} from "./test-support/resources.js";

function names(list: Iterable<Resource>): string[] {
  return [...list].map((r) => `${r.id?.name}@${r.version}`);
}

function notFound(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (error) {
    return isNotFoundError(error);
  }
}

describe("StoreView", () => {
  it("never sees writes or deletes made after it was taken", () => {
    const store = new Store();
    const web = store.writeCAS(resource("web"), "1");
    store.writeCAS(resource("api", { owner: idOf("web") }), "2");
    const view = store.view();

    store.writeCAS(web, "3");
    store.writeCAS(resource("new", { owner: idOf("web") }), "4");
    store.deleteCAS(idOf("api"), "2");

    expect(view.read(idOf("web"))).toBe(web);
    expect(notFound(() => view.read(idOf("new")))).toBe(true);
    expect(names(view.list(artist, everywhere, ""))).toEqual(["api@2", "web@1"]);
    expect(names(view.listByOwner(idOf("web")))).toEqual(["api@2"]);
    expect(view.eventIndex).toBe(2);
    expect(view.size).toBe(2);
    expect(names(store.list(artist, everywhere, ""))).toEqual(["new@4", "web@3"]);
  });

  it("keeps every view of an interleaved history at its own point in time", () => {
    const store = new Store();
    const views: Array<{ view: ReturnType<Store["view"]>; expected: string[] }> = [];
    let current = store.writeCAS(resource("counter"), "1");
    for (let i = 2; i <= 300; i++) {
      if (i % 7 === 0) views.push({ view: store.view(), expected: [`counter@${current.version}`] });
      current = store.writeCAS(current, String(i));
      // Many keys, so that writes split and copy B+ tree nodes under the views.
      store.writeCAS(resource(`filler-${String(i).padStart(4, "0")}`), String(i));
    }
    for (const { view, expected } of views) {
      expect(names(view.list(artist, everywhere, "counter"))).toEqual(expected);
      // One write before the loop, then two per step.
      expect(view.list(artist, everywhere, "filler-")).toHaveLength((view.eventIndex - 1) / 2);
    }
  });

  it("is not affected by a restore of the store", () => {
    const store = new Store();
    const web = store.writeCAS(resource("web"), "1");
    const view = store.view();
    const restoration = store.restore();
    restoration.apply(resource("other", { version: "9" }));
    restoration.commit();
    expect(view.read(idOf("web"))).toBe(web);
    expect(notFound(() => store.read(idOf("web")))).toBe(true);
  });

  it("keeps its records while the store updates the same keys in place, again and again", () => {
    // Updates of a key that no view holds replace its record without touching the trees; the
    // first update after a view is taken must leave the view's record alone, and so must every
    // later one. Owned resources, a group version change and an owner change all take part.
    const store = new Store();
    const parent = idOf("parent", { uid: "p1" });
    let web = store.writeCAS(resource("web"), "1");
    let child = store.writeCAS(resource("child", { owner: parent }), "2");
    let version = 2;
    const views: Array<{ view: ReturnType<Store["view"]>; web: Resource; child: Resource }> = [];
    for (let step = 0; step < 12; step++) {
      views.push({ view: store.view(), web, child });
      for (let i = 0; i < 3; i++) {
        const type = (step + i) % 2 === 0 ? artistV1 : artistV2;
        web = store.writeCAS(
          resource("web", { type, metadata: { step: `${step}.${i}` }, version: web.version }),
          String(++version),
        );
        child = store.writeCAS(
          resource("child", {
            owner: step === 6 && i === 1 ? idOf("other", { uid: "o1" }) : parent,
            metadata: { step: `${step}.${i}` },
            version: child.version,
          }),
          String(++version),
        );
      }
    }
    for (const { view, web: before, child: beforeChild } of views) {
      expect(view.read(idOf("web", { type: before.id?.type }))).toBe(before);
      expect(view.list(artist, everywhere, "")).toEqual([beforeChild, before]);
      const owned = view.listByOwner(beforeChild.owner as ID);
      expect(owned).toEqual([beforeChild]);
    }
    expect(store.read(idOf("web", { type: web.id?.type }))).toBe(web);
    expect(store.listByOwner(parent)).toEqual([child]);
    expect(store.listByOwner(idOf("other", { uid: "o1" }))).toEqual([]);
    expect(store.list(artist, everywhere, "")).toEqual([child, web]);
  });

  it("costs no copy: a view shares the store's records", () => {
    const store = new Store();
    const web = store.writeCAS(resource("web"), "1");
    expect(store.view().read(idOf("web"))).toBe(web);
  });
});

describe("StoreSnapshot", () => {
  it("iterates every resource in key order as of the moment it was taken", () => {
    const store = new Store();
    for (const name of ["c", "a", "b"]) store.writeCAS(resource(name), name === "a" ? "1" : "2");
    const snapshot = store.snapshot();
    store.writeCAS(resource("0-first"), "3");
    store.deleteCAS(idOf("b"), "2");
    expect(snapshot.size).toBe(3);
    expect(snapshot.eventIndex).toBe(3);
    expect(names(snapshot)).toEqual(["a@1", "b@2", "c@2"]);
  });

  it("shares one position between next() and iteration, and ends with undefined", () => {
    const store = new Store();
    for (const name of ["a", "b", "c"]) store.writeCAS(resource(name), "1");
    const snapshot = store.snapshot();
    expect(snapshot.next()?.id?.name).toBe("a");
    expect(names(snapshot)).toEqual(["b@1", "c@1"]);
    expect(snapshot.next()).toBeUndefined();
    expect(names(store.snapshot())).toHaveLength(3);
  });

  it("keeps its content while the store is written during a long iteration", () => {
    const store = new Store();
    for (let i = 0; i < 1000; i++) store.writeCAS(resource(`r-${String(i).padStart(4, "0")}`), "1");
    const snapshot = store.snapshot();
    const seen: string[] = [];
    for (const record of snapshot) {
      seen.push(record.id?.name ?? "");
      expect(record.version).toBe("1");
      const id = record.id as ID;
      // Delete the next key and insert new ones ahead of the iteration: it must not notice.
      store.deleteCAS({ ...id, name: `r-${String(seen.length).padStart(4, "0")}` }, "1");
      store.writeCAS(resource(`r-${String(seen.length).padStart(4, "0")}-new`), "2");
    }
    expect(seen).toHaveLength(1000);
    expect(seen.every((name) => !name.endsWith("-new"))).toBe(true);
    expect(store.size).toBe(1 + 1000); // r-0000 and the new keys
  });
});
