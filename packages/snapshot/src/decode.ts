import { type Resource, ResourceSchema } from "@raftstore/proto";
import { fromBinaryFast } from "@raftstore/storage";
import { SnapshotFormatError } from "./errors.js";
import { checkMaxFrameBytes } from "./format.js";
import {
  type SnapshotInput,
  type SnapshotReaderOf,
  StreamingSnapshotReader,
} from "./snapshot-reader.js";

/** Options of `decodeSnapshot`. */
export interface DecodeSnapshotOptions {
  /**
   * The largest frame to accept, checked before its bytes are buffered: a damaged length
   * field can make the reader wait for at most this many bytes, never allocate more. Default
   * 64 MiB, the writers' default.
   */
  maxFrameBytes?: number;
}

/**
 * A snapshot being read. Iterate it (once) for its resources; the iteration ends normally only
 * after the trailer has been verified, so a consumer that reaches the end holds exactly the
 * resources that were written. Any damage rejects the iteration with SnapshotFormatError
 * instead: apply resources to a fresh restoration and commit it only when the loop is over.
 */
export type SnapshotReader = SnapshotReaderOf<Resource>;

/**
 * Reads a snapshot from chunks of any size and alignment (down to one byte each), verifying as
 * it goes. Memory is bounded by the largest frame plus one chunk, whatever the snapshot's
 * size. Resources come out as soon as their frame is verified; each is a new message that
 * shares no memory with the input chunks.
 *
 * The input's own errors (a file that cannot be read) reject the iteration unchanged. A
 * chunk that is not a Uint8Array rejects it with a TypeError.
 */
export function decodeSnapshot(
  chunks: SnapshotInput,
  options: DecodeSnapshotOptions = {},
): SnapshotReader {
  return new StreamingSnapshotReader(
    chunks,
    checkMaxFrameBytes(options.maxFrameBytes),
    decodeResource,
  );
}

/**
 * Like `decodeSnapshot`, but hands out each resource as its protobuf encoding, undecoded: the
 * shape in which the Raft backend's `Restoration.apply(msg)` takes them (as Consul's does),
 * which saves decoding twice. Every checksum, the count and the end are verified exactly as by
 * `decodeSnapshot`; only whether each payload is a valid Resource is left to the consumer.
 * Each payload is a new buffer that the consumer owns.
 */
export function decodeRawSnapshot(
  chunks: SnapshotInput,
  options: DecodeSnapshotOptions = {},
): RawSnapshotReader {
  return new StreamingSnapshotReader(
    chunks,
    checkMaxFrameBytes(options.maxFrameBytes),
    (payload) => payload,
  );
}

/** A snapshot being read by `decodeRawSnapshot`: a SnapshotReader of encoded resources. */
export type RawSnapshotReader = SnapshotReaderOf<Uint8Array>;

/** A verified frame's payload as a Resource; bytes that are none are damage at `offset`. */
export function decodeResource(payload: Uint8Array, offset: number): Resource {
  try {
    return fromBinaryFast(ResourceSchema, payload);
  } catch (error) {
    throw new SnapshotFormatError(
      "invalid-resource",
      offset,
      `expected a protobuf ${ResourceSchema.typeName} in the frame, but it does not decode: ` +
        String(error instanceof Error ? error.message : error),
      { cause: error },
    );
  }
}
