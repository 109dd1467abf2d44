import { describe, expect, it } from "vitest";
import { decodeSnapshot } from "./decode.js";
import { encodeSnapshot } from "./encode.js";
import { isSnapshotFormatError } from "./errors.js";
import { chunked, collect, concat, sampleResources } from "./test-support/resources.js";

const header = { index: 9n, term: 2n, createdAt: new Date(0) };
const snapshot = concat(await collect(encodeSnapshot(header, sampleResources(5))));

/** Chunks of `bytes`, recording how far the reader pulled and whether it released the input. */
function tracked(bytes: Uint8Array, chunkBytes: number) {
  const state = { pulledBytes: 0, released: false };
  async function* chunks() {
    try {
      for (let at = 0; at < bytes.byteLength; at += chunkBytes) {
        const chunk = bytes.slice(at, at + chunkBytes);
        state.pulledBytes += chunk.byteLength;
        yield chunk;
      }
    } finally {
      state.released = true;
    }
  }
  return { chunks: chunks(), state };
}

describe("a snapshot reader", () => {
  it("reads only the header's bytes when asked for the header", async () => {
    const { chunks, state } = tracked(snapshot, 16);
    const reader = decodeSnapshot(chunks);
    expect(await reader.header).toEqual({ formatVersion: 1, ...header });
    expect(state.pulledBytes).toBe(48);
    await reader.close();
    expect(state.released).toBe(true);
  });

  it("gives the header before the iteration and the same one after it", async () => {
    const reader = decodeSnapshot(chunked(snapshot));
    const before = await reader.header;
    expect(await collect(reader)).toHaveLength(5);
    expect(await reader.header).toBe(before);
  });

  it("releases the input when the consumer stops early", async () => {
    const { chunks, state } = tracked(snapshot, 100);
    for await (const _resource of decodeSnapshot(chunks)) break;
    expect(state.released).toBe(true);
    expect(state.pulledBytes).toBeLessThan(snapshot.byteLength);
  });

  it("releases the input when it finds damage", async () => {
    const damaged = snapshot.slice();
    damaged[100] = (damaged[100] as number) ^ 1;
    const { chunks, state } = tracked(damaged, 64);
    await expect(collect(decodeSnapshot(chunks))).rejects.toSatisfy(isSnapshotFormatError);
    expect(state.released).toBe(true);
  });

  it("reads an array of buffers as well as a stream", async () => {
    const reader = decodeSnapshot([snapshot.subarray(0, 100), snapshot.subarray(100)]);
    expect(await collect(reader)).toHaveLength(5);
    expect((await reader.header).index).toBe(9n);
  });

  it("can be iterated only once", async () => {
    const reader = decodeSnapshot(chunked(snapshot));
    await collect(reader);
    expect(() => reader[Symbol.asyncIterator]()).toThrow(TypeError);
  });

  it("rejects an iteration after close instead of ending it early", async () => {
    const reader = decodeSnapshot(chunked(snapshot, [60]));
    await reader.header;
    await reader.close();
    await expect(collect(reader)).rejects.toThrow("closed before the end");
  });

  it("is closed by `await using`", async () => {
    const { chunks, state } = tracked(snapshot, 50);
    {
      await using reader = decodeSnapshot(chunks);
      await reader.header;
    }
    expect(state.released).toBe(true);
  });

  it("rejects the header and the iteration with the same error when the header is damaged", async () => {
    const damaged = snapshot.slice();
    damaged[15] = (damaged[15] as number) ^ 0x80;
    const reader = decodeSnapshot(chunked(damaged));
    const fromIteration = await collect(reader).catch((e: unknown) => e);
    const fromHeader = await reader.header.catch((e: unknown) => e);
    expect(fromIteration).toBe(fromHeader);
    expect(fromHeader).toMatchObject({ reason: "header-checksum", offset: 36 });
  });

  it("leaves no unhandled rejection when only iterated", async () => {
    // vitest fails the run on an unhandled rejection; the header promise must not cause one.
    const reader = decodeSnapshot(chunked(new TextEncoder().encode("not a snapshot at all")));
    await expect(collect(reader)).rejects.toSatisfy(isSnapshotFormatError);
  });

  it("passes the input's own errors on unchanged", async () => {
    const failure = Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" });
    async function* failing() {
      yield snapshot.subarray(0, 200);
      throw failure;
    }
    await expect(collect(decodeSnapshot(failing()))).rejects.toBe(failure);
  });

  it("rejects chunks that are not bytes with a TypeError", async () => {
    async function* strings() {
      yield "\x89RSNAP\r\n" as unknown as Uint8Array;
    }
    await expect(collect(decodeSnapshot(strings()))).rejects.toThrow(
      "expected the input's chunks to be Uint8Arrays, got string",
    );
  });

  it("refuses an oversized frame as soon as its length is read, without waiting for it", async () => {
    async function* input() {
      yield snapshot.subarray(0, 44); // the header and the first frame's length
      throw new Error("the reader pulled past the length field");
    }
    const error = await collect(decodeSnapshot(input(), { maxFrameBytes: 10 })).catch((e) => e);
    expect(error).toMatchObject({
      name: "SnapshotFormatError",
      reason: "frame-too-large",
      offset: 40,
    });
    expect(String(error.message)).toMatch(
      /at most maxFrameBytes=10 bytes \(frame #0\), found a length of \d+/,
    );
  });

  it("rejects invalid options at once", () => {
    for (const maxFrameBytes of [-1, 1.5, 2 ** 31, Number.NaN]) {
      expect(() => decodeSnapshot(chunked(snapshot), { maxFrameBytes })).toThrow(RangeError);
    }
  });
});
