import { crc32c } from "@node-rs/crc32";
import type { ClusterConfig, SnapshotMeta } from "@raftstore/raft";
import { hex16, readU64, writeU64 } from "./wal-format.js";

// A snapshot file (README.md, "On-disk format"), little-endian:
//
//   header, 40 + m bytes
//     0  8  magic "RSSNAPSH"
//     8  4  format version (1)
//    12  4  chunk size c
//    16  8  index of the last entry the snapshot covers
//    24  8  term of that entry
//    32  4  m: length of the configuration
//    36  m  configuration at that entry, JSON (UTF-8): {"voters":[…],"learners":[…]}
//  36+m  4  CRC32C of bytes 0..35+m
//
//   chunks: the contents cut into pieces of c bytes (the last one shorter; none when empty)
//     0  4  n: length of the piece
//     4  4  CRC32C of the piece, continuing from the value k (the chunk's number, from 0), so a
//           piece moved to another place fails its check
//     8  n  the piece
//
//   trailer, 28 bytes
//     0  8  magic "RSSNAPND"
//     8  8  size of the contents in bytes
//    16  4  number of chunks
//    20  4  CRC32C of the whole contents
//    24  4  CRC32C of bytes 0..23 of the trailer
//
// A chunk's place follows from its number (header + k·(8 + c)), so a read can start at any
// offset without scanning, and every byte of the file is covered by a checksum.

export const snapshotVersion = 1;
export const trailerSize = 28;
export const chunkFrameSize = 8;
const headerMagic = Buffer.from("RSSNAPSH", "latin1");
const trailerMagic = Buffer.from("RSSNAPND", "latin1");

/** What a snapshot's header holds. */
export interface SnapshotHeader {
  readonly meta: SnapshotMeta;
  readonly chunkSize: number;
  /** The header's length in bytes (where chunk 0 starts). */
  readonly length: number;
}

/** What a snapshot's trailer holds. */
export interface SnapshotTrailer {
  readonly size: number;
  readonly chunks: number;
  readonly checksum: number;
}

/** The file name of a snapshot: its index and term, 16 hex digits each. */
export function snapshotName(meta: { index: number; term: number }): string {
  return `${hex16(meta.index)}-${hex16(meta.term)}.snap`;
}

const snapshotNamePattern = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

/** Parses a snapshot file name, or returns undefined for any other name. */
export function parseSnapshotName(name: string): { index: number; term: number } | undefined {
  const match = snapshotNamePattern.exec(name);
  if (match === null) return undefined;
  const index = Number.parseInt(match[1] as string, 16);
  const term = Number.parseInt(match[2] as string, 16);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(term)) return undefined;
  return { index, term };
}

export function encodeSnapshotHeader(meta: SnapshotMeta, chunkSize: number): Buffer {
  const config = Buffer.from(
    JSON.stringify({ voters: meta.config.voters, learners: meta.config.learners }),
    "utf8",
  );
  const buffer = Buffer.alloc(40 + config.length);
  headerMagic.copy(buffer, 0);
  buffer.writeUInt32LE(snapshotVersion, 8);
  buffer.writeUInt32LE(chunkSize, 12);
  writeU64(buffer, meta.index, 16);
  writeU64(buffer, meta.term, 24);
  buffer.writeUInt32LE(config.length, 32);
  config.copy(buffer, 36);
  buffer.writeUInt32LE(crc32c(buffer.subarray(0, 36 + config.length)), 36 + config.length);
  return buffer;
}

/** How many bytes to read to see the whole header, given its first 36 bytes. */
export function snapshotHeaderLength(prefix: Buffer): number | string {
  if (prefix.length < 36) return `expected a header of at least 40 bytes, found ${prefix.length}`;
  return 40 + prefix.readUInt32LE(32);
}

