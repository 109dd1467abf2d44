import { create } from "@bufbuild/protobuf";
import { IDSchema } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { listPrefix, matchesQuery, ownerKey, resourceKey, unversionedTypeString } from "./key.js";

const id = (partition: string, namespace: string, name: string, groupVersion = "v1") =>
  create(IDSchema, {
    uid: "u1",
    name,
    type: { group: "demo", groupVersion, kind: "Artist" },
    tenancy: { partition, namespace },
  });

describe("storage keys", () => {
  it("leave out the uid and the group version", () => {
    expect(resourceKey(id("p", "n", "x", "v1"))).toBe(resourceKey(id("p", "n", "x", "v2")));
    expect(resourceKey(id("p", "n", "x"))).toBe("demo\0Artist\0p\0n\0x\0");
  });

  it("anchor owner references to the uid", () => {
    expect(ownerKey(id("p", "n", "x"))).toBe("demo\0Artist\0p\0n\0x\0u1\0");
  });

  it("sort segment by segment, so that a name never sorts into another tenancy", () => {
    const keys = [id("a", "b", "z"), id("a", "ba", "a"), id("a", "b", "za")].map(resourceKey);
    expect([...keys].sort()).toEqual([keys[0], keys[2], keys[1]]);
  });

  it("give a list prefix that stops at the first wildcard", () => {
    const type = { group: "demo", kind: "Artist" };
    expect(listPrefix(type, { partition: "*", namespace: "n" } as never, "x")).toBe(
      "demo\0Artist\0",
    );
    expect(listPrefix(type, { partition: "p", namespace: "*" } as never, "x")).toBe(
      "demo\0Artist\0p\0",
    );
    expect(listPrefix(type, { partition: "p", namespace: "n" } as never, "x")).toBe(
      "demo\0Artist\0p\0n\0x",
    );
  });

  it("match queries by group and kind, wildcard tenancy fields and a byte-wise name prefix", () => {
    const type = { group: "demo", kind: "Artist" };
    const any = { partition: "*", namespace: "*" } as never;
    expect(matchesQuery(id("p", "n", "admin", "v9"), type, any, "a")).toBe(true);
    expect(matchesQuery(id("p", "n", "Admin"), type, any, "a")).toBe(false);
    expect(matchesQuery(id("p", "n", "x"), { group: "demo", kind: "Album" }, any, "")).toBe(false);
    expect(
      matchesQuery(id("p", "n", "x"), type, { partition: "p", namespace: "*" } as never, ""),
    ).toBe(true);
    expect(
      matchesQuery(id("p", "n", "x"), type, { partition: "q", namespace: "*" } as never, ""),
    ).toBe(false);
    expect(unversionedTypeString(type)).toBe("demo.Artist");
  });
});
