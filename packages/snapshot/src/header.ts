import { checksum } from "./checksum.js";
import { SnapshotFormatError } from "./errors.js";
import { FORMAT_VERSION, HeaderLayout, MAGIC } from "./format.js";

/** What a snapshot says about itself, read from its header. */
export interface SnapshotHeader {
  /** The format version of the file (this build reads and writes 1). */
  formatVersion: number;
  /** The Raft index of the last log entry the snapshot includes. */
  index: bigint;
  /** The Raft term of that entry. */
  term: bigint;
  /** When the snapshot was taken (millisecond precision). */
  createdAt: Date;
}

/** The header fields a writer chooses. */
export interface SnapshotHeaderInit {
  index: bigint;
  term: bigint;
  /** Default: now. Pass it to make the output a pure function of the input. */
  createdAt?: Date;
}

/** The header's bytes. The caller has validated the fields. */
export function encodeHeader(index: bigint, term: bigint, createdAt: Date): Uint8Array {
  const bytes = new Uint8Array(HeaderLayout.size);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, HeaderLayout.magic);
  view.setUint32(HeaderLayout.formatVersion, FORMAT_VERSION);
  view.setBigUint64(HeaderLayout.index, index);
  view.setBigUint64(HeaderLayout.term, term);
  view.setBigInt64(HeaderLayout.createdAt, BigInt(createdAt.getTime()));
  view.setUint32(HeaderLayout.checksum, checksum(bytes.subarray(0, HeaderLayout.checksum)));
  return bytes;
}

/**
 * Reads a header from its bytes (exactly `HeaderLayout.size` of them, from offset 0), checking
 * the signature, then the version (a newer format may lay out the rest differently), then the
 * checksum, and only then trusting the fields.
 */
export function decodeHeader(bytes: Uint8Array): SnapshotHeader {
  checkHeaderPrefix(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stored = view.getUint32(HeaderLayout.checksum);
  const computed = checksum(bytes.subarray(0, HeaderLayout.checksum));
  if (stored !== computed) {
    throw new SnapshotFormatError(
      "header-checksum",
      HeaderLayout.checksum,
      `expected the header checksum ${hex(computed)} of bytes 0-${HeaderLayout.checksum - 1}, ` +
        `found ${hex(stored)}`,
    );
  }
  const createdAtMs = Number(view.getBigInt64(HeaderLayout.createdAt));
  const createdAt = new Date(createdAtMs);
  if (Number.isNaN(createdAt.getTime())) {
    // Only a writer of its own could store this: ours writes what a valid Date holds.
    throw new SnapshotFormatError(
      "invalid-header",
      HeaderLayout.createdAt,
      `expected a creation time a Date can hold (±8.64e15 ms), found ${createdAtMs}`,
    );
  }
  return {
    formatVersion: FORMAT_VERSION,
    index: view.getBigUint64(HeaderLayout.index),
    term: view.getBigUint64(HeaderLayout.term),
    createdAt,
  };
}

/**
 * Checks as much of the signature and the version as `bytes` (a prefix of the input) holds.
 * Used on the whole header, and on a short input before calling it truncated: a 3-byte text
 * file is "not a snapshot", not "a cut snapshot".
 */
export function checkHeaderPrefix(bytes: Uint8Array): void {
  const magicBytes = Math.min(bytes.byteLength, MAGIC.byteLength);
  for (let i = 0; i < magicBytes; i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw new SnapshotFormatError(
        "bad-magic",
        i,
        `expected the snapshot signature ${hexBytes(MAGIC)}, found ` +
          `${hexBytes(bytes.subarray(0, magicBytes))}: not a raftstore snapshot`,
      );
    }
  }
  if (bytes.byteLength < HeaderLayout.formatVersion + 4) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(HeaderLayout.formatVersion);
  if (version !== FORMAT_VERSION) {
    throw new SnapshotFormatError(
      "unsupported-version",
      HeaderLayout.formatVersion,
      `expected format version ${FORMAT_VERSION}, found ${version}` +
        (version > FORMAT_VERSION ? ": written by a newer raftstore" : ""),
    );
  }
}

export function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}
