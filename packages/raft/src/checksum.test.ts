import { crc32c } from "@node-rs/crc32";
import { describe, expect, it } from "vitest";
import { checksum, createEntry, entryChecksum, verifyEntry } from "./checksum.js";
import { EntryType } from "./log-types.js";

describe("entry checksums", () => {
  it("are CRC32C (Castagnoli)", () => {
    expect(checksum(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
  });

  it("cover the index, the term, the type and every bit of the data", () => {
    const data = new Uint8Array([1, 2, 3, 4]);
    const entry = createEntry(7, 3, EntryType.Normal, data);
    expect(verifyEntry(entry)).toBe(true);
    expect(verifyEntry({ ...entry, index: 8 })).toBe(false);
    expect(verifyEntry({ ...entry, term: 4 })).toBe(false);
    expect(verifyEntry({ ...entry, type: EntryType.NoOp })).toBe(false);
    for (let byte = 0; byte < data.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = data.slice();
        flipped[byte] = (flipped[byte] as number) ^ (1 << bit);
        expect(verifyEntry({ ...entry, data: flipped })).toBe(false);
      }
    }
  });

  it("read a long view (the native path) of a larger plain Uint8Array at its own offset", () => {
    const backing = new Uint8Array(500).map((_, i) => (i * 31) & 0xff);
    const view = backing.subarray(37, 437);
    expect(checksum(view, 5)).toBe(crc32c(Buffer.from(view.slice()), 5));
  });

  it("read a view of a larger buffer without copying it wrongly", () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 4, 9]);
    const view = backing.subarray(2, 6);
    expect(checksum(view)).toBe(checksum(new Uint8Array([1, 2, 3, 4])));
  });
});

describe("entry checksums, computed in two ways", () => {
  it("agree with a header of 64-bit big-endian integers checksummed natively, for every size", () => {
    const header = Buffer.alloc(17);
    for (const [index, term] of [
      [1, 1],
      [0xffff_ffff, 2],
      [0x1_0000_0001, 0x7_0000_0000],
      [Number.MAX_SAFE_INTEGER, 3],
    ] as const) {
      for (const size of [0, 1, 63, 64, 65, 300]) {
        const data = new Uint8Array(size).map((_, i) => (i * 31 + size) & 0xff);
        header.writeBigUInt64BE(BigInt(index), 0);
        header.writeBigUInt64BE(BigInt(term), 8);
        header.writeUInt8(EntryType.Config, 16);
        const expected = crc32c(Buffer.from(data), crc32c(header));
        expect(entryChecksum(index, term, EntryType.Config, data)).toBe(expected);
      }
    }
  });

  it("give the same CRC for short data in JavaScript as the native implementation", () => {
    for (let size = 0; size < 64; size++) {
      const data = new Uint8Array(size).map((_, i) => (i * 7 + 3) & 0xff);
      expect(checksum(data, 12345)).toBe(crc32c(Buffer.from(data), 12345));
    }
  });
});
