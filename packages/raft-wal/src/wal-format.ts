import { crc32c } from "@node-rs/crc32";
import { type Entry, entryChecksum } from "@raftstore/raft";

// The bytes of the write-ahead log (README.md, "On-disk format", is the reader's description).
// All integers are little-endian; 64-bit integers hold safe JavaScript integers (< 2^53).
//
// A segment file is a header followed by records:
//
//   segment header, 40 bytes
//     0  8  magic "RSWALSEG"
//     8  4  format version (2; version 1 segments, without the last-of-write flag, are read too)
//    12  4  flags (bit 0: "reset": every segment with a lower sequence number is obsolete)
//    16  8  sequence number of the segment
//    24  8  index of the segment's first entry
//    32  4  CRC32C of bytes 0..31
//    36  4  end marker A5 5A C3 3C
//
//   entry record, 40 + n bytes
//     0  4  n: length of the entry's data
//     4  1  record type (1: entry)
//     5  1  entry type
//     6  1  flags (bit 0: the last record of its write; segments written before the flag existed
//           hold 0; it is set in every segment now, and read only in format 2 ones)
//     7  1  zero
//     8  8  index
//    16  8  term
//    24  4  the entry's own checksum (Entry.checksum, created by the leader)
//    28  4  CRC32C of bytes 0..27 (the header checksum)
//    32  n  data
//  32+n  4  CRC32C of the data, seeded with the header checksum
//  36+n  4  end marker A5 5A C3 3C
//
// Why two checksums and an end marker: the header checksum makes the length trustworthy before
// the data is read; the end marker is the last thing written and is never zero, so a record whose
// last bytes are missing or zero was cut short by a crash (a torn write leaves a prefix of what
// was written followed by zeros or the end of the file), while a complete record that fails its
// checksum was damaged after it was written. Every byte of a segment is covered by a checksum.
//
// Why the flag: a write that overwrites space already on disk (the zeros preallocation writes
// ahead) may reach the disk in any order of its sectors when the power fails during its sync, not
// only as a prefix. The flag marks where each write ended, so that recovery can tell whether a
// complete later write follows a bad record (then the bad record was synced: corruption) or not
// (then it may be the one write a crash caught).

export const segmentHeaderSize = 40;
export const recordHeaderSize = 32;
/** Bytes a record adds to its data. */
export const recordOverhead = 40;
/**
 * The segment format new segments are written in. Version 2 sets the last-of-write flag on the
 * last record of every write; version 1 (read, and appended to, as before) never did.
 */
export const formatVersion = 2;
/** The segment formats this code reads. */
export const readableFormatVersions: readonly number[] = [1, 2];
/** The first segment format whose writes end with a flagged record. */
export const flaggedWritesFormat = 2;
export const resetFlag = 1;
export const recordTypeEntry = 1;
/** Record flag: this record is the last one of the write (one append's bytes) it was part of. */
export const lastOfWriteFlag = 1;

const segmentMagic = Buffer.from("RSWALSEG", "latin1");
/** Every byte has several bits set, so no single flipped bit turns the marker into zeros. */
const endMarker = 0x3cc35aa5;
const twoTo32 = 0x1_0000_0000;
/** The largest data an entry may carry: the length field is 32 bits, and Buffers stop at 2 GiB. */
export const maxEntryDataBytes = 0x7fff_ffff - recordOverhead;

/** What a segment header says. */
export interface SegmentHeader {
  readonly version: number;
  readonly flags: number;
  readonly seq: number;
  readonly firstIndex: number;
}