/** Whether `bytes` (a file's first bytes) begin with a snapshot file's magic. */
export function isSnapshotFilePrefix(bytes: Uint8Array): boolean {
  return (
    bytes.length >= headerMagic.length && headerMagic.equals(bytes.subarray(0, headerMagic.length))
  );
}

/** Decodes a complete header, or says what is wrong with it. */
export function decodeSnapshotHeader(bytes: Buffer): SnapshotHeader | string {
  if (!isSnapshotFilePrefix(bytes)) {
    return `expected the magic "RSSNAPSH", found ${JSON.stringify(bytes.toString("latin1", 0, 8))}`;
  }
  const length = bytes.length;
  const stored = bytes.readUInt32LE(length - 4);
  const computed = crc32c(bytes.subarray(0, length - 4));
  if (stored !== computed) return checksumProblem("header", computed, stored);
  const version = bytes.readUInt32LE(8);
  if (version !== snapshotVersion)
    return `expected format version ${snapshotVersion}, found ${version}`;
  const chunkSize = bytes.readUInt32LE(12);
  const index = readU64(bytes, 16);
  const term = readU64(bytes, 24);
  if (index === undefined || term === undefined || chunkSize === 0) {
    return "the header holds a number out of range";
  }
  const config = parseConfig(bytes.toString("utf8", 36, length - 4));
  if (config === undefined) return "the configuration in the header is not {voters, learners}";
  return { meta: { index, term, config }, chunkSize, length };
}

function parseConfig(text: string): ClusterConfig | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Covered by the header checksum, so this is a format this version does not know.
    return undefined;
  }
  const isIds = (ids: unknown): ids is string[] =>
    Array.isArray(ids) && ids.every((id) => typeof id === "string");
  if (typeof value !== "object" || value === null) return undefined;
  const { voters, learners } = value as { voters?: unknown; learners?: unknown };
  return isIds(voters) && isIds(learners) ? { voters, learners } : undefined;
}

/** The checksum of chunk `number` holding `data`. */
export function chunkChecksum(number: number, data: Uint8Array): number {
  return crc32c(data, number);
}

export function encodeChunkFrame(number: number, data: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(chunkFrameSize);
  frame.writeUInt32LE(data.byteLength, 0);
  frame.writeUInt32LE(chunkChecksum(number, data), 4);
  return frame;
}

export function encodeTrailer(trailer: SnapshotTrailer): Buffer {
  const buffer = Buffer.alloc(trailerSize);
  trailerMagic.copy(buffer, 0);
  writeU64(buffer, trailer.size, 8);
  buffer.writeUInt32LE(trailer.chunks, 16);
  buffer.writeUInt32LE(trailer.checksum, 20);
  buffer.writeUInt32LE(crc32c(buffer.subarray(0, 24)), 24);
  return buffer;
}

export function decodeTrailer(bytes: Buffer): SnapshotTrailer | string {
  if (!bytes.subarray(0, 8).equals(trailerMagic)) {
    return 'expected the trailer magic "RSSNAPND" at the end of the file: the snapshot is incomplete';
  }
  const stored = bytes.readUInt32LE(24);
  const computed = crc32c(bytes.subarray(0, 24));
  if (stored !== computed) return checksumProblem("trailer", computed, stored);
  const size = readU64(bytes, 8);
  if (size === undefined) return "the trailer holds a size beyond 2^53";
  return { size, chunks: bytes.readUInt32LE(16), checksum: bytes.readUInt32LE(20) };
}

/** The file size a snapshot with this header and trailer must have. */
export function expectedFileSize(header: SnapshotHeader, trailer: SnapshotTrailer): number {
  return header.length + trailer.chunks * chunkFrameSize + trailer.size + trailerSize;
}

export function checksumProblem(what: string, computed: number, stored: number): string {
  const hex = (value: number) => `0x${(value >>> 0).toString(16).padStart(8, "0")}`;
  return `checksum mismatch in the ${what}: computed ${hex(computed)}, stored ${hex(stored)}`;
}
