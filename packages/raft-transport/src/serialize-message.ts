import { create, toBinary } from "@bufbuild/protobuf";
import { RaftMessageSchema, SnapshotChunkSchema } from "@raftstore/proto/raft/v1";
import type { Message, SnapshotChunkMessage } from "@raftstore/raft";
import { encodeMessage } from "./encode-message.js";
import { isHotMessage, serializeHot } from "./serialize-hot.js";
import { varintSize, writeVarint } from "./wire-format.js";

// What the sender puts on the wire for each message: the bytes of its RaftMessage.
//
// Serializing a snapshot chunk with protobuf-es copies its data once per level of nesting (a
// BinaryWriter concatenates each nested message on `join`), about 15 ms per MiB chunk here: it
// would cap snapshot transfers far below what the connection carries. Protobuf parsers accept
// fields in any order, so a chunk is serialized by hand instead, with protobuf-es writing all
// but the data and the data copied once, last:
//
//   RaftMessage   = from, to, term (protobuf-es) | tag 13 | length | SnapshotChunk
//   SnapshotChunk = snapshot, offset, size, checksum, last (protobuf-es) | tag 4 | length | data
//
// Any protobuf parser reads the result as the same RaftMessage as `toBinary` would write (the
// tests check that). The wire format does not change; only the field order on the wire does.

/** Tag of RaftMessage.snapshot_chunk (field 13, length-delimited). */
const snapshotChunkTag = (13 << 3) | 2;
/** Tag of SnapshotChunk.data (field 4, length-delimited). */
const dataTag = (4 << 3) | 2;

/**
 * The serialized RaftMessage of an engine message. Throws MessageEncodeError when a field
 * cannot be encoded (see `encodeMessage`).
 */
export function serializeMessage(message: Message): Uint8Array {
  if (isHotMessage(message)) {
    return serializeHot(message) ?? toBinary(RaftMessageSchema, encodeMessage(message));
  }
  return message.type === "snapshotChunk"
    ? serializeSnapshotChunk(message)
    : toBinary(RaftMessageSchema, encodeMessage(message));
}

/** A snapshot chunk's RaftMessage, with the data copied once. */
function serializeSnapshotChunk(message: SnapshotChunkMessage): Uint8Array {
  // encodeMessage checks every field; its data is shared, not copied, and left out below.
  const proto = encodeMessage(message);
  if (proto.body.case !== "snapshotChunk") throw new Error("unreachable: not a snapshot chunk");
  const data = proto.body.value.data;
  const head = toBinary(
    SnapshotChunkSchema,
    create(SnapshotChunkSchema, { ...proto.body.value, data: new Uint8Array(0) }),
  );
  const envelope = toBinary(
    RaftMessageSchema,
    create(RaftMessageSchema, { from: proto.from, to: proto.to, term: proto.term }),
  );
  const chunkSize = head.length + 1 + varintSize(data.length) + data.length;
  // Every byte is written below, so the zero-filling of `new Uint8Array` would be wasted work;
  // the result is a plain Uint8Array over the unpooled memory, like every other message's.
  const size = envelope.length + 1 + varintSize(chunkSize) + chunkSize;
  const out = new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
  out.set(envelope, 0);
  let at = envelope.length;
  out[at++] = snapshotChunkTag;
  at = writeVarint(out, at, chunkSize);
  out.set(head, at);
  at += head.length;
  out[at++] = dataTag;
  at = writeVarint(out, at, data.length);
  out.set(data, at);
  return out;
}
