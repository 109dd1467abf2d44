import { crc32c } from "@node-rs/crc32";
import type { Entry, EntryType } from "./log-types.js";

const header = Buffer.alloc(17);

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** CRC32C (Castagnoli) of some bytes, continuing from `initial`. */
export function checksum(bytes: Uint8Array, initial = 0): number {
  return crc32c(asBuffer(bytes), initial);
}

/** The checksum an entry carries: CRC32C over its index, term, type and data. */
export function entryChecksum(index: number, term: number, type: EntryType, data: Uint8Array) {
  header.writeBigUInt64BE(BigInt(index), 0);
  header.writeBigUInt64BE(BigInt(term), 8);
  header.writeUInt8(type, 16);
  return crc32c(asBuffer(data), crc32c(header));
}

/** Builds an entry with its checksum. */
export function createEntry(index: number, term: number, type: EntryType, data: Uint8Array): Entry {
  return { index, term, type, data, checksum: entryChecksum(index, term, type, data) };
}

/** Whether an entry's contents still match its checksum. */
export function verifyEntry(entry: Entry): boolean {
  return entryChecksum(entry.index, entry.term, entry.type, entry.data) === entry.checksum;
}
