import { type Resource, ResourceSchema } from "@raftstore/proto";
import { type AllocateBytes, toBinaryFast } from "@raftstore/storage";
import { frameChecksum } from "./checksum.js";
import { ChunkWriter } from "./chunk-writer.js";
import { SnapshotResourceTooLargeError } from "./errors.js";
import {
  checkMaxFrameBytes,
  checkUint64,
  DEFAULT_CHUNK_BYTES,
  TRAILER_MARKER,
  TrailerLayout,
} from "./format.js";
import { encodeHeader, type SnapshotHeaderInit } from "./header.js";

/** Options of `encodeSnapshot`. */
export interface EncodeSnapshotOptions {
  /**
   * The size of the chunks handed out (the last one is shorter). Default 64 KiB: large enough
   * that per-chunk costs (a write call, a checksum call) vanish, small enough to stay in cache.
   */
  chunkBytes?: number;
  /**
   * The largest encoded resource to write; a larger one fails the encoding with
   * SnapshotResourceTooLargeError. Keep it at most the readers' limit, or the snapshot could
   * not be read back. Default 64 MiB, the readers' default.
   */
  maxFrameBytes?: number;
}

/**
 * Encodes a point-in-time set of resources as a snapshot, streaming: resources are pulled
 * from `resources` only as the output is consumed, and the output comes in chunks of
 * `chunkBytes`, so memory stays bounded whatever the snapshot's size.
 *
 * The trailer is written only after the last resource, so an encoding that fails or is
 * abandoned halfway (the source throws, a resource is too large, the consumer stops) never
 * yields bytes that read back as a snapshot. Errors of the source are passed on unchanged.
 *
 * Each chunk is a new buffer that the consumer owns. Resources are only read, never kept.
 * Invalid header fields throw a RangeError right away, before any iteration.
 */
export function encodeSnapshot(
  header: SnapshotHeaderInit,
  resources: Iterable<Resource> | AsyncIterable<Resource>,
  options: EncodeSnapshotOptions = {},
): AsyncIterable<Uint8Array> {
  const { index, term, createdAt, chunkBytes } = checkHeaderAndChunks(header, options);
  const scratch = reusedBytes();
  return generateSnapshot(
    encodeHeader(index, term, createdAt),
    resources,
    (resource: Resource) => toBinaryFast(ResourceSchema, resource, scratch),
    { chunkBytes, maxFrameBytes: checkMaxFrameBytes(options.maxFrameBytes) },
  );
}

/**
 * Where each resource of one encoding is written in turn: one buffer, grown when a resource
 * needs more. A resource's bytes are copied into the output before the next one is written, so
 * nothing reads them after that; an array of its own per resource cost more than encoding it.
 */
function reusedBytes(): AllocateBytes {
  let buffer = new Uint8Array(0);
  return (size) => {
    if (size > buffer.byteLength)
      buffer = new Uint8Array(Math.max(size, 2 * buffer.byteLength, 4096));
    return buffer.subarray(0, size);
  };
}

/**
 * Like `encodeSnapshot`, but takes each resource as its protobuf encoding: the shape in which
 * the Raft backend's `Snapshot.next()` hands them out (as Consul's does), which saves decoding
 * and encoding them again. Each item must be a protobuf-encoded Resource; readers check that
 * when they decode it, the writer does not. Items are only read, never kept.
 */
export function encodeRawSnapshot(
  header: SnapshotHeaderInit,
  encodedResources: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: EncodeSnapshotOptions = {},
): AsyncIterable<Uint8Array> {
  const { index, term, createdAt, chunkBytes } = checkHeaderAndChunks(header, options);
  return generateSnapshot(
    encodeHeader(index, term, createdAt),
    encodedResources,
    (encoded: Uint8Array) => {
      if (!(encoded instanceof Uint8Array)) {
        throw new TypeError(`expected encoded resources as Uint8Arrays, got ${typeof encoded}`);
      }
      return encoded;
    },
    { chunkBytes, maxFrameBytes: checkMaxFrameBytes(options.maxFrameBytes) },
  );
}

function checkHeaderAndChunks(header: SnapshotHeaderInit, options: EncodeSnapshotOptions) {
  const index = checkUint64("index", header.index);
  const term = checkUint64("term", header.term);
  const createdAt = header.createdAt ?? new Date();
  if (!(createdAt instanceof Date) || Number.isNaN(createdAt.getTime())) {
    throw new RangeError(`createdAt must be a valid Date, got ${String(createdAt)}`);
  }
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > 1 << 30) {
    throw new RangeError(`chunkBytes must be an integer from 1 to 2^30, got ${chunkBytes}`);
  }
  return { index, term, createdAt, chunkBytes };
}

async function* generateSnapshot<T>(
  header: Uint8Array,
  items: Iterable<T> | AsyncIterable<T>,
  toPayload: (item: T) => Uint8Array,
  options: Required<EncodeSnapshotOptions>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const writer = new ChunkWriter(options.chunkBytes);
  writer.write(header);
  let count = 0;
  const writeFrame = (item: T) => {
    const payload = toPayload(item);
    if (payload.byteLength > options.maxFrameBytes) {
      throw new SnapshotResourceTooLargeError(count, payload.byteLength, options.maxFrameBytes);
    }
    writer.writeUint32(payload.byteLength);
    writer.write(payload);
    writer.writeUint32(frameChecksum(payload));
    count++;
  };

  // A sync source is iterated synchronously: `for await` over it would cost a microtask per
  // resource. Either way a chunk is yielded as soon as it fills, so the consumer sets the pace.
  if (Symbol.asyncIterator in items) {
    for await (const item of items) {
      writeFrame(item);
      for (let chunk = writer.nextReady(); chunk !== undefined; chunk = writer.nextReady()) {
        yield chunk;
      }
    }
  } else {
    for (const item of items) {
      writeFrame(item);
      for (let chunk = writer.nextReady(); chunk !== undefined; chunk = writer.nextReady()) {
        yield chunk;
      }
    }
  }

  const trailer = new Uint8Array(TrailerLayout.checksum);
  const view = new DataView(trailer.buffer);
  view.setUint32(TrailerLayout.marker, TRAILER_MARKER);
  view.setBigUint64(TrailerLayout.count, BigInt(count));
  writer.write(trailer);
  writer.writeUint32(writer.checksum());
  for (let chunk = writer.nextReady(); chunk !== undefined; chunk = writer.nextReady()) {
    yield chunk;
  }
  const last = writer.flush();
  if (last !== undefined) yield last;
}
