// The byte layout of a snapshot file, format version 1. README.md ("The format") documents the
// same layout for people; the constants here are the single source for the code. Every integer
// is big-endian, so a hex dump reads naturally and the layout is the same on every machine.
//
//   header   magic (8) | format version u32 | raft index u64 | raft term u64 |
//            created-at i64 (ms since the Unix epoch) | CRC32C of the 36 bytes before it u32
//   frame    payload length u32 (≤ 0x7fffffff) | protobuf Resource (length bytes) |
//            CRC32C of the length field and the payload u32
//   trailer  marker u32 0xffffffff | resource count u64 |
//            CRC32C of every byte of the file before this field u32
//
// The marker takes the place of a frame's length field, and no frame may be that long, so a
// reader never confuses the trailer with a frame. A frame's checksum covers its length field
// too: a run of zero bytes (a preallocated or zero-filled tail after a crash) is then never a
// sequence of valid empty frames, and a damaged length is caught at the frame it belongs to.

/** The format version this build writes, and the only one it reads. */
export const FORMAT_VERSION = 1;

/**
 * The first eight bytes of every snapshot: 0x89 (not ASCII, so no text file starts this way;
 * catches 7-bit transfers), "RSNAP", then CR LF (catches line-ending conversion). The same idea
 * as PNG's signature.
 */
export const MAGIC: Uint8Array = Uint8Array.of(0x89, 0x52, 0x53, 0x4e, 0x41, 0x50, 0x0d, 0x0a);

/** Offsets of the header's fields. */
export const HeaderLayout = {
  magic: 0,
  formatVersion: 8,
  index: 12,
  term: 20,
  createdAt: 28,
  checksum: 36,
  /** The header's total size in bytes. */
  size: 40,
} as const;

/** Bytes of a frame that are not payload: the length field and the checksum. */
export const FRAME_OVERHEAD = 8;

/** The largest payload the format can describe; longer lengths are reserved for markers. */
export const MAX_FRAME_BYTES_LIMIT = 0x7fff_ffff;

/** The value in a frame's length position that starts the trailer. */
export const TRAILER_MARKER = 0xffff_ffff;

/** Offsets of the trailer's fields, relative to the trailer's start. */
export const TrailerLayout = {
  marker: 0,
  count: 4,
  checksum: 12,
  /** The trailer's total size in bytes. */
  size: 16,
} as const;

/**
 * The largest resource a reader accepts by default, and the largest a writer writes. Far above
 * anything a store should hold (a Consul resource is a few KiB), yet small enough that a damaged
 * length field never makes a reader buffer gigabytes.
 */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** The size of the chunks the encoder hands out. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;

const UINT64_LIMIT = 1n << 64n;

/** Checks a limit option: an integer in [0, MAX_FRAME_BYTES_LIMIT]. */
export function checkMaxFrameBytes(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(value) || value < 0 || value > MAX_FRAME_BYTES_LIMIT) {
    throw new RangeError(
      `maxFrameBytes must be an integer from 0 to ${MAX_FRAME_BYTES_LIMIT}, got ${value}`,
    );
  }
  return value;
}

/** Checks a bigint that the format stores as an unsigned 64-bit integer. */
export function checkUint64(name: string, value: bigint): bigint {
  if (typeof value !== "bigint" || value < 0n || value >= UINT64_LIMIT) {
    throw new RangeError(`${name} must be a bigint from 0 to 2^64-1, got ${String(value)}`);
  }
  return value;
}
