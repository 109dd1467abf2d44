import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checksum } from "./checksum.js";
import { ChunkQueue } from "./chunk-queue.js";

type Read =
  | { op: "uint32" }
  | { op: "uint64" }
  | { op: "take"; n: number }
  | { op: "skip"; n: number };

const arbitraryRead: fc.Arbitrary<Read> = fc.oneof(
  fc.constant({ op: "uint32" as const }),
  fc.constant({ op: "uint64" as const }),
  fc.record({ op: fc.constant("take" as const), n: fc.nat({ max: 40 }) }),
  fc.record({ op: fc.constant("skip" as const), n: fc.nat({ max: 40 }) }),
);

function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...cuts.map((c) => c % (bytes.byteLength + 1)), bytes.byteLength].sort(
    (a, b) => a - b,
  );
  let from = 0;
  return points.map((to) => {
    const chunk = bytes.slice(from, to);
    from = to;
    return chunk;
  });
}

describe("the chunk queue", () => {
  it("reads the same values as one buffer would, wherever the chunk boundaries are", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 120 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.array(arbitraryRead, { maxLength: 20 }),
        (bytes, cuts, reads) => {
          const queue = new ChunkQueue();
          for (const chunk of split(bytes, cuts)) queue.push(chunk);
          const whole = new DataView(bytes.buffer);
          let at = 0;
          for (const read of reads) {
            const size = read.op === "uint32" ? 4 : read.op === "uint64" ? 8 : read.n;
            if (queue.available < size) break;
            if (read.op === "uint32") expect(queue.readUint32()).toBe(whole.getUint32(at));
            if (read.op === "uint64") expect(queue.readUint64()).toBe(whole.getBigUint64(at));
            if (read.op === "take") expect(queue.take(size)).toEqual(bytes.slice(at, at + size));
            if (read.op === "skip") queue.skip(size);
            at += size;
            expect(queue.offset).toBe(at);
            expect(queue.available).toBe(bytes.byteLength - at);
            expect(queue.checksum()).toBe(checksum(bytes.subarray(0, at)));
          }
        },
      ),
    );
  });

  it("keeps the checksum of consumed bytes right when asked only at the end", () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 255);
    const queue = new ChunkQueue();
    for (let at = 0; at < bytes.byteLength; at += 3) queue.push(bytes.slice(at, at + 3));
    queue.skip(997);
    expect(queue.checksum()).toBe(checksum(bytes.subarray(0, 997)));
  });

  it("hands out copies that share no memory with the input chunks", () => {
    const chunk = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const queue = new ChunkQueue();
    queue.push(chunk);
    const taken = queue.take(4);
    chunk.fill(0);
    expect(taken).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect(taken.buffer).not.toBe(chunk.buffer);
  });

  it("ignores empty chunks", () => {
    const queue = new ChunkQueue();
    queue.push(new Uint8Array(0));
    queue.push(new Uint8Array([0, 0]));
    queue.push(new Uint8Array(0));
    queue.push(new Uint8Array([1, 2]));
    expect(queue.available).toBe(4);
    expect(queue.readUint32()).toBe(0x0102);
  });
});
