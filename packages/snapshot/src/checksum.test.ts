import { describe, expect, it } from "vitest";
import { checksum, frameChecksum } from "./checksum.js";

const text = (s: string) => new TextEncoder().encode(s);

describe("checksums", () => {
  it("are CRC32C (Castagnoli)", () => {
    expect(checksum(text("123456789"))).toBe(0xe3069283);
  });

  it("read a view of a larger buffer at its own offset and length", () => {
    const backing = new Uint8Array([9, 9, ...text("123456789"), 9]);
    expect(checksum(backing.subarray(2, 11))).toBe(0xe3069283);
  });

  it("continue from a previous checksum as if the bytes were one run", () => {
    expect(checksum(text("56789"), checksum(text("1234")))).toBe(0xe3069283);
  });

  it("of a frame cover its length field, so a run of zero bytes is never a valid empty frame", () => {
    expect(frameChecksum(new Uint8Array(0))).toBe(checksum(new Uint8Array(4)));
    expect(frameChecksum(new Uint8Array(0))).not.toBe(0);
    const payload = text("abc");
    expect(frameChecksum(payload)).toBe(checksum(new Uint8Array([0, 0, 0, 3, ...payload])));
  });
});
