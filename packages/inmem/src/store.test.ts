import { clone, create, equals } from "@bufbuild/protobuf";
import { type ID, IDSchema, type Resource, ResourceSchema, type Type } from "@raftstore/proto";
import {
  isCASFailureError,
  isGroupVersionMismatchError,
  isInvalidArgumentError,
  isNotFoundError,
  isWrongUidError,
} from "@raftstore/storage";
import { describe, expect, it } from "vitest";
import { Store } from "./store.js";
import { contentBytes, RECORD_OVERHEAD_BYTES } from "./tables.js";
import {
  album,
  artist,
  artistV1,
  artistV2,
  defaultTenancy,
  everywhere,
  idOf,
  resource,
  tenancy,
} from "./test-support/resources.js";

/** The error `fn` throws (the test fails if it throws none). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, none was thrown");
}

function names(list: Resource[]): string[] {
  return list.map((r) => `${r.id?.tenancy?.partition}/${r.id?.tenancy?.namespace}/${r.id?.name}`);
}

describe("Store reads and CAS writes", () => {
  it("creates with version '' and hands back a frozen record with the new version", () => {
    const store = new Store();
    const written = store.writeCAS(resource("web"), "7");
    expect(written.version).toBe("7");
    expect(Object.isFrozen(written)).toBe(true);
    expect(store.read(idOf("web"))).toBe(written);
    expect(store.size).toBe(1);
  });

  it("hands out the stored record itself on every read, never a copy", () => {
    const store = new Store();
    store.writeCAS(resource("web"), "1");
    expect(store.read(idOf("web"))).toBe(store.read(idOf("web", { uid: "" })));
    expect(store.list(artist, defaultTenancy, "")[0]).toBe(store.read(idOf("web")));
  });

  it("applies the CAS rules in Consul's order: missing, then uid, then version", () => {
    const store = new Store();
    expect(
      isCASFailureError(thrown(() => store.writeCAS(resource("web", { version: "1" }), "1"))),
    ).toBe(true);
    const v1 = store.writeCAS(resource("web"), "1");
    // A stale version and a wrong uid: the uid check wins.
    const wrongUidAndVersion = resource("web", { uid: "other", version: "stale" });
    expect(isWrongUidError(thrown(() => store.writeCAS(wrongUidAndVersion, "2")))).toBe(true);
    expect(isWrongUidError(thrown(() => store.writeCAS(resource("web", { uid: "" }), "2")))).toBe(
      true,
    );
    expect(isCASFailureError(thrown(() => store.writeCAS(resource("web"), "2")))).toBe(true);
    expect(isCASFailureError(thrown(() => store.writeCAS({ ...v1, version: "9" }, "2")))).toBe(
      true,
    );
    const v2 = store.writeCAS(v1, "2");
    expect(v2.version).toBe("2");
    expect(store.read(idOf("web"))).toBe(v2);
  });

  it("reads by key: an empty uid matches any incarnation, another uid is not found", () => {
    const store = new Store();
    const web = store.writeCAS(resource("web"), "1");
    expect(store.read(idOf("web", { uid: "" }))).toBe(web);
    expect(isNotFoundError(thrown(() => store.read(idOf("web", { uid: "u2" }))))).toBe(true);
    expect(isNotFoundError(thrown(() => store.read(idOf("api"))))).toBe(true);
  });

  it("checks the uid before the group version on read", () => {
    const store = new Store();
    const web = store.writeCAS(resource("web"), "1");
    const wrongBoth = idOf("web", { uid: "u2", type: artistV2 });
    expect(isNotFoundError(thrown(() => store.read(wrongBoth)))).toBe(true);
    const error = thrown(() => store.read(idOf("web", { type: artistV2 })));
    expect(isGroupVersionMismatchError(error)).toBe(true);
    if (!isGroupVersionMismatchError(error)) return;
    expect(error.stored).toBe(web);
    expect(error.requestedType.groupVersion).toBe("v2");
  });

  it("validates a read's id in full whenever the read does not return a record", () => {
    // Store.read checks only the id's shape before its lookup: what it finds proves the rest.
    // An id near a stored one, wrong only in its characters, must still be InvalidArgument, not
    // NotFound or GroupVersionMismatch.
    const store = new Store();
    const web = store.writeCAS(resource("web"), "1");
    const id = web.id as ID;
    const near: ID[] = [
      { ...id, uid: "\u0000" },
      { ...id, type: { ...artistV1, groupVersion: "v\u0000" } },
      { ...id, type: { ...artistV1, group: "" } },
      { ...id, tenancy: { ...defaultTenancy, namespace: "default\u0000" } },
      { ...id, name: "" },
    ];
    for (const bad of near) {
      expect(isInvalidArgumentError(thrown(() => store.read(bad))), JSON.stringify(bad)).toBe(true);
    }
    for (const bad of [undefined, { ...id, uid: undefined }, { ...id, tenancy: null }]) {
      expect(isInvalidArgumentError(thrown(() => store.read(bad as unknown as ID)))).toBe(true);
    }
    expect(store.read({ ...id, uid: "" })).toBe(web);
    expect(store.read(id)).toBe(web);
  });

  it("lets a write with another group version replace the stored form", () => {
    const store = new Store();
    // Reads with the stored uid and with an empty one (which the store answers from its index).
    const readsOf = (type: Type) =>
      ["u1", ""].map((uid) => {
        try {
          return store.read(idOf("web", { uid, type }));
        } catch (error) {
          return error;
        }
      });
    const v1 = store.writeCAS(resource("web"), "1");
    const v2 = store.writeCAS({ ...v1, id: { ...(v1.id as ID), type: artistV2 } }, "2");
    expect(readsOf(artistV2)).toEqual([v2, v2]);
    expect(readsOf(artistV1).every(isGroupVersionMismatchError)).toBe(true);
    expect(store.size).toBe(1);
    expect(store.list(artist, defaultTenancy, "")).toEqual([v2]);
    // And back, after a view froze the slot (so the write puts a new one in its place).
    const view = store.view();
    const v3 = store.writeCAS({ ...v2, id: { ...(v2.id as ID), type: artistV1 } }, "3");
    expect(readsOf(artistV1)).toEqual([v3, v3]);
    expect(readsOf(artistV2).every(isGroupVersionMismatchError)).toBe(true);
    expect(view.read(idOf("web", { type: artistV2 }))).toBe(v2);
  });

  it("creates a new incarnation under the same key after a delete", () => {
    const store = new Store();
    const old = store.writeCAS(resource("web"), "1");
    store.deleteCAS(idOf("web"), old.version);
    const reborn = store.writeCAS(resource("web", { uid: "u2" }), "2");
    expect(store.read(idOf("web", { uid: "u2" }))).toBe(reborn);
    expect(isNotFoundError(thrown(() => store.read(idOf("web"))))).toBe(true);
  });

  it("rejects a new version that is empty, not a string, or the stored version again", () => {
    const store = new Store();
    const v1 = store.writeCAS(resource("web"), "1");
    for (const newVersion of ["", 2 as unknown as string, "1"]) {
      const error = thrown(() => store.writeCAS(v1, newVersion));
      expect(isInvalidArgumentError(error), String(error)).toBe(true);
    }
    expect(store.read(idOf("web"))).toBe(v1);
    expect(store.eventIndex).toBe(1);
  });

  it("never changes its inputs", () => {
    const store = new Store();
    const input = resource("web", { metadata: { k: "v" } });
    const before = clone(ResourceSchema, input);
    const written = store.writeCAS(input, "1");
    expect(equals(ResourceSchema, input, before)).toBe(true);
    expect(Object.isFrozen(input)).toBe(false);
    input.metadata.k = "changed";
    expect(written.metadata.k).toBe("v");

    const id = idOf("web");
    const idBefore = clone(IDSchema, id);
    store.deleteCAS(id, written.version);
    expect(equals(IDSchema, id, idBefore)).toBe(true);
  });
});

describe("Store deletes", () => {
  it("deletes on a version match and is a silent no-op for a missing key or another uid", () => {
    const store = new Store();
    const web = store.writeCAS(resource("web"), "1");
    store.deleteCAS(idOf("api"), "1");
    store.deleteCAS(idOf("web", { uid: "other" }), web.version);
    store.deleteCAS(idOf("web", { uid: "" }), web.version);
    expect(store.read(idOf("web"))).toBe(web);
    expect(store.eventIndex).toBe(1);

    expect(isCASFailureError(thrown(() => store.deleteCAS(idOf("web"), "")))).toBe(true);
    expect(isCASFailureError(thrown(() => store.deleteCAS(idOf("web"), "2")))).toBe(true);
    store.deleteCAS(idOf("web", { type: artistV2 }), web.version);
    expect(store.size).toBe(0);
    expect(store.eventIndex).toBe(2);
  });

  it("deletes an incarnation at any version, and is a silent no-op for a missing key or another uid", () => {
    const store = new Store();
    const v1 = store.writeCAS(resource("web"), "1");
    const v2 = store.writeCAS({ ...v1, metadata: { k: "2" } }, "2");
    store.deleteIncarnation(idOf("api"));
    store.deleteIncarnation(idOf("web", { uid: "other" }));
    store.deleteIncarnation(idOf("web", { uid: "" }));
    expect(store.read(idOf("web"))).toBe(v2);
    expect(store.eventIndex).toBe(2);
    const bytes = store.bytes;

    store.deleteIncarnation(idOf("web", { type: artistV2 }));
    expect(store.size).toBe(0);
    expect(store.eventIndex).toBe(3);
    expect(store.bytes).toBeLessThan(bytes);
    expect(isInvalidArgumentError(thrown(() => store.deleteIncarnation(idOf(""))))).toBe(true);
  });
});

describe("Store lists", () => {
  function seeded(): Store {
    const store = new Store();
    let version = 0;
    const write = (name: string, init: Parameters<typeof resource>[1] = {}) =>
      store.writeCAS(resource(name, init), String(++version));
    write("web");
    write("api");
    write("admin", { type: artistV2 });
    write("api", { tenancy: tenancy("billing", "payments") });
    write("admin", { type: album });
    write("autoscaler", { tenancy: tenancy("default", "other") });
    write("api", { tenancy: tenancy("default", "defaultx") });
    return store;
  }

  it("returns every group version of a type in key order: partition, namespace, name", () => {
    expect(names(seeded().list(artist, everywhere, ""))).toEqual([
      "billing/payments/api",
      "default/default/admin",
      "default/default/api",
      "default/default/web",
      "default/defaultx/api",
      "default/other/autoscaler",
    ]);
  });

  it("filters by exact tenancy, wildcarded fields and a byte-wise name prefix", () => {
    const store = seeded();
    expect(names(store.list(artist, defaultTenancy, "a"))).toEqual([
      "default/default/admin",
      "default/default/api",
    ]);
    expect(names(store.list(artist, tenancy("default", "*"), ""))).toHaveLength(5);
    expect(names(store.list(artist, tenancy("*", "payments"), ""))).toEqual([
      "billing/payments/api",
    ]);
    expect(names(store.list(artist, tenancy("*", "default"), "ad"))).toEqual([
      "default/default/admin",
    ]);
    expect(store.list(artist, defaultTenancy, "A")).toEqual([]);
    expect(names(store.list({ group: "demo", kind: "Album" }, everywhere, ""))).toEqual([
      "default/default/admin",
    ]);
  });

  it("does not let a namespace that extends another one leak into the shorter one's list", () => {
    expect(names(seeded().list(artist, defaultTenancy, ""))).toEqual([
      "default/default/admin",
      "default/default/api",
      "default/default/web",
    ]);
  });

  it("lists by owner incarnation, any type, and keeps children after the owner is deleted", () => {
    const store = new Store();
    const owner = store.writeCAS(resource("owner"), "1");
    const child = store.writeCAS(resource("child", { type: album, owner: owner.id }), "2");
    store.writeCAS(resource("other", { owner: idOf("owner", { uid: "older" }) }), "3");
    expect(store.listByOwner(owner.id as ID)).toEqual([child]);
    expect(store.listByOwner(idOf("owner", { type: artistV2 }))).toEqual([child]);
    expect(store.listByOwner(idOf("owner", { uid: "" }))).toEqual([]);
    store.deleteCAS(owner.id as ID, owner.version);
    expect(store.listByOwner(owner.id as ID)).toEqual([child]);
    store.deleteCAS(child.id as ID, child.version);
    expect(store.listByOwner(owner.id as ID)).toEqual([]);
  });

  it("moves a child in the owner index when a write changes its owner", () => {
    const store = new Store();
    const child = store.writeCAS(resource("child", { owner: idOf("a") }), "1");
    const moved = store.writeCAS({ ...child, owner: idOf("b") }, "2");
    expect(store.listByOwner(idOf("a"))).toEqual([]);
    expect(store.listByOwner(idOf("b"))).toEqual([moved]);
    const orphan = store.writeCAS({ ...moved, owner: undefined }, "3");
    expect(store.listByOwner(idOf("b"))).toEqual([]);
    expect(store.read(idOf("child"))).toBe(orphan);
  });
});

describe("Store input validation", () => {
  const valid = resource("web");
  const bad = <T>(value: unknown) => value as T;
  const malformed: Array<[string, () => unknown, (store: Store) => unknown]> = [
    ["a resource without an id", () => create(ResourceSchema), (s) => s.writeCAS(bad(null), "1")],
    [
      "a resource without a type",
      () => bad({ ...valid, id: { ...valid.id, type: undefined } }),
      (s) => s.read(bad({ ...valid.id, type: undefined })),
    ],
    [
      "a resource without a tenancy",
      () => bad({ ...valid, id: { ...valid.id, tenancy: undefined } }),
      (s) => s.deleteCAS(bad({ ...valid.id, tenancy: undefined }), "1"),
    ],
    [
      "an empty name",
      () => bad({ ...valid, id: { ...valid.id, name: "" } }),
      (s) => s.listByOwner(bad({ ...valid.id, name: "" })),
    ],
    [
      "a version that is not a string",
      () => bad({ ...valid, version: 1 }),
      (s) => s.deleteCAS(valid.id as ID, bad(1)),
    ],
    [
      "an owner without a tenancy",
      () => bad({ ...valid, owner: { ...valid.id, tenancy: undefined } }),
      (s) => s.list(artist, bad(undefined), ""),
    ],
    [
      "a name with a NUL character",
      () => bad({ ...valid, id: { ...valid.id, name: "a\u0000b" } }),
      (s) => s.watchList(bad({ group: "demo" }), defaultTenancy, ""),
    ],
  ];

  for (const [what, input, call] of malformed) {
    it(`rejects ${what} with InvalidArgumentError and changes nothing`, () => {
      const store = new Store();
      const existing = store.writeCAS(resource("existing"), "1");
      const watch = store.watchList(artist, everywhere, "");
      expect(isInvalidArgumentError(thrown(() => store.writeCAS(input() as Resource, "2")))).toBe(
        true,
      );
      expect(isInvalidArgumentError(thrown(() => call(store)))).toBe(true);
      expect(store.list(artist, everywhere, "")).toEqual([existing]);
      expect(store.eventIndex).toBe(1);
      expect(store.watchCount).toBe(1);
      watch.close();
    });
  }

  it("rejects a maxWatchLag that is not a positive integer", () => {
    for (const maxWatchLag of [0, -1, 1.5, Number.NaN]) {
      expect(isInvalidArgumentError(thrown(() => new Store({ maxWatchLag })))).toBe(true);
    }
  });

  it("names the offending field in the error message", () => {
    const store = new Store();
    const error = thrown(() => store.writeCAS(bad({ ...valid, version: 1 }), "1"));
    expect(String(error)).toMatch(/resource\.version must be a string, got number/);
  });
});

describe("Store size estimate", () => {
  const cost = (r: Resource) => contentBytes(r) + RECORD_OVERHEAD_BYTES;

  it("counts a record's strings and bytes, and 64 bytes per map entry and condition", () => {
    const web = resource("web", {
      uid: "u1",
      version: "7",
      generation: "g",
      metadata: { a: "bc" },
      data: { typeUrl: "t", value: new Uint8Array(10) },
      status: {
        ctl: {
          observedGeneration: "g1",
          conditions: [{ type: "Ready", reason: "ok", message: "fine" }],
        },
      },
    });
    // uid, name, version, generation; metadata; data; status entry; its condition.
    expect(contentBytes(web)).toBe(
      2 + 3 + 1 + 1 + (64 + 1 + 2) + (1 + 10) + (64 + 3 + 2) + (64 + 5 + 2 + 4),
    );
    // An owner's uid and name count; types and tenancies (shared by every record) do not.
    const owned = resource("web", { uid: "u1", owner: idOf("db", { uid: "u2" }) });
    expect(contentBytes(owned)).toBe(2 + 3 + 2 + 2);
  });

  it("counts each stored record's encoded size plus the overhead, through writes and deletes", () => {
    const store = new Store();
    expect(store.bytes).toBe(0);
    const small = store.writeCAS(resource("web"), "1");
    expect(store.bytes).toBe(cost(small));
    const big = store.writeCAS(
      resource("web", {
        uid: small.id?.uid,
        version: "1",
        data: { typeUrl: "t", value: new Uint8Array(5000) },
      }),
      "2",
    );
    expect(store.bytes).toBe(cost(big));
    expect(cost(big) - cost(small)).toBeGreaterThan(5000);
    const other = store.writeCAS(resource("db"), "3");
    expect(store.bytes).toBe(cost(big) + cost(other));
    const smaller = store.overwrite(resource("web", { uid: big.id?.uid }), "4");
    expect(store.bytes).toBe(cost(smaller) + cost(other));
    store.deleteCAS(idOf("web", { uid: smaller.id?.uid }), "4");
    store.deleteCAS(idOf("db", { uid: other.id?.uid }), "3");
    expect(store.bytes).toBe(0);
  });

  it("does not change on a failed write, a no-op delete or a read", () => {
    const store = new Store();
    store.writeCAS(resource("web"), "1");
    const before = store.bytes;
    thrown(() => store.writeCAS(resource("web", { data: { value: new Uint8Array(100) } }), "2"));
    store.deleteCAS(idOf("missing"), "1");
    store.read(idOf("web"));
    expect(store.bytes).toBe(before);
  });

  it("says what a write would make it, counting what the write replaces", () => {
    const store = new Store();
    const web = store.writeCAS(resource("web", { data: { value: new Uint8Array(1000) } }), "1");
    const update = resource("web", { uid: web.id?.uid, version: "1" });
    expect(store.bytesWith(update)).toBe(cost(update));
    expect(store.bytesWith(resource("db"))).toBe(cost(web) + cost(resource("db")));
    expect(store.bytes).toBe(cost(web));
    expect(isInvalidArgumentError(thrown(() => store.bytesWith(resource(""))))).toBe(true);
  });

  it("is the restored content's after a restore commits, and unchanged by one aborted", () => {
    const source = new Store();
    for (const name of ["a", "b", "c"]) source.writeCAS(resource(name), "1");
    const store = new Store();
    store.writeCAS(resource("old", { data: { value: new Uint8Array(2000) } }), "1");
    const before = store.bytes;
    const aborted = store.restore();
    for (const r of source.snapshot()) aborted.apply(r);
    aborted.abort();
    expect(store.bytes).toBe(before);
    const restoration = store.restore();
    for (const r of source.snapshot()) restoration.apply(r);
    restoration.commit();
    expect(store.bytes).toBe(source.bytes);
  });
});

describe("Store event index", () => {
  it("counts successful writes and deletes, and nothing else", () => {
    const store = new Store();
    const web = store.writeCAS(resource("web"), "1");
    thrown(() => store.writeCAS(resource("web"), "2"));
    store.deleteCAS(idOf("missing"), "1");
    store.read(idOf("web"));
    store.list(artist, everywhere, "");
    expect(store.eventIndex).toBe(1);
    store.deleteCAS(idOf("web"), web.version);
    expect(store.eventIndex).toBe(2);
  });

  it("is the same after the same sequence of operations (deterministic)", () => {
    const run = () => {
      const store = new Store();
      let current = store.writeCAS(resource("web", { type: artistV1 }), "10");
      for (let i = 11; i < 20; i++) current = store.writeCAS(current, String(i));
      return [store.eventIndex, store.list(artist, everywhere, "").map((r) => r.version)];
    };
    expect(run()).toEqual(run());
  });
});