/** The file name of a segment: its sequence number and first index, 16 hex digits each. */
export function segmentName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}.wal`;
}

const segmentNamePattern = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

/** Parses a segment file name, or returns undefined for any other name. */
export function parseSegmentName(name: string): { seq: number; firstIndex: number } | undefined {
  const match = segmentNamePattern.exec(name);
  if (match === null) return undefined;
  const seq = Number.parseInt(match[1] as string, 16);
  const firstIndex = Number.parseInt(match[2] as string, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) return undefined;
  return { seq, firstIndex };
}

export function hex16(value: number): string {
  return value.toString(16).padStart(16, "0");
}

export function encodeSegmentHeader(header: SegmentHeader): Buffer {
  const buffer = Buffer.alloc(segmentHeaderSize);
  segmentMagic.copy(buffer, 0);
  buffer.writeUInt32LE(header.version, 8);
  buffer.writeUInt32LE(header.flags, 12);
  writeU64(buffer, header.seq, 16);
  writeU64(buffer, header.firstIndex, 24);
  buffer.writeUInt32LE(crc32c(buffer.subarray(0, 32)), 32);
  buffer.writeUInt32LE(endMarker, 36);
  return buffer;
}

/** Decodes a complete segment header, or says what is wrong with it. */
export function decodeSegmentHeader(bytes: Buffer): SegmentHeader | string {
  if (bytes.length < segmentHeaderSize) {
    return `expected a ${segmentHeaderSize}-byte header, found ${bytes.length} bytes`;
  }
  if (!bytes.subarray(0, 8).equals(segmentMagic)) {
    return `expected the magic "RSWALSEG", found ${JSON.stringify(bytes.toString("latin1", 0, 8))}`;
  }
  const stored = bytes.readUInt32LE(32);
  const computed = crc32c(bytes.subarray(0, 32));
  if (stored !== computed) return checksumProblem("segment header", computed, stored);
  if (bytes.readUInt32LE(36) !== endMarker) return "the segment header's end marker is wrong";
  const seq = readU64(bytes, 16);
  const firstIndex = readU64(bytes, 24);
  if (seq === undefined || firstIndex === undefined) {
    return "the segment header holds a number beyond 2^53";
  }
  return { version: bytes.readUInt32LE(8), flags: bytes.readUInt32LE(12), seq, firstIndex };
}

/** The number of bytes `entry` takes in a segment. */
export function recordSize(entry: Entry): number {
  return recordOverhead + entry.data.byteLength;
}

/**
 * Encodes `entry` into `buffer` at `offset`, with `flags` (lastOfWriteFlag or 0); returns the
 * offset after it.
 */
export function encodeRecord(entry: Entry, buffer: Buffer, offset: number, flags = 0): number {
  const length = entry.data.byteLength;
  buffer.writeUInt32LE(length, offset);
  buffer[offset + 4] = recordTypeEntry;
  buffer[offset + 5] = entry.type;
  buffer[offset + 6] = flags;
  buffer[offset + 7] = 0;
  writeU64(buffer, entry.index, offset + 8);
  writeU64(buffer, entry.term, offset + 16);
  buffer.writeUInt32LE(entry.checksum >>> 0, offset + 24);
  const headerCrc = crc32c(buffer.subarray(offset, offset + 28));
  buffer.writeUInt32LE(headerCrc, offset + 28);
  buffer.set(entry.data, offset + recordHeaderSize);
  const dataEnd = offset + recordHeaderSize + length;
  buffer.writeUInt32LE(
    crc32c(buffer.subarray(offset + recordHeaderSize, dataEnd), headerCrc),
    dataEnd,
  );
  buffer.writeUInt32LE(endMarker, dataEnd + 4);
  return dataEnd + 8;
}

/** The result of decoding one record. */
export type DecodedRecord =
  | { readonly ok: true; readonly entry: Entry; readonly end: number }
  | {
      readonly ok: false;
      readonly problem: string;
      /**
       * Where the record ends according to its header: known when the header checksum holds,
       * undefined when the header is cut off or fails its checksum.
       */
      readonly declaredEnd: number | undefined;
      /**
       * The header is intact yet says something no crash can explain (another index, an unknown
       * record type): damage, whatever follows.
       */
      readonly damaged: boolean;
    };

/**
 * Decodes and verifies the record at `offset`, which must hold the entry `expectedIndex`: its
 * header checksum, data checksum, end marker, index and the entry's own checksum. The entry's
 * data is a view into `bytes` (no copy).
 */
export function decodeRecord(bytes: Buffer, offset: number, expectedIndex: number): DecodedRecord {
  if (bytes.length - offset < recordHeaderSize) {
    return cutOff(`the record header is cut off after ${bytes.length - offset} bytes`);
  }
  const storedHeaderCrc = bytes.readUInt32LE(offset + 28);
  const headerCrc = crc32c(bytes.subarray(offset, offset + 28));
  if (storedHeaderCrc !== headerCrc) {
    return cutOff(checksumProblem("record header", headerCrc, storedHeaderCrc));
  }
  const length = bytes.readUInt32LE(offset);
  const declaredEnd = offset + recordOverhead + length;
  if (bytes[offset + 4] !== recordTypeEntry) {
    return damaged(
      `expected record type ${recordTypeEntry}, found ${bytes[offset + 4]}`,
      declaredEnd,
    );
  }
  const flags = bytes[offset + 6] as number;
  if ((flags & ~lastOfWriteFlag) !== 0 || bytes[offset + 7] !== 0) {
    return damaged(
      `expected record flags 0 or ${lastOfWriteFlag} and a zero byte, found ${flags} and ${bytes[offset + 7]}`,
      declaredEnd,
    );
  }
  const index = readU64(bytes, offset + 8);
  const term = readU64(bytes, offset + 16);
  if (index === undefined || term === undefined) {
    return damaged("the record holds a number beyond 2^53", declaredEnd);
  }
  if (index !== expectedIndex) {
    return damaged(`expected entry ${expectedIndex}, found entry ${index}`, declaredEnd);
  }
  if (declaredEnd > bytes.length) {
    return incomplete(
      `entry ${index} declares ${length} bytes of data, but the file ends ` +
        `${bytes.length - offset} bytes after the record's start`,
      declaredEnd,
    );
  }
  const dataStart = offset + recordHeaderSize;
  const dataEnd = dataStart + length;
  const data = bytes.subarray(dataStart, dataEnd);
  const storedDataCrc = bytes.readUInt32LE(dataEnd);
  const dataCrc = crc32c(data, headerCrc);
  if (storedDataCrc !== dataCrc) {
    return incomplete(
      checksumProblem(`data of entry ${index}`, dataCrc, storedDataCrc),
      declaredEnd,
    );
  }
  if (bytes.readUInt32LE(dataEnd + 4) !== endMarker) {
    return incomplete(`the end marker of entry ${index} is wrong`, declaredEnd);
  }
  const type = bytes[offset + 5] as number;
  const checksum = bytes.readUInt32LE(offset + 24);
  const computed = entryChecksum(index, term, type, data);
  if (computed !== checksum) {
    // The record is intact, so the entry was already damaged when it was appended.
    return damaged(
      checksumProblem(`entry ${index} (its own checksum)`, computed, checksum),
      declaredEnd,
    );
  }
  // A plain Uint8Array view (not a Buffer) over the same memory: what the engine gets from any
  // other store.
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { ok: true, entry: { index, term, type, data: view, checksum }, end: declaredEnd };
}

