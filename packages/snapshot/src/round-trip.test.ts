import { create, equals, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { type Resource, ResourceSchema } from "@raftstore/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeRawSnapshot, decodeSnapshot } from "./decode.js";
import { encodeRawSnapshot, encodeSnapshot } from "./encode.js";
import {
  arbitraryResource,
  chunked,
  chunkedEvery,
  collect,
  concat,
  sampleResource,
  sampleResources,
} from "./test-support/resources.js";

const header = { index: 42n, term: 7n, createdAt: new Date(1_700_000_000_123) };

async function roundTrip(resources: Iterable<Resource>, cuts?: number[]) {
  const bytes = concat(await collect(encodeSnapshot(header, resources)));
  const reader = decodeSnapshot(chunked(bytes, cuts));
  const decoded = await collect(reader);
  return { decoded, header: await reader.header, bytes };
}

function expectSameResources(actual: Resource[], expected: Resource[]) {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((resource, i) => {
    expect(equals(ResourceSchema, resource, expected[i] as Resource)).toBe(true);
  });
}

describe("a snapshot read back", () => {
  it("has every resource as it was, sizes up and down, each written where the last one was", async () => {
    // The encoder writes each resource into one reused buffer, grown past 4 KiB, 8 KiB, 16 KiB.
    const sizes = [10, 5000, 3, 9000, 100, 20_000, 1, 4096, 0, 17_000, 50];
    const resources = sizes.map((n, i) => ({
      ...sampleResource(i),
      data: create(AnySchema, { typeUrl: "t", value: new Uint8Array(n).fill(i + 1) }),
    }));
    const { decoded } = await roundTrip(resources, [7, 4000, 4001, 30_000]);
    expectSameResources(decoded, resources);
  });

  it("of no resources has its header and nothing else", async () => {
    const { decoded, header: read } = await roundTrip([]);
    expect(decoded).toEqual([]);
    expect(read).toEqual({ formatVersion: 1, ...header });
  });

  it("of one resource has that resource", async () => {
    const resource = sampleResource(0);
    const { decoded } = await roundTrip([resource]);
    expect(decoded).toEqual([resource]);
  });

  it("of many resources has all of them, in order", async () => {
    const resources = [...sampleResources(1000)];
    const { decoded } = await roundTrip(resources);
    expectSameResources(decoded, resources);
  });

  it("keeps ids, owners, versions, generations, metadata, status and data exactly", async () => {
    const resource = sampleResource(3);
    expect(resource.owner).toBeDefined();
    expect(Object.keys(resource.status)).not.toHaveLength(0);
    expect(resource.data?.value.byteLength).toBeGreaterThan(0);
    const [decoded] = (await roundTrip([resource])).decoded;
    expect(decoded).toEqual(resource);
  });

  it("keeps fields this build does not know (written by a newer schema)", async () => {
    const known = toBinary(ResourceSchema, sampleResource(1));
    // Field 99, wire type 2 (length-delimited), 3 bytes: a field a later Resource may have.
    const withUnknown = new Uint8Array([...known, 0x9a, 0x06, 3, 1, 2, 3]);
    const bytes = concat(await collect(encodeRawSnapshot(header, [withUnknown])));
    const [resource] = await collect(decodeSnapshot(chunked(bytes)));
    expect(toBinary(ResourceSchema, resource as Resource)).toEqual(withUnknown);
  });

  it("of arbitrary resources is the same, however the input is cut into chunks", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbitraryResource, { maxLength: 10 }),
        fc.array(fc.nat({ max: 4000 }), { maxLength: 30 }),
        async (resources, cuts) => {
          const { decoded } = await roundTrip(resources, cuts);
          expectSameResources(decoded, resources);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("is the same when every chunk is a single byte", async () => {
    const resources = [...sampleResources(20)];
    const bytes = concat(await collect(encodeSnapshot(header, resources, { chunkBytes: 1 })));
    expectSameResources(await collect(decodeSnapshot(chunkedEvery(bytes, 1))), resources);
  });

  it("holds a resource larger than a chunk", async () => {
    const big = create(ResourceSchema, {
      id: { name: "big", type: { group: "demo", groupVersion: "v1", kind: "Blob" } },
      data: create(AnySchema, { typeUrl: "t/blob", value: new Uint8Array(1 << 20).fill(7) }),
    });
    const chunks = await collect(encodeSnapshot(header, [sampleResource(0), big]));
    expect(Math.max(...chunks.map((c) => c.byteLength))).toBe(64 * 1024);
    const decoded = await collect(decodeSnapshot(chunked(concat(chunks))));
    expectSameResources(decoded, [sampleResource(0), big]);
  });

  it("keeps the extremes of the header: 64-bit index and term, dates before 1970", async () => {
    const max = (1n << 64n) - 1n;
    const createdAt = new Date(-8.64e15);
    const bytes = concat(await collect(encodeSnapshot({ index: max, term: max, createdAt }, [])));
    const reader = decodeSnapshot(chunked(bytes));
    expect(await reader.header).toEqual({ formatVersion: 1, index: max, term: max, createdAt });
  });

  it("is what the raw codec reads and writes: the same bytes, resources as protobuf", async () => {
    const resources = [...sampleResources(50)];
    const encoded = resources.map((r) => toBinary(ResourceSchema, r));
    const typed = concat(await collect(encodeSnapshot(header, resources)));
    const raw = concat(await collect(encodeRawSnapshot(header, encoded)));
    expect(raw).toEqual(typed);
    expect(await collect(decodeRawSnapshot(chunked(typed, [100, 5000])))).toEqual(encoded);
  });

  it("shares no memory with the input, which may be reused afterwards", async () => {
    const resource = sampleResource(4);
    const chunks = await collect(encodeSnapshot(header, [resource]));
    async function* input() {
      yield* chunks;
    }
    const [decoded] = await collect(decodeSnapshot(input()));
    for (const chunk of chunks) chunk.fill(0);
    expect(decoded).toEqual(resource);
  });
});
