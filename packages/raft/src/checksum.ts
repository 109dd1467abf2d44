import { crc32c } from "@node-rs/crc32";
import type { Entry, EntryType } from "./log-types.js";

// Entry checksums are computed on every hot path of the engine (a leader creates one per
// proposal; every follower verifies each received entry; every node verifies each entry before
// applying it), so they must be cheap. The 17-byte header (index, term, type) and short data are
// folded into the CRC in JavaScript, four bytes per step (slicing-by-4), which avoids a BigInt
// and a native call per entry; data of 64 bytes or more goes to the SIMD implementation of
// @node-rs/crc32. Both paths compute the same CRC32C (Castagnoli, reflected, polynomial
// 0x82F63B78); the tests check them against each other.

// Slicing-by-4 tables: t0 is the classic byte table, t1..t3 advance a byte through 1..3 more
// zero bytes, so four bytes fold in one step.
const t0 = new Int32Array(256);
const t1 = new Int32Array(256);
const t2 = new Int32Array(256);
const t3 = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  t0[n] = c;
}
for (let n = 0; n < 256; n++) {
  const c0 = t0[n] as number;
  const c1 = (t0[c0 & 0xff] as number) ^ (c0 >>> 8);
  const c2 = (t0[c1 & 0xff] as number) ^ (c1 >>> 8);
  t1[n] = c1;
  t2[n] = c2;
  t3[n] = (t0[c2 & 0xff] as number) ^ (c2 >>> 8);
}

/** Data at least this long is checksummed natively; shorter data in JavaScript (faster there). */
const nativeThreshold = 64;

/** Folds four bytes, given little-endian in `word` (first byte lowest), into a register. */
function fold4(register: number, word: number): number {
  const r = register ^ word;
  return (
    (t3[r & 0xff] as number) ^
    (t2[(r >>> 8) & 0xff] as number) ^
    (t1[(r >>> 16) & 0xff] as number) ^
    (t0[r >>> 24] as number)
  );
}

/** Folds a 32-bit unsigned integer, big-endian (most significant byte first), into a register. */
function fold32(register: number, value: number): number {
  const swapped =
    ((value >>> 24) & 0xff) | ((value >>> 8) & 0xff00) | ((value << 8) & 0xff0000) | (value << 24);
  return fold4(register, swapped);
}

/** CRC32C (Castagnoli) of some bytes, continuing from `initial`. */
export function checksum(bytes: Uint8Array, initial = 0): number {
  // `length` read once: a TypedArray's length getter in a loop condition costs several times
  // the loop body.
  const length = bytes.length;
  // The native function reads any Uint8Array view at its own offset and length (no Buffer
  // wrapper needed; a test pins it).
  if (length >= nativeThreshold) return crc32c(bytes as Buffer, initial);
  let register = ~initial;
  let i = 0;
  for (const whole = length & ~3; i < whole; i += 4) {
    register = fold4(
      register,
      (bytes[i] as number) |
        ((bytes[i + 1] as number) << 8) |
        ((bytes[i + 2] as number) << 16) |
        ((bytes[i + 3] as number) << 24),
    );
  }
  for (; i < length; i++) {
    register = (t0[(register ^ (bytes[i] as number)) & 0xff] as number) ^ (register >>> 8);
  }
  return ~register >>> 0;
}

/** The checksum an entry carries: CRC32C over its index, term, type and data. */
export function entryChecksum(index: number, term: number, type: EntryType, data: Uint8Array) {
  // The header is index and term as 64-bit big-endian integers, then the type as one byte.
  let register = -1;
  register = fold32(register, (index / 0x1_0000_0000) >>> 0);
  register = fold32(register, index >>> 0);
  register = fold32(register, (term / 0x1_0000_0000) >>> 0);
  register = fold32(register, term >>> 0);
  register = (t0[(register ^ type) & 0xff] as number) ^ (register >>> 8);
  return checksum(data, ~register >>> 0);
}

/** Builds an entry with its checksum. */
export function createEntry(index: number, term: number, type: EntryType, data: Uint8Array): Entry {
  return { index, term, type, data, checksum: entryChecksum(index, term, type, data) };
}

/** Whether an entry's contents still match its checksum. */
export function verifyEntry(entry: Entry): boolean {
  return entryChecksum(entry.index, entry.term, entry.type, entry.data) === entry.checksum;
}