function cutOff(problem: string): DecodedRecord {
  return { ok: false, problem, declaredEnd: undefined, damaged: false };
}

function incomplete(problem: string, declaredEnd: number): DecodedRecord {
  return { ok: false, problem, declaredEnd, damaged: false };
}

function damaged(problem: string, declaredEnd: number): DecodedRecord {
  return { ok: false, problem, declaredEnd, damaged: true };
}

function checksumProblem(what: string, computed: number, stored: number): string {
  return `checksum mismatch in the ${what}: computed ${hex8(computed)}, stored ${hex8(stored)}`;
}

function hex8(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, "0")}`;
}

export function writeU64(buffer: Buffer, value: number, offset: number): void {
  buffer.writeUInt32LE(value % twoTo32, offset);
  buffer.writeUInt32LE(Math.floor(value / twoTo32), offset + 4);
}

/** Reads a 64-bit integer, or undefined when it is not a safe JavaScript integer. */
export function readU64(buffer: Buffer, offset: number): number | undefined {
  const high = buffer.readUInt32LE(offset + 4);
  if (high > 0x1f_ffff) return undefined;
  return high * twoTo32 + buffer.readUInt32LE(offset);
}

/**
 * Whether `bytes[offset, end)` can be the start of the header of entry `expectedIndex`, cut short
 * by a crash: the fields known in advance (record type, flags, zero byte, index) must match
 * wherever they were written. Other bytes prove a record that was never ours.
 */
export function isHeaderPrefix(
  bytes: Buffer,
  offset: number,
  end: number,
  expectedIndex: number,
): boolean {
  return knownFieldsAgree(bytes, offset, Math.min(end, offset + 16), expectedIndex, false);
}

/**
 * Whether the header fields known in advance (record type, flags, zero byte, index) in
 * `bytes[offset, end)` are those of entry `expectedIndex`'s record; with `zerosAllowed`, a zero
 * byte (one that never arrived) agrees with any field too.
 */
function knownFieldsAgree(
  bytes: Buffer,
  offset: number,
  end: number,
  expectedIndex: number,
  zerosAllowed: boolean,
): boolean {
  const expected = Buffer.alloc(16);
  expected[4] = recordTypeEntry;
  expected[6] = lastOfWriteFlag;
  writeU64(expected, expectedIndex, 8);
  for (let p = offset; p < end; p++) {
    const field = p - offset;
    if (field < 4 || field === 5) continue;
    const byte = bytes[p] as number;
    // The flag byte is 0 on every record but a write's last.
    const zeroFits = zerosAllowed || field === 6;
    if (byte !== expected[field] && !(zeroFits && byte === 0)) return false;
  }
  return true;
}

/**
 * Whether the bad record at `offset`, which should hold entry `expectedIndex`, shows what a
 * sector that never reached the disk leaves, and what no flipped bit can: zeros where a record
 * never has them. With its header intact (its end declared at `declaredEnd`), all four bytes of
 * its end marker zero (each has four bits set). With its header unreadable, the header's last
 * eight bytes (the entry's checksum and the header checksum) zero, and its other known fields
 * (record type, flags, zero byte, index) each either what they should be or zero. The bytes
 * must be in the file: a record cut off by the end of the file is the other rule's business.
 */
export function looksLikeLostSector(
  bytes: Buffer,
  offset: number,
  declaredEnd: number | undefined,
  expectedIndex: number,
): boolean {
  const [from, to] =
    declaredEnd === undefined
      ? [offset + 24, offset + recordHeaderSize]
      : [declaredEnd - 4, declaredEnd];
  if (to > bytes.length) return false;
  for (let p = from; p < to; p++) if (bytes[p] !== 0) return false;
  return (
    declaredEnd !== undefined || knownFieldsAgree(bytes, offset, offset + 16, expectedIndex, true)
  );
}

/**
 * Whether, at or after the bad record at `offset` (which should hold entry `expectedIndex`), a
 * record that ended a write is followed by more data (before `nonZeroEnd`): proof that a later
 * write began after that one, and so that the write holding `offset` was synced. Later records
 * are found by their header checksum and a plausible index, since what lies between may be
 * unreadable.
 */
export function hasLaterWrite(
  bytes: Buffer,
  offset: number,
  nonZeroEnd: number,
  expectedIndex: number,
): boolean {
  // A later record holds a later entry, and no more of them than fit: a copy of a record inside
  // some entry's data, with another index, is not taken for one.
  const highestIndex = expectedIndex + Math.floor((nonZeroEnd - offset) / recordOverhead);
  // The damaged record itself, if its header survived and says it ended its write.
  if (
    offset + recordHeaderSize <= bytes.length &&
    bytes[offset + 6] === lastOfWriteFlag &&
    bytes.readUInt32LE(offset + 28) === crc32c(bytes.subarray(offset, offset + 28))
  ) {
    return nonZeroEnd > offset + recordOverhead + bytes.readUInt32LE(offset);
  }
  let budget = 4 * (nonZeroEnd - offset) + 1024 * 1024;
  for (let p = offset + 1; p + recordOverhead <= nonZeroEnd; p++) {
    if (bytes[p + 4] !== recordTypeEntry || bytes[p + 6] !== lastOfWriteFlag) continue;
    if (bytes[p + 7] !== 0) continue;
    const index = readU64(bytes, p + 8);
    if (index === undefined || index <= expectedIndex || index > highestIndex) continue;
    const headerCrc = crc32c(bytes.subarray(p, p + 28));
    if (bytes.readUInt32LE(p + 28) !== headerCrc) continue;
    const dataEnd = p + recordHeaderSize + bytes.readUInt32LE(p);
    // A write's last record ends with its never-zero marker, so within the non-zero bytes.
    if (dataEnd + 8 > nonZeroEnd || bytes.readUInt32LE(dataEnd + 4) !== endMarker) continue;
    // Crafted data could hold many such headers, each sending a checksum over a long stretch:
    // past a budget, stop and refuse (a later write is assumed) rather than scan for minutes.
    budget -= dataEnd - p;
    if (budget < 0) return true;
    if (
      bytes.readUInt32LE(dataEnd) !==
      crc32c(bytes.subarray(p + recordHeaderSize, dataEnd), headerCrc)
    ) {
      continue;
    }
    // The first write end found decides: data after it is a later write, zeros are not.
    return nonZeroEnd > dataEnd + 8;
  }
  return false;
}

/** One past the last non-zero byte of `bytes` (0 when all are zero). */
export function endOfNonZero(bytes: Buffer): number {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return end;
}
