import type { ID } from "@raftstore/proto";
import type { ValidID } from "@raftstore/storage";
import { describe, expect, it } from "vitest";
import { PointIndex } from "./point-index.js";
import { freezeRecord } from "./record.js";
import { album, artistV2, idOf, resource, tenancy } from "./test-support/resources.js";

describe("PointIndex", () => {
  it("finds a record by key, whatever the uid or group version of the id asked with", () => {
    const index = new PointIndex();
    const web = freezeRecord(resource("web"), "1");
    index.set(web);
    expect(index.get(idOf("web") as ValidID)).toBe(web);
    expect(index.get(idOf("web", { uid: "x", type: artistV2 }) as ValidID)).toBe(web);
    expect(index.get(idOf("web", { type: album }) as ValidID)).toBeUndefined();
    expect(index.get(idOf("web", { tenancy: tenancy("default", "x") }) as ValidID)).toBeUndefined();
  });

  it("counts records, replacing under the same key", () => {
    const index = new PointIndex();
    index.set(freezeRecord(resource("web"), "1"));
    index.set(freezeRecord(resource("web"), "2"));
    index.set(freezeRecord(resource("api"), "1"));
    expect(index.size).toBe(2);
    index.delete(idOf("missing") as ValidID);
    expect(index.size).toBe(2);
  });

  it("drops the maps a delete leaves empty, so churn through tenancies does not leak", () => {
    const index = new PointIndex();
    for (let i = 0; i < 100; i++) {
      const record = freezeRecord(resource("web", { tenancy: tenancy(`p${i}`, `n${i}`) }), "1");
      index.set(record);
      index.delete(record.id as ID as ValidID);
    }
    expect(index.size).toBe(0);
    expect(index.mapCount).toBe(0);
    const web = freezeRecord(resource("web"), "1");
    index.set(web);
    index.set(freezeRecord(resource("api"), "1"));
    // One map per level: group, kind, partition, namespace (holding both names).
    expect(index.mapCount).toBe(4);
    index.delete(idOf("api") as ValidID);
    expect(index.mapCount).toBe(4);
    expect(index.get(idOf("web") as ValidID)).toBe(web);
  });
});
