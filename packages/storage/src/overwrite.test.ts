import { create } from "@bufbuild/protobuf";
import { IDSchema } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { ownerKey } from "./key.js";
import { sameOwner } from "./overwrite.js";

const owner = (change: Record<string, unknown> = {}) =>
  create(IDSchema, {
    uid: "u",
    name: "web",
    type: { group: "demo", groupVersion: "v1", kind: "Artist" },
    tenancy: { partition: "default", namespace: "default" },
    ...change,
  });

describe("sameOwner", () => {
  it("agrees with comparing owner keys: the group version aside, every field counts", () => {
    const a = owner();
    const others = [
      owner({ type: { group: "demo", groupVersion: "v2", kind: "Artist" } }),
      owner({ uid: "v" }),
      owner({ name: "api" }),
      owner({ type: { group: "other", groupVersion: "v1", kind: "Artist" } }),
      owner({ type: { group: "demo", groupVersion: "v1", kind: "Album" } }),
      owner({ tenancy: { partition: "billing", namespace: "default" } }),
      owner({ tenancy: { partition: "default", namespace: "other" } }),
    ];
    for (const b of others) expect(sameOwner(a, b)).toBe(ownerKey(a) === ownerKey(b));
    expect(sameOwner(a, others[0])).toBe(true);
  });

  it("holds for two absent owners only", () => {
    expect(sameOwner(undefined, undefined)).toBe(true);
    expect(sameOwner(owner(), undefined)).toBe(false);
    expect(sameOwner(undefined, owner())).toBe(false);
  });
});
