import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checksum } from "./checksum.js";
import { ChunkWriter } from "./chunk-writer.js";
import { concat } from "./test-support/resources.js";

function drain(writer: ChunkWriter): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let chunk = writer.nextReady(); chunk !== undefined; chunk = writer.nextReady()) {
    chunks.push(chunk);
  }
  return chunks;
}

describe("the chunk writer", () => {
  it("hands out chunks of exactly chunkBytes, the last one shorter, whatever the writes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.nat()), { maxLength: 30 }),
        (chunkBytes, writes) => {
          const writer = new ChunkWriter(chunkBytes);
          const expected: number[] = [];
          const chunks: Uint8Array[] = [];
          for (const write of writes) {
            if (typeof write === "number") {
              writer.writeUint32(write);
              expected.push(write >>> 24, (write >>> 16) & 255, (write >>> 8) & 255, write & 255);
            } else {
              writer.write(write);
              expected.push(...write);
            }
            chunks.push(...drain(writer));
          }
          const bytes = Uint8Array.from(expected);
          expect(writer.checksum()).toBe(checksum(bytes));
          const last = writer.flush();
          if (last !== undefined) chunks.push(last);
          expect(concat(chunks)).toEqual(bytes);
          expect(writer.written).toBe(bytes.byteLength);
          for (const chunk of chunks.slice(0, -1)) expect(chunk.byteLength).toBe(chunkBytes);
          expect(chunks.every((c) => c.byteLength > 0 && c.byteLength <= chunkBytes)).toBe(true);
        },
      ),
    );
  });

  it("never touches a chunk again once it was handed out", () => {
    const writer = new ChunkWriter(8);
    writer.write(new Uint8Array(12).fill(1));
    const [first] = drain(writer);
    const before = Uint8Array.from(first ?? []);
    writer.write(new Uint8Array(20).fill(2));
    writer.flush();
    expect(first).toEqual(before);
    expect(before).toEqual(new Uint8Array(8).fill(1));
  });

  it("hands out nothing for an empty tail", () => {
    const writer = new ChunkWriter(4);
    writer.write(new Uint8Array(8));
    expect(drain(writer)).toHaveLength(2);
    expect(writer.flush()).toBeUndefined();
  });
});
