import { create, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { type Resource, ResourceSchema } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { decodeRawSnapshot, decodeSnapshot } from "./decode.js";
import { encodeRawSnapshot, encodeSnapshot } from "./encode.js";
import { typicalGrowth } from "./test-support/memory.js";

const COUNT = 200_000;
const SAMPLE_EVERY = 25_000;
const header = { index: 1n, term: 1n, createdAt: new Date(0) };

/**
 * A small resource (about 330 bytes) that is cheap to encode: protobuf-es spends most of its
 * time on nested messages and strings, and this test is about the codec's memory, not that.
 */
function smallResource(i: number): Resource {
  const value = new Uint8Array(300);
  value.fill(i & 255);
  return create(ResourceSchema, {
    id: { name: `resource-${i}` },
    version: String(i),
    data: create(AnySchema, { typeUrl: "type.googleapis.com/demo.v1.Artist", value }),
  });
}

// Made once and cycled through, so that the time goes to the codec, not to making resources.
const pool = Array.from({ length: 1000 }, (_, i) => smallResource(i));

function* smallResources(count: number): Generator<Resource> {
  for (let i = 0; i < count; i++) yield pool[i % pool.length] as Resource;
}

/** Tees an encoder's output: counts its bytes and, for the control run, keeps every chunk. */
async function* measured(
  chunks: AsyncIterable<Uint8Array>,
  total: { bytes: number },
  keep?: Uint8Array[],
) {
  for await (const chunk of chunks) {
    total.bytes += chunk.byteLength;
    keep?.push(chunk);
    yield chunk;
  }
}

describe("a large snapshot", () => {
  it("streams through encoder and decoder in memory far below its size", async () => {
    const total = { bytes: 0 };
    let decoded = 0;
    const growth = await typicalGrowth(async (sample) => {
      const output = measured(encodeSnapshot(header, smallResources(COUNT)), total);
      for await (const resource of decodeSnapshot(output)) {
        if (resource.id === undefined) throw new Error("a resource lost its id");
        if (++decoded % SAMPLE_EVERY === 0) sample();
      }
    });
    expect(decoded).toBe(COUNT);
    expect(total.bytes).toBeGreaterThan(COUNT * 300);
    // Bounded: a few chunks and a few resources, whatever the snapshot's size (~74 MB here).
    expect(growth / total.bytes).toBeLessThan(0.05);
  }, 120_000);

  it("streams through the raw codec the same way, and the measure does see retention", async () => {
    const payload = toBinary(ResourceSchema, smallResource(1));
    function* payloads() {
      for (let i = 0; i < COUNT; i++) yield payload;
    }

    async function run(keep?: Uint8Array[]) {
      const total = { bytes: 0 };
      const growth = await typicalGrowth(async (sample) => {
        const output = measured(encodeRawSnapshot(header, payloads()), total, keep);
        let decoded = 0;
        for await (const _bytes of decodeRawSnapshot(output)) {
          if (++decoded % SAMPLE_EVERY === 0) sample();
        }
        expect(decoded).toBe(COUNT);
      });
      return growth / total.bytes;
    }

    const streamed = await run();
    const kept: Uint8Array[] = [];
    const retained = await run(kept);
    expect(kept.length).toBeGreaterThan(0);
    // The control keeps every chunk, so by the median sample it holds half the snapshot.
    expect(retained).toBeGreaterThan(0.4);
    expect(streamed).toBeLessThan(0.05);
  }, 120_000);
});
