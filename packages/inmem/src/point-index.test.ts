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
    index.set(web.id as ValidID, web);
    expect(index.get(idOf("web") as ValidID)).toBe(web);
    expect(index.get(idOf("web", { uid: "x", type: artistV2 }) as ValidID)).toBe(web);
    expect(index.get(idOf("web", { type: album }) as ValidID)).toBeUndefined();
    expect(index.get(idOf("web", { tenancy: tenancy("default", "x") }) as ValidID)).toBeUndefined();
  });

  it("counts records, replacing under the same key", () => {
    const index = new PointIndex<Resource>();
    for (const [name, version] of [
      ["web", "1"],
      ["web", "2"],
      ["api", "1"],
    ] as const) {
      const record = freezeRecord(resource(name), version);
      index.set(record.id as ValidID, record);
    }
    expect(index.size).toBe(2);
    index.delete(idOf("missing") as ValidID);
    expect(index.size).toBe(2);
  });

  it("drops the maps a delete leaves empty, so churn through tenancies does not leak", () => {
    const index = new PointIndex<Resource>();
    for (let i = 0; i < 100; i++) {
      const record = freezeRecord(resource("web", { tenancy: tenancy(`p${i}`, `n${i}`) }), "1");
      index.set(record.id as ValidID, record);
      index.delete(record.id as ID as ValidID);
    }
    expect(index.size).toBe(0);
    expect(index.mapCount).toBe(0);
    const web = freezeRecord(resource("web"), "1");
    index.set(web.id as ValidID, web);
    const api = freezeRecord(resource("api"), "1");
    index.set(api.id as ValidID, api);
    // One map per level: group, kind, partition, namespace (holding both names).
    expect(index.mapCount).toBe(4);
    index.delete(idOf("api") as ValidID);
    expect(index.mapCount).toBe(4);
    expect(index.get(idOf("web") as ValidID)).toBe(web);
  });
});
