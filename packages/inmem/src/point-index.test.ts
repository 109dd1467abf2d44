import type { ID, Resource } from "@raftstore/proto";
import type { ValidID } from "@raftstore/storage";
import { describe, expect, it } from "vitest";
import { PointIndex } from "./point-index.js";
import { freezeRecord } from "./record.js";
import { album, artistV2, idOf, resource, tenancy } from "./test-support/resources.js";

describe("PointIndex", () => {
  it("finds a record by key, whatever the uid or group version of the id asked with", () => {
    const index = new PointIndex<Resource>();
    const web = freezeRecord(resource("web"), "1");
    index.set(web.id as ValidID, web, web);
    expect(index.get(idOf("web") as ValidID)).toBe(web);
    expect(index.get(idOf("web", { uid: "x", type: artistV2 }) as ValidID)).toBe(web);
    expect(index.get(idOf("web", { type: album }) as ValidID)).toBeUndefined();
    expect(index.get(idOf("web", { tenancy: tenancy("default", "x") }) as ValidID)).toBeUndefined();
  });

  it("reads the record it was given only with that record's group version, uid aside", () => {
    const index = new PointIndex<string>();
    const v1 = freezeRecord(resource("web"), "1");
    index.set(v1.id as ValidID, "slot", v1);
    expect(index.read(idOf("web") as ValidID)).toBe(v1);
    expect(index.read(idOf("web", { uid: "another" }) as ValidID)).toBe(v1);
    expect(index.read(idOf("web", { type: artistV2 }) as ValidID)).toBeUndefined();
    expect(index.read(idOf("api") as ValidID)).toBeUndefined();
    // Set again, as the store does when it replaces a slot's record, with another group version.
    const v2 = freezeRecord(resource("web", { type: artistV2 }), "2");
    index.set(v2.id as ValidID, "slot", v2);
    expect(index.read(idOf("web", { type: artistV2 }) as ValidID)).toBe(v2);
    expect(index.read(idOf("web") as ValidID)).toBeUndefined();
    expect(index.get(idOf("web") as ValidID)).toBe("slot");
    expect(index.size).toBe(1);
  });

  it("counts records, replacing under the same key", () => {
    const index = new PointIndex<Resource>();
    for (const [name, version] of [
      ["web", "1"],
      ["web", "2"],
      ["api", "1"],
    ] as const) {
      const record = freezeRecord(resource(name), version);
      index.set(record.id as ValidID, record, record);
    }
    expect(index.size).toBe(2);
    index.delete(idOf("missing") as ValidID);
    expect(index.size).toBe(2);
  });

  it("drops the maps a delete leaves empty, so churn through tenancies does not leak", () => {
    const index = new PointIndex<Resource>();
    for (let i = 0; i < 100; i++) {
      const record = freezeRecord(resource("web", { tenancy: tenancy(`p${i}`, `n${i}`) }), "1");
      index.set(record.id as ValidID, record, record);
      index.delete(record.id as ID as ValidID);
    }
    expect(index.size).toBe(0);
    expect(index.mapCount).toBe(0);
    const web = freezeRecord(resource("web"), "1");
    index.set(web.id as ValidID, web, web);
    const api = freezeRecord(resource("api"), "1");
    index.set(api.id as ValidID, api, api);
    // One map per level: group, kind, partition, namespace (holding both names).
    expect(index.mapCount).toBe(4);
    index.delete(idOf("api") as ValidID);
    expect(index.mapCount).toBe(4);
    expect(index.get(idOf("web") as ValidID)).toBe(web);
  });

  it("finds the right record whichever type and tenancy the lookup before asked for", () => {
    const index = new PointIndex<Resource>();
    const records = [
      freezeRecord(resource("web"), "1"),
      freezeRecord(resource("web", { tenancy: tenancy("default", "other") }), "1"),
      freezeRecord(resource("web", { tenancy: tenancy("other", "default") }), "1"),
      freezeRecord(resource("web", { type: album }), "1"),
    ];
    for (const record of records) index.set(record.id as ValidID, record, record);
    // Every order of lookups, so that each is asked right after each other one.
    for (const first of records) {
      for (const second of records) {
        expect(index.get(idOf("web", first.id as ID) as ValidID)).toBe(first);
        expect(index.get(idOf("web", second.id as ID) as ValidID)).toBe(second);
        expect(index.get(idOf("api", second.id as ID) as ValidID)).toBeUndefined();
      }
    }
    expect(index.get(idOf("web", { tenancy: tenancy("default", "none") }) as ValidID)).toBe(
      undefined,
    );
  });

  it("forgets a dropped names table: a record stored again under its tenancy is found", () => {
    const index = new PointIndex<Resource>();
    const first = freezeRecord(resource("web", { tenancy: tenancy("default", "x") }), "1");
    index.set(first.id as ValidID, first, first);
    expect(index.get(first.id as ValidID)).toBe(first);
    index.delete(first.id as ValidID);
    expect(index.get(first.id as ValidID)).toBeUndefined();
    const again = freezeRecord(resource("api", { tenancy: tenancy("default", "x") }), "2");
    index.set(again.id as ValidID, again, again);
    expect(index.get(again.id as ValidID)).toBe(again);
    expect(index.get(first.id as ValidID)).toBeUndefined();
  });
});
