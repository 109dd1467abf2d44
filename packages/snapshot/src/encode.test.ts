import { toBinary } from "@bufbuild/protobuf";
import { type Resource, ResourceSchema } from "@raftstore/proto";
import { describe, expect, it } from "vitest";
import { decodeSnapshot } from "./decode.js";
import { encodeRawSnapshot, encodeSnapshot } from "./encode.js";
import { isSnapshotResourceTooLargeError, SnapshotResourceTooLargeError } from "./errors.js";
import {
  chunked,
  collect,
  concat,
  decodeOutcome,
  sampleResource,
  sampleResources,
} from "./test-support/resources.js";

const header = { index: 1n, term: 1n, createdAt: new Date(0) };

describe("encoding", () => {
  it("coalesces small resources into chunks of 64 KiB", async () => {
    const chunks = await collect(encodeSnapshot(header, sampleResources(1000)));
    const total = chunks.reduce((n, c) => n + c.byteLength, 0);
    expect(chunks).toHaveLength(Math.ceil(total / 65536));
    for (const chunk of chunks.slice(0, -1)) expect(chunk.byteLength).toBe(65536);
  });

  it("hands out chunks of the size asked for", async () => {
    const chunks = await collect(encodeSnapshot(header, sampleResources(10), { chunkBytes: 100 }));
    expect(chunks.slice(0, -1).every((c) => c.byteLength === 100)).toBe(true);
    expect(chunks.at(-1)?.byteLength).toBeLessThanOrEqual(100);
  });

  it("writes the same bytes from a synchronous and an asynchronous source", async () => {
    async function* later() {
      yield* sampleResources(100);
    }
    const fromSync = concat(await collect(encodeSnapshot(header, sampleResources(100))));
    const fromAsync = concat(await collect(encodeSnapshot(header, later())));
    expect(fromAsync).toEqual(fromSync);
  });

  it("pulls resources only as fast as the output is consumed", async () => {
    let pulled = 0;
    function* counted() {
      for (const resource of sampleResources(10_000)) {
        pulled++;
        yield resource;
      }
    }
    const output = encodeSnapshot(header, counted())[Symbol.asyncIterator]();
    await output.next();
    // One chunk of 64 KiB holds about 160 resources of ~410 bytes.
    expect(pulled).toBeGreaterThan(100);
    expect(pulled).toBeLessThan(300);
    await output.return?.();
  });

  it("stops the source when the consumer stops", async () => {
    let finished = false;
    function* source() {
      try {
        yield* sampleResources(10_000);
      } finally {
        finished = true;
      }
    }
    for await (const _chunk of encodeSnapshot(header, source())) break;
    expect(finished).toBe(true);
  });

  it("passes the source's error on unchanged, and what it wrote never reads as a snapshot", async () => {
    const failure = new Error("the store went away");
    async function* failing() {
      yield* sampleResources(300);
      throw failure;
    }
    const written: Uint8Array[] = [];
    await expect(async () => {
      for await (const chunk of encodeSnapshot(header, failing())) written.push(chunk);
    }).rejects.toBe(failure);
    expect(written.length).toBeGreaterThan(0);
    const outcome = await decodeOutcome(chunked(concat(written)));
    expect(outcome.completed).toBe(false);
    expect(outcome.error).toMatchObject({ name: "SnapshotFormatError", reason: "truncated" });
  });

  it("refuses a resource larger than maxFrameBytes, naming it and both sizes", async () => {
    const resources = [sampleResource(1), sampleResource(0)];
    const sizes = resources.map((r) => toBinary(ResourceSchema, r).byteLength);
    const size = Math.max(...sizes);
    expect(sizes[1]).toBe(size);
    const error = await collect(
      encodeSnapshot(header, resources, { maxFrameBytes: size - 1 }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSnapshotResourceTooLargeError(error)).toBe(true);
    expect(error).toBeInstanceOf(SnapshotResourceTooLargeError);
    expect(error).toMatchObject({ position: 1, resourceBytes: size, maxFrameBytes: size - 1 });
    expect((error as Error).message).toBe(
      `resource #1 encodes to ${size} bytes, expected at most maxFrameBytes=${size - 1}`,
    );
    await expect(
      collect(encodeSnapshot(header, resources, { maxFrameBytes: size + 1 })),
    ).resolves.toBeDefined();
  });

  it("rejects invalid header fields and options at once, before reading any resource", () => {
    const untouched: Iterable<Resource> = {
      [Symbol.iterator]() {
        throw new Error("the source must not be read");
      },
    };
    const cases: Array<[Parameters<typeof encodeSnapshot>[0], object]> = [
      [{ index: -1n, term: 0n }, {}],
      [{ index: 1n << 64n, term: 0n }, {}],
      [{ index: 0n, term: -1n }, {}],
      [{ index: 0n, term: 0n, createdAt: new Date(Number.NaN) }, {}],
      [{ index: 0n, term: 0n }, { chunkBytes: 0 }],
      [{ index: 0n, term: 0n }, { chunkBytes: 1.5 }],
      [{ index: 0n, term: 0n }, { maxFrameBytes: -1 }],
    ];
    for (const [init, options] of cases) {
      expect(() => encodeSnapshot(init, untouched, options)).toThrow(RangeError);
    }
  });

  it("stamps the snapshot with the current time unless told otherwise", async () => {
    const before = Date.now();
    const output = encodeSnapshot({ index: 0n, term: 0n }, []);
    const after = Date.now();
    const { createdAt } = await decodeSnapshot(chunked(concat(await collect(output)))).header;
    expect(createdAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(createdAt.getTime()).toBeLessThanOrEqual(after);
  });

  it("takes encoded resources as Uint8Arrays only", async () => {
    const notBytes = ["not bytes"] as unknown as Uint8Array[];
    await expect(collect(encodeRawSnapshot(header, notBytes))).rejects.toThrow(TypeError);
  });
});
