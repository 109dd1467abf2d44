import { crc32c } from "@node-rs/crc32";

/** The fields of a hand-made snapshot; each defaults to what a valid one holds. */
export interface CraftedSnapshot {
  magic?: Uint8Array;
  formatVersion?: number;
  index?: bigint;
  term?: bigint;
  createdAtMs?: bigint;
  /** The frames' payloads. */
  payloads?: readonly Uint8Array[];
  /** The trailer's count. Default: the number of payloads. */
  count?: bigint;
}

const MAGIC = Buffer.from([0x89, 0x52, 0x53, 0x4e, 0x41, 0x50, 0x0d, 0x0a]);

/**
 * A second, independent writer of the format, written from the layout in the README with
 * Node's Buffer methods and nothing of the package: the tests check that the encoder's output
 * is byte for byte what it makes, and use it to make snapshots whose checksums are all right
 * but whose contents are not (a wrong count, an unknown version, a frame that is no Resource).
 */
export function craftSnapshot(fields: CraftedSnapshot = {}): Uint8Array {
  const header = Buffer.alloc(40);
  Buffer.from(fields.magic ?? MAGIC).copy(header, 0);
  header.writeUInt32BE(fields.formatVersion ?? 1, 8);
  header.writeBigUInt64BE(fields.index ?? 0n, 12);
  header.writeBigUInt64BE(fields.term ?? 0n, 20);
  header.writeBigInt64BE(fields.createdAtMs ?? 0n, 28);
  header.writeUInt32BE(crc32c(header.subarray(0, 36)), 36);

  const parts: Buffer[] = [header];
  const payloads = fields.payloads ?? [];
  for (const payload of payloads) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(payload.byteLength);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc32c(Buffer.concat([length, payload])));
    parts.push(length, Buffer.from(payload), sum);
  }
  const trailer = Buffer.alloc(16);
  trailer.writeUInt32BE(0xffffffff, 0);
  trailer.writeBigUInt64BE(fields.count ?? BigInt(payloads.length), 4);
  const beforeChecksum = Buffer.concat([...parts, trailer.subarray(0, 12)]);
  trailer.writeUInt32BE(crc32c(beforeChecksum), 12);
  return new Uint8Array(Buffer.concat([...parts, trailer]));
}
