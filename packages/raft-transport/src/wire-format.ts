import type { DescMessage, DescMethodClientStreaming } from "@bufbuild/protobuf";
import {
  EncodedRaftMessagesSchema,
  type InstallSnapshotResponseSchema,
  RaftService,
  type SendMessagesResponseSchema,
} from "@raftstore/proto/raft/v1";

// How messages travel inside the two streams of RaftService.
//
// SendMessagesRequest is `repeated RaftMessage messages = 1` and InstallSnapshotRequest is
// `RaftMessage chunk = 1`. A length-delimited field is encoded the same whether it holds bytes or
// an embedded message, and a repeated field of one element the same as a singular one, so both
// requests have exactly the encoding of EncodedRaftMessages (`repeated bytes messages = 1`) with
// each RaftMessage already serialized. Both ends use the methods below, whose input is that
// view:
// - the sender serializes each message once, when it queues it: it knows the exact size to
//   bound its queue and to refuse an oversized message, and never serializes it again;
// - the receiver parses each message on its own: a malformed message is dropped alone (the
//   stream survives it), and its exact size is counted.
// Other gRPC clients see the typed schema of raft.proto, which describes the same bytes.

type Streaming<O extends DescMessage> = DescMethodClientStreaming<
  typeof EncodedRaftMessagesSchema,
  O
>;

/** A method of RaftService whose requests carry serialized messages. */
export type EncodedStreamMethod = Streaming<DescMessage>;

/** RaftService.SendMessages, with each message of a request left serialized. */
export const sendMessagesMethod = {
  ...RaftService.method.sendMessages,
  input: EncodedRaftMessagesSchema,
} as Streaming<typeof SendMessagesResponseSchema>;

/** RaftService.InstallSnapshot, with the chunk of a request left serialized. */
export const installSnapshotMethod = {
  ...RaftService.method.installSnapshot,
  input: EncodedRaftMessagesSchema,
} as Streaming<typeof InstallSnapshotResponseSchema>;

/** Bytes of a varint holding `value` (a non-negative safe integer). */
export function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}

/** Writes `value` (a non-negative safe integer) as a varint at `offset`; returns the end. */
export function writeVarint(target: Uint8Array, offset: number, value: number): number {
  let v = value;
  let at = offset;
  while (v >= 0x80) {
    target[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  target[at++] = v;
  return at;
}

/**
 * A new array of `size` bytes for a message or frame that is sent and then dropped, which the
 * caller writes in full (its content is unspecified). A small one is carved from Node's shared
 * pool (`Buffer.allocUnsafe`): on this kind of machine a typed array with a backing store of its
 * own costs about 2 µs to make and collect, ten times a pooled one. A plain Uint8Array over the
 * same memory, so that `slice` copies as everywhere else.
 */
export function sendBytes(size: number): Uint8Array {
  const pooled = Buffer.allocUnsafe(size);
  return new Uint8Array(pooled.buffer, pooled.byteOffset, size);
}

/** The longest node id a message may carry, in characters. */
export const maxNodeIdLength = 256;

/**
 * The bytes a serialized message of `length` bytes occupies in a request: the tag of field 1
 * (one byte), its length as a varint, and the message. A request's size is the sum over its
 * messages, so this is what `maxMessageBytes` bounds.
 */
export function framedSize(length: number): number {
  return 1 + varintSize(length) + length;
}
