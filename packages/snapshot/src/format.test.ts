import { toBinary } from "@bufbuild/protobuf";
import { ResourceSchema } from "@raftstore/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checksum } from "./checksum.js";
import { encodeSnapshot } from "./encode.js";
import { MAGIC, MAX_FRAME_BYTES_LIMIT, TRAILER_MARKER } from "./format.js";
import { craftSnapshot } from "./test-support/craft.js";
import { arbitraryResource, collect, concat, sampleResource } from "./test-support/resources.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("the byte layout", () => {
  it("of an empty snapshot is a 40-byte header and a 16-byte trailer, as documented", async () => {
    const createdAt = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    const bytes = concat(await collect(encodeSnapshot({ index: 258n, term: 3n, createdAt }, [])));
    expect(bytes.byteLength).toBe(56);
    const view = new DataView(bytes.buffer);
    expect(hex(bytes.subarray(0, 8))).toBe("8952534e41500d0a");
    expect(view.getUint32(8)).toBe(1);
    expect(hex(bytes.subarray(12, 20))).toBe("0000000000000102");
    expect(view.getBigUint64(20)).toBe(3n);
    expect(view.getBigInt64(28)).toBe(BigInt(createdAt.getTime()));
    expect(view.getUint32(36)).toBe(checksum(bytes.subarray(0, 36)));
    expect(view.getUint32(40)).toBe(0xffffffff);
    expect(view.getBigUint64(44)).toBe(0n);
    expect(view.getUint32(52)).toBe(checksum(bytes.subarray(0, 52)));
  });

  it("frames a resource as its length, its protobuf bytes and a checksum of both", async () => {
    const resource = sampleResource(1);
    const payload = toBinary(ResourceSchema, resource);
    const bytes = concat(await collect(encodeSnapshot({ index: 1n, term: 1n }, [resource])));
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(40)).toBe(payload.byteLength);
    expect(bytes.subarray(44, 44 + payload.byteLength)).toEqual(payload);
    expect(view.getUint32(44 + payload.byteLength)).toBe(
      checksum(bytes.subarray(40, 44 + payload.byteLength)),
    );
    expect(bytes.byteLength).toBe(40 + 8 + payload.byteLength + 16);
    expect(view.getBigUint64(bytes.byteLength - 12)).toBe(1n);
  });

  it("is byte for byte what an independent writer of the documented layout writes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbitraryResource, { maxLength: 8 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.integer({ min: -8.64e15, max: 8.64e15 }),
        fc.integer({ min: 1, max: 300 }),
        async (resources, index, term, createdAtMs, chunkBytes) => {
          const chunks = await collect(
            encodeSnapshot({ index, term, createdAt: new Date(createdAtMs) }, resources, {
              chunkBytes,
            }),
          );
          const crafted = craftSnapshot({
            index,
            term,
            createdAtMs: BigInt(createdAtMs),
            payloads: resources.map((r) => toBinary(ResourceSchema, r)),
          });
          expect(hex(concat(chunks))).toBe(hex(crafted));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("starts with a signature no text file has and that line-ending conversion would break", () => {
    expect(MAGIC[0]).toBeGreaterThan(0x7f);
    expect([...MAGIC.subarray(6)]).toEqual([0x0d, 0x0a]);
  });

  it("keeps the trailer marker out of reach of every frame length", () => {
    expect(TRAILER_MARKER).toBeGreaterThan(MAX_FRAME_BYTES_LIMIT);
    expect(() => encodeSnapshot({ index: 0n, term: 0n }, [], { maxFrameBytes: 2 ** 31 })).toThrow(
      RangeError,
    );
  });
});
