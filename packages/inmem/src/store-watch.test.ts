import type { Resource, WatchEvent } from "@raftstore/proto";
import { isWatchClosedError, type Watch } from "@raftstore/storage";
import { describe, expect, it } from "vitest";
import { Store } from "./store.js";
import {
  album,
  artist,
  artistV2,
  defaultTenancy,
  describeEvent,
  everywhere,
  idOf,
  resource,
  tenancy,
} from "./test-support/resources.js";

const IDLE = new Error("no event ready");

/**
 * Every event the watch has ready now, without waiting for more: each next() is aborted once the
 * event loop gets past the microtasks in which a ready event would have been delivered.
 */
async function drainReady(watch: Watch): Promise<string[]> {
  const events: string[] = [];
  for (;;) {
    const controller = new AbortController();
    const idle = setImmediate(() => controller.abort(IDLE));
    try {
      events.push(describeEvent(await watch.next({ signal: controller.signal })));
    } catch (error) {
      if (error === IDLE) return events;
      throw error;
    } finally {
      clearImmediate(idle);
    }
  }
}

function resourceOf(event: WatchEvent): Resource | undefined {
  const e = event.event;
  return e.case === "upsert" || e.case === "delete" ? e.value.resource : undefined;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("Store.watchList", () => {
  it("delivers the snapshot in key order, one end-of-snapshot, then every later change", async () => {
    const store = new Store();
    store.writeCAS(resource("b"), "1");
    store.writeCAS(resource("a"), "2");
    const watch = store.watchList(artist, everywhere, "");
    const web = store.writeCAS(resource("web"), "3");
    store.deleteCAS(idOf("a"), "2");
    store.writeCAS(web, "4");
    expect(await drainReady(watch)).toEqual([
      "upsert a@2",
      "upsert b@1",
      "endOfSnapshot",
      "upsert web@3",
      "delete a@2",
      "upsert web@4",
    ]);
    watch.close();
  });

  it("sends end-of-snapshot for an empty snapshot", async () => {
    const store = new Store();
    const watch = store.watchList(artist, defaultTenancy, "");
    expect(describeEvent(await watch.next())).toBe("endOfSnapshot");
    watch.close();
  });

  it("delivers only changes that match the type, tenancy and name prefix", async () => {
    const store = new Store();
    const watches = {
      exact: store.watchList(artist, defaultTenancy, "w"),
      wildNamespace: store.watchList(artist, tenancy("default", "*"), ""),
      wildPartition: store.watchList(artist, tenancy("*", "other"), ""),
      album: store.watchList({ group: "demo", kind: "Album" }, everywhere, ""),
    };
    for (const watch of Object.values(watches)) await watch.next(); // end-of-snapshot
    let version = 0;
    const write = (name: string, init: Parameters<typeof resource>[1] = {}) =>
      store.writeCAS(resource(name, init), String(++version));
    write("web");
    write("api");
    write("web", { type: artistV2, tenancy: tenancy("default", "other") });
    write("web", { tenancy: tenancy("billing", "other") });
    write("web", { type: album });
    expect(await drainReady(watches.exact)).toEqual(["upsert web@1"]);
    expect(await drainReady(watches.wildNamespace)).toEqual([
      "upsert web@1",
      "upsert api@2",
      "upsert web@3",
    ]);
    expect(await drainReady(watches.wildPartition)).toEqual(["upsert web@3", "upsert web@4"]);
    expect(await drainReady(watches.album)).toEqual(["upsert web@5"]);
  });

  it("publishes nothing for failed writes and no-op deletes", async () => {
    const store = new Store();
    const web = store.writeCAS(resource("web"), "1");
    const watch = store.watchList(artist, everywhere, "");
    await watch.next();
    await watch.next();
    expect(() => store.writeCAS(resource("web"), "2")).toThrow();
    expect(() => store.writeCAS({ ...web, version: "stale" }, "3")).toThrow();
    expect(() => store.deleteCAS(idOf("web"), "stale")).toThrow();
    store.deleteCAS(idOf("web", { uid: "other" }), web.version);
    store.deleteCAS(idOf("missing"), "1");
    expect(await drainReady(watch)).toEqual([]);
  });

  it("carries the full record in a delete event, and reads agree with every event seen", async () => {
    const store = new Store();
    const watch = store.watchList(artist, everywhere, "");
    await watch.next();
    const web = store.writeCAS(resource("web", { metadata: { k: "v" } }), "1");
    const upsert = resourceOf(await watch.next());
    expect(upsert).toBe(web);
    expect(store.read(idOf("web"))).toBe(upsert);
    store.deleteCAS(idOf("web"), "1");
    const deleted = await watch.next();
    expect(deleted.event.case).toBe("delete");
    expect(resourceOf(deleted)).toBe(web);
    expect(() => store.read(idOf("web"))).toThrow(/not found/);
    expect(Object.isFrozen(deleted)).toBe(true);
  });

  it("gives watches opened anywhere in a burst every later change exactly once, in order", async () => {
    const store = new Store({ maxWatchLag: 100_000 });
    const keys = 5;
    const opened: Array<{ watch: Watch; snapshotIndex: number }> = [];
    const versionsByKey = new Map<string, string[]>();
    let current = Array.from({ length: keys }, (_, k) =>
      store.writeCAS(resource(`key-${k}`), `${k}.0`),
    );
    for (const r of current) versionsByKey.set(r.id?.name ?? "", [r.version]);
    for (let step = 1; step <= 200; step++) {
      if (step % 13 === 0) {
        opened.push({
          watch: store.watchList(artist, defaultTenancy, "key-"),
          snapshotIndex: store.eventIndex,
        });
      }
      const k = (step * 7) % keys;
      const next = store.writeCAS(current[k] as Resource, `${k}.${step}`);
      current = current.map((r, i) => (i === k ? next : r));
      versionsByKey.get(next.id?.name ?? "")?.push(next.version);
    }
    for (const { watch } of opened) {
      const seen = new Map<string, string[]>();
      for (const line of await drainReady(watch)) {
        if (line === "endOfSnapshot") continue;
        const [name, version] = line.replace("upsert ", "").split("@") as [string, string];
        seen.set(name, [...(seen.get(name) ?? []), version]);
      }
      for (const [name, versions] of versionsByKey) {
        const observed = seen.get(name) ?? [];
        const start = versions.indexOf(observed[0] as string);
        expect(start, `${name}: first version seen was written`).toBeGreaterThanOrEqual(0);
        expect(observed, `${name}: no duplicate, no gap`).toEqual(versions.slice(start));
      }
      watch.close();
    }
    expect(opened).toHaveLength(15);
  });

  it("is unaffected by later changes to the query objects the caller passed", async () => {
    const store = new Store();
    const query = tenancy("default", "default");
    const watch = store.watchList(artist, query, "");
    query.namespace = "other";
    await watch.next();
    store.writeCAS(resource("web"), "1");
    expect(await drainReady(watch)).toEqual(["upsert web@1"]);
  });
});

describe("Store watch lag bound", () => {
  it("ends a watch whose consumer falls more than maxWatchLag events behind", async () => {
    const store = new Store({ maxWatchLag: 5 });
    const watch = store.watchList(artist, everywhere, "");
    await watch.next();
    for (let i = 0; i < 5; i++) store.writeCAS(resource(`r${i}`), "1");
    expect(watch.pending).toBe(5);
    expect(watch.ended).toBe(false);
    store.writeCAS(resource("one-too-many"), "1");
    expect(watch.ended).toBe(true);
    expect(watch.pending).toBe(0);
    expect(store.watchCount).toBe(0);
    const error = await rejection(watch.next());
    expect(isWatchClosedError(error)).toBe(true);
    expect(String(error)).toMatch(/fell more than 5 events behind; re-list/);
  });

  it("never ends a consumer that keeps up, however many events pass", async () => {
    const store = new Store({ maxWatchLag: 2 });
    const watch = store.watchList(artist, everywhere, "");
    await watch.next();
    let current = store.writeCAS(resource("web"), "0");
    await watch.next();
    for (let i = 1; i <= 1000; i++) {
      current = store.writeCAS(current, String(i));
      expect(resourceOf(await watch.next())?.version).toBe(String(i));
    }
    expect(watch.ended).toBe(false);
  });

  it("does not count the snapshot against the bound: it is read lazily from a view", async () => {
    const store = new Store({ maxWatchLag: 3 });
    for (let i = 0; i < 100; i++) store.writeCAS(resource(`r${String(i).padStart(3, "0")}`), "1");
    const watch = store.watchList(artist, everywhere, "");
    store.writeCAS(resource("live"), "2");
    expect(watch.pending).toBe(1);
    const events: string[] = [];
    for (let i = 0; i < 102; i++) events.push(describeEvent(await watch.next()));
    expect(events.slice(0, 2)).toEqual(["upsert r000@1", "upsert r001@1"]);
    expect(events.slice(-2)).toEqual(["endOfSnapshot", "upsert live@2"]);
    expect(watch.ended).toBe(false);
  });

  it("counts live events that pile up while the consumer is still reading the snapshot", async () => {
    const store = new Store({ maxWatchLag: 3 });
    store.writeCAS(resource("old"), "1");
    const watch = store.watchList(artist, everywhere, "");
    for (let i = 0; i < 4; i++) store.writeCAS(resource(`new-${i}`), "2");
    expect(isWatchClosedError(await rejection(watch.next()))).toBe(true);
  });

  it("lets writers go on at full speed while a watch is not consumed at all", () => {
    const store = new Store({ maxWatchLag: 10 });
    const stalled = store.watchList(artist, everywhere, "");
    for (let i = 0; i < 1000; i++) store.writeCAS(resource(`r${i}`), "1");
    expect(store.size).toBe(1000);
    expect(stalled.ended).toBe(true);
    expect(stalled.pending).toBe(0);
  });
});

describe("Store watch lifecycle", () => {
  it("unregisters a watch its consumer closes, and ends a for-await loop quietly", async () => {
    const store = new Store();
    const watch = store.watchList(artist, everywhere, "");
    expect(store.watchCount).toBe(1);
    const seen: string[] = [];
    const loop = (async () => {
      for await (const event of watch) {
        seen.push(describeEvent(event));
        if (seen.length === 2) watch.close();
      }
    })();
    store.writeCAS(resource("web"), "1");
    await loop;
    expect(seen).toEqual(["endOfSnapshot", "upsert web@1"]);
    expect(store.watchCount).toBe(0);
    expect(isWatchClosedError(await rejection(watch.next()))).toBe(true);
  });

  it("leaving a for-await loop early closes the watch", async () => {
    const store = new Store();
    store.writeCAS(resource("web"), "1");
    const watch = store.watchList(artist, everywhere, "");
    for await (const event of watch) {
      expect(describeEvent(event)).toBe("upsert web@1");
      break;
    }
    expect(store.watchCount).toBe(0);
  });

  it("close() ends every watch with WatchClosedError, also one waiting in next()", async () => {
    const store = new Store();
    const waiting = store.watchList(artist, everywhere, "");
    await waiting.next();
    const pending = waiting.next();
    const inSnapshot = store.watchList(artist, everywhere, "");
    store.close();
    expect(isWatchClosedError(await rejection(pending))).toBe(true);
    expect(isWatchClosedError(await rejection(inSnapshot.next()))).toBe(true);
    expect(store.watchCount).toBe(0);
    const iterated = (async () => {
      for await (const _ of inSnapshot) return "an event";
      return "no error";
    })();
    expect(isWatchClosedError(await rejection(iterated))).toBe(true);
  });

  it("ends a watch opened after close() at once, and keeps serving reads and writes", async () => {
    const store = new Store();
    store.close();
    const watch = store.watchList(artist, everywhere, "");
    expect(isWatchClosedError(await rejection(watch.next()))).toBe(true);
    expect(store.watchCount).toBe(0);
    const web = store.writeCAS(resource("web"), "1");
    expect(store.read(idOf("web"))).toBe(web);
  });

  it("rejects a next() whose signal is already aborted, and loses no event", async () => {
    const store = new Store();
    store.writeCAS(resource("web"), "1");
    const watch = store.watchList(artist, everywhere, "");
    const reason = new Error("gave up");
    const aborted = AbortSignal.abort(reason);
    expect(await rejection(watch.next({ signal: aborted }))).toBe(reason);
    expect(describeEvent(await watch.next())).toBe("upsert web@1");
    expect(await rejection(watch.next({ signal: aborted }))).toBe(reason);
    expect(describeEvent(await watch.next())).toBe("endOfSnapshot");
    watch.close();
  });

  it("closes a watch at the end of a `using` scope", () => {
    const store = new Store();
    {
      using watch = store.watchList(artist, everywhere, "");
      expect(watch.ended).toBe(false);
      expect(store.watchCount).toBe(1);
    }
    expect(store.watchCount).toBe(0);
  });
});
