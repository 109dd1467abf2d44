import { describe, expect, it } from "vitest";
import { checksum, createEntry, verifyEntry } from "./checksum.js";
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

  it("read a view of a larger buffer without copying it wrongly", () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 4, 9]);
    const view = backing.subarray(2, 6);
    expect(checksum(view)).toBe(checksum(new Uint8Array([1, 2, 3, 4])));
  });
});
