import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { EncodedRaftMessagesSchema } from "@raftstore/proto/raft/v1";
import { sendBytes, writeVarint } from "./wire-format.js";

// The gRPC framing of the raft streams, for the paths that read and write them without
// connect's streaming machinery (stream-handler.ts receives, outbound-stream.ts sends). Each
// request of a stream is one frame: a flags byte (0: not compressed), the payload's length as
// 4 bytes big-endian, and the payload, an EncodedRaftMessages (`repeated bytes messages = 1`,
// see wire-format.ts). The errors are connect's, with its codes, so a sender sees the same
// answer from either path.

/** The tag of EncodedRaftMessages.messages: field 1, length-delimited. */
const messagesTag = 0x0a;

/**
 * One request frame of `messages` (serialized RaftMessages) whose request size, the sum of
 * their `framed` sizes, is `size`: one allocation, each message copied once.
 */
export function encodeRequestFrame(messages: readonly Uint8Array[], size: number): Uint8Array {
  const frame = sendBytes(5 + size);
  frame[0] = 0;
  new DataView(frame.buffer, frame.byteOffset).setUint32(1, size);
  let at = 5;
  for (const message of messages) {
    frame[at++] = messagesTag;
    at = writeVarint(frame, at, message.length);
    frame.set(message, at);
    at += message.length;
  }
  if (at !== frame.length) {
    throw new RangeError(`expected a request of ${size} bytes, wrote ${at - 5}`);
  }
  return frame;
}

/**
 * The messages of one request's payload, as views into it. Requests as this transport writes
 * them (field 1 only) are read here; anything else (unknown fields, a malformed payload) goes
 * to protobuf-es, for the same result or the same error as connect's path: Internal,
 * "parse binary: …" (the receiver answers the peer InvalidArgument).
 */
export function decodeRequestPayload(payload: Uint8Array): Uint8Array[] {
  const messages: Uint8Array[] = [];
  let at = 0;
  while (at < payload.length) {
    if (payload[at] !== messagesTag) return decodeWithProtobuf(payload);
    let length = 0;
    let scale = 1;
    let b = 0x80;
    at++;
    // A length of at most 4 varint bytes (< 256 MiB); anything longer takes the slow path.
    for (let i = 0; i < 4 && b >= 0x80; i++) {
      if (at >= payload.length) return decodeWithProtobuf(payload);
      b = payload[at++] as number;
      length += (b & 0x7f) * scale;
      scale *= 0x80;
    }
    if (b >= 0x80 || at + length > payload.length) return decodeWithProtobuf(payload);
    messages.push(payload.subarray(at, at + length));
    at += length;
  }
  return messages;
}

function decodeWithProtobuf(payload: Uint8Array): Uint8Array[] {
  try {
    return fromBinary(EncodedRaftMessagesSchema, payload).messages;
  } catch (error) {
    throw new ConnectError(
      `parse binary: ${error instanceof Error ? error.message : String(error)}`,
      Code.Internal,
    );
  }
}

/**
 * Cuts a request body into frames as its chunks arrive. A chunk that holds whole frames is not
 * copied (the payloads are views into it); a frame split across chunks is copied once, when
 * its last byte has arrived. A frame over `readMaxBytes` is refused as soon as its header is
 * read, without buffering it.
 */
export class FrameReader {
  private readonly readMaxBytes: number;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Bytes the pending chunks must reach before parsing them is worthwhile. */
  private needed = 5;

  constructor(readMaxBytes: number) {
    this.readMaxBytes = readMaxBytes;
  }

  /** Bytes of a frame begun and not finished: non-zero when the body ends, it was cut short. */
  get partialBytes(): number {
    return this.pendingBytes;
  }

  /** The payloads of the frames `chunk` completes, in order. Throws a ConnectError. */
  push(chunk: Uint8Array): Uint8Array[] {
    let bytes = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < this.needed) return [];
      bytes = concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    const payloads: Uint8Array[] = [];
    let at = 0;
    this.needed = 5;
    while (bytes.length - at >= 5) {
      const flags = bytes[at] as number;
      const length = readUint32(bytes, at + 1);
      if (length > this.readMaxBytes) {
        throw new ConnectError(
          `message size ${length} is larger than configured readMaxBytes ${this.readMaxBytes}`,
          Code.ResourceExhausted,
        );
      }
      if (flags !== 0) {
        throw new ConnectError(
          (flags & 1) === 1
            ? "received a compressed message without a grpc-encoding"
            : `expected a message frame, found one with flags 0x${flags.toString(16)}`,
          (flags & 1) === 1 ? Code.Internal : Code.InvalidArgument,
        );
      }
      if (bytes.length - at - 5 < length) {
        this.needed = 5 + length;
        break;
      }
      payloads.push(bytes.subarray(at + 5, at + 5 + length));
      at += 5 + length;
    }
    if (at < bytes.length) {
      this.pending.push(bytes.subarray(at));
      this.pendingBytes = bytes.length - at;
    }
    return payloads;
  }
}

/** The big-endian 32-bit length at `at`, without a DataView per chunk. */
function readUint32(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at] as number) * 0x1000000 +
    (((bytes[at + 1] as number) << 16) |
      ((bytes[at + 2] as number) << 8) |
      (bytes[at + 3] as number))
  );
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
