import type { DecodeSnapshotOptions } from "./decode.js";
import { decodeResource } from "./decode.js";
import { checkMaxFrameBytes } from "./format.js";
import type { SnapshotHeader } from "./header.js";
import { type SnapshotInput, StreamingSnapshotReader } from "./snapshot-reader.js";

/** What `inspectSnapshot` reports: the header, and a census of a fully verified snapshot. */
export interface SnapshotInfo extends SnapshotHeader {
  /** The number of resources. */
  count: number;
  /** The snapshot's size in bytes. */
  bytes: number;
  /** The encoded size of the largest resource, 0 when there is none. */
  largestResourceBytes: number;
  /** Resources per type, keyed `group.groupVersion.kind`, keys in ascending order. */
  resourcesByType: Record<string, number>;
  /**
   * Resources per unversioned type, keyed `group.kind` (storage identity ignores the group
   * version, so this is what a List sees), keys in ascending order.
   */
  resourcesByUnversionedType: Record<string, number>;
}

/**
 * Reads a whole snapshot, verifying everything exactly as a restore would (every checksum,
 * every resource decoded, the count, nothing after the trailer), and reports what it holds.
 * Resources are counted and dropped, so memory stays bounded. Damage rejects with
 * SnapshotFormatError, like decoding.
 */
export async function inspectSnapshot(
  chunks: SnapshotInput,
  options: DecodeSnapshotOptions = {},
): Promise<SnapshotInfo> {
  let bytes = 0;
  async function* counted(): AsyncGenerator<Uint8Array, void, undefined> {
    for await (const chunk of chunks) {
      // Not a Uint8Array: the decoder rejects it with a TypeError of its own.
      if (chunk instanceof Uint8Array) bytes += chunk.byteLength;
      yield chunk;
    }
  }

  let largestResourceBytes = 0;
  const reader = new StreamingSnapshotReader(
    counted(),
    checkMaxFrameBytes(options.maxFrameBytes),
    decodeResource,
    (payloadBytes) => {
      largestResourceBytes = Math.max(largestResourceBytes, payloadBytes);
    },
  );
  const byType = new Map<string, number>();
  const byUnversionedType = new Map<string, number>();
  let count = 0;
  for await (const resource of reader) {
    const type = resource.id?.type;
    const group = type?.group ?? "";
    const kind = type?.kind ?? "";
    increment(byType, `${group}.${type?.groupVersion ?? ""}.${kind}`);
    increment(byUnversionedType, `${group}.${kind}`);
    count++;
  }
  const header = await reader.header;
  return {
    ...header,
    count,
    bytes,
    largestResourceBytes,
    resourcesByType: sortedRecord(byType),
    resourcesByUnversionedType: sortedRecord(byUnversionedType),
  };
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function sortedRecord(counts: Map<string, number>): Record<string, number> {
  // Object.fromEntries defines own properties, so a key such as "__proto__" stays a key.
  return Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
