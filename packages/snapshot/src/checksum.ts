import { crc32c } from "@node-rs/crc32";

// CRC32C (Castagnoli), computed natively (SIMD) by @node-rs/crc32. It reads a Uint8Array view
// at its own offset and length (checksum.test.ts pins that), so views are passed without
// wrapping them in a Buffer.

/** CRC32C of `bytes`, continuing from the CRC of the bytes before them (`previous`). */
export function checksum(bytes: Uint8Array, previous = 0): number {
  return crc32c(bytes, previous);
}

// A frame's length field as bytes, for its checksum. Only used synchronously.
const lengthField = new Uint8Array(4);
const lengthView = new DataView(lengthField.buffer);

/** The checksum a frame carries: CRC32C of its length field followed by its payload. */
export function frameChecksum(payload: Uint8Array): number {
  lengthView.setUint32(0, payload.byteLength);
  return crc32c(payload, crc32c(lengthField));
}
