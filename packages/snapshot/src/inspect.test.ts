import { create, toBinary } from "@bufbuild/protobuf";
import { ResourceSchema } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { encodeSnapshot } from "./encode.js";
import { isSnapshotFormatError } from "./errors.js";
import { inspectSnapshot } from "./inspect.js";
import { chunked, collect, concat, sampleResources } from "./test-support/resources.js";

const header = { index: 12n, term: 3n, createdAt: new Date(1_700_000_000_000) };

describe("inspecting a snapshot", () => {
  it("reports the header, the count, the size and the resources per type", async () => {
    const resources = [...sampleResources(10)];
    const bytes = concat(await collect(encodeSnapshot(header, resources)));
    const info = await inspectSnapshot(chunked(bytes, [1000, 2000]));
    expect(info).toEqual({
      formatVersion: 1,
      ...header,
      count: 10,
      bytes: bytes.byteLength,
      largestResourceBytes: Math.max(
        ...resources.map((r) => toBinary(ResourceSchema, r).byteLength),
      ),
      resourcesByType: {
        "catalog.v2beta1.Service": 2,
        "demo.v1.Album": 2,
        "demo.v1.Artist": 3,
        "demo.v2.Artist": 3,
      },
      resourcesByUnversionedType: { "catalog.Service": 2, "demo.Album": 2, "demo.Artist": 6 },
    });
    expect(Object.keys(info.resourcesByType)).toEqual(Object.keys(info.resourcesByType).sort());
  });

  it("reports an empty snapshot as empty", async () => {
    const bytes = concat(await collect(encodeSnapshot(header, [])));
    const info = await inspectSnapshot(chunked(bytes));
    expect(info).toMatchObject({
      count: 0,
      bytes: 56,
      largestResourceBytes: 0,
      resourcesByType: {},
    });
  });

  it("keeps type names that look like object internals as plain keys", async () => {
    const odd = create(ResourceSchema, {
      id: { name: "x", type: { group: "__proto__", groupVersion: "v1", kind: "constructor" } },
    });
    const bytes = concat(await collect(encodeSnapshot(header, [odd, create(ResourceSchema)])));
    const info = await inspectSnapshot(chunked(bytes));
    expect(Object.entries(info.resourcesByType)).toEqual([
      ["..", 1],
      ["__proto__.v1.constructor", 1],
    ]);
    expect(Object.entries(info.resourcesByUnversionedType)).toEqual([
      [".", 1],
      ["__proto__.constructor", 1],
    ]);
  });

  it("verifies everything, as a restore would", async () => {
    const bytes = concat(await collect(encodeSnapshot(header, sampleResources(3))));
    const damaged = bytes.slice();
    damaged[bytes.byteLength - 14] = 9; // the trailer's count
    await expect(inspectSnapshot(chunked(damaged))).rejects.toSatisfy(isSnapshotFormatError);
    await expect(inspectSnapshot(chunked(bytes), { maxFrameBytes: 10 })).rejects.toMatchObject({
      reason: "frame-too-large",
    });
  });
});
