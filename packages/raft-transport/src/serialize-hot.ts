import type {
  AppendMessage,
  AppendResponseMessage,
  HeartbeatMessage,
  HeartbeatResponseMessage,
  Message,
} from "@raftstore/raft";
import { boolean, bytes, checkU64, entryList, id, u32 } from "./encode-message.js";
import { MessageEncodeError } from "./errors.js";
import { entryTypeToWire } from "./wire-enums.js";
import { varintSize, writeVarint } from "./wire-format.js";

// The four messages of steady replication — Append, AppendResponse, Heartbeat and
// HeartbeatResponse — serialized by hand. They are nearly every message a busy cluster sends,
// and protobuf-es's reflective writer (a create, then a BinaryWriter that forks and joins a
// buffer per nested message) was the largest single cost of a leader's CPU under load. The
// bytes are exactly what `toBinary(RaftMessageSchema, encodeMessage(m))` writes — fields in
// number order, implicit-presence defaults left out — which the tests check, and every field
// is checked as encodeMessage checks it, with the same errors.

/** A message this module serializes. */
export type HotMessage =
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage;

export function isHotMessage(message: Message): message is HotMessage {
  const type = message.type;
  return (
    type === "append" ||
    type === "appendResponse" ||
    type === "heartbeat" ||
    type === "heartbeatResponse"
  );
}

// Tags: (field number << 3) | wire type.
const varint = 0;
const len = 2;
const fixed32 = 5;
const tag = (field: number, wireType: number) => (field << 3) | wireType;

/** RaftMessage.from, .to and .term. */
export const fromTag = tag(1, len);
export const toTag = tag(2, len);
export const termTag = tag(3, varint);
/** The RaftMessage body field of each hot message type. */
export const bodyTags = {
  append: tag(4, len),
  appendResponse: tag(5, len),
  heartbeat: tag(6, len),
  heartbeatResponse: tag(7, len),
} as const;
/** The tag of a body's varint field 1, 2, 3 and 4 (Append's field 3 is its entries). */
export const varintTags = [tag(1, varint), tag(2, varint), tag(3, varint), tag(4, varint)];
/** Append.entries, Entry.data and Entry.checksum. */
export const entriesTag = tag(3, len);
export const dataTag = tag(4, len);
export const checksumTag = tag(5, fixed32);

/** A varint field's size with its one-byte tag, or 0 for a default value left out. */
const varintField = (value: number) => (value === 0 ? 0 : 1 + varintSize(value));
/** A length-delimited field's size with its one-byte tag. */
const delimited = (length: number) => 1 + varintSize(length) + length;

interface CheckedEntry {
  index: number;
  term: number;
  type: number;
  data: Uint8Array;
  checksum: number;
  size: number;
}

function checkEntries(m: AppendMessage): CheckedEntry[] {
  const out: CheckedEntry[] = [];
  const list = entryList(m.entries);
  for (let i = 0; i < list.length; i++) {
    const e = list[i] as AppendMessage["entries"][number];
    const field = `entries[${i}]`;
    const type = entryTypeToWire.get(e.type);
    if (type === undefined) {
      throw new MessageEncodeError(`${field}.type`, `expected an EntryType, found ${e.type}`);
    }
    const index = checkU64(e.index, `${field}.index`);
    const term = checkU64(e.term, `${field}.term`);
    const data = bytes(e.data, `${field}.data`);
    const checksum = u32(e.checksum, `${field}.checksum`);
    const size =
      varintField(index) +
      varintField(term) +
      varintField(type) +
      (data.length === 0 ? 0 : delimited(data.length)) +
      (checksum === 0 ? 0 : 5);
    out.push({ index, term, type, data, checksum, size });
  }
  return out;
}

/** The serialized RaftMessage of a hot message; throws MessageEncodeError as encodeMessage. */
export function serializeHot(m: HotMessage): Uint8Array {
  const from = id(m.from, "from");
  const to = id(m.to, "to");
  const term = checkU64(m.term, "term");
  const fromLength = Buffer.byteLength(from);
  const toLength = Buffer.byteLength(to);

  let bodyTag: number;
  let bodySize: number;
  let fields: number[]; // the body's varint fields 1…n, in order (0 = left out)
  let entries: CheckedEntry[] | undefined;
  switch (m.type) {
    case "append": {
      // encodeMessage checks prevIndex, prevTerm, the entries, then commit: so does this.
      const prevIndex = checkU64(m.prevIndex, "prevIndex");
      const prevTerm = checkU64(m.prevTerm, "prevTerm");
      entries = checkEntries(m);
      const commit = checkU64(m.commit, "commit");
      bodyTag = bodyTags.append;
      fields = [prevIndex, prevTerm, 0, commit];
      bodySize = varintField(prevIndex) + varintField(prevTerm) + varintField(commit);
      for (const e of entries) bodySize += delimited(e.size);
      break;
    }
    case "appendResponse": {
      const success = boolean(m.success, "success") ? 1 : 0;
      fields = [
        success,
        checkU64(m.index, "index"),
        checkU64(m.hintIndex, "hintIndex"),
        checkU64(m.hintTerm, "hintTerm"),
      ];
      bodyTag = bodyTags.appendResponse;
      bodySize = fields.reduce((sum, v) => sum + varintField(v), 0);
      break;
    }
    case "heartbeat":
      fields = [checkU64(m.commit, "commit"), checkU64(m.context, "context")];
      bodyTag = bodyTags.heartbeat;
      bodySize = fields.reduce((sum, v) => sum + varintField(v), 0);
      break;
    case "heartbeatResponse":
      fields = [checkU64(m.context, "context")];
      bodyTag = bodyTags.heartbeatResponse;
      bodySize = fields.reduce((sum, v) => sum + varintField(v), 0);
      break;
  }

  const size =
    delimited(fromLength) + delimited(toLength) + varintField(term) + delimited(bodySize);
  const out = new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
  const buffer = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  let at = 0;
  out[at++] = fromTag;
  at = writeVarint(out, at, fromLength);
  at += buffer.write(from, at, fromLength, "utf8");
  out[at++] = toTag;
  at = writeVarint(out, at, toLength);
  at += buffer.write(to, at, toLength, "utf8");
  if (term !== 0) {
    out[at++] = termTag;
    at = writeVarint(out, at, term);
  }
  out[at++] = bodyTag;
  at = writeVarint(out, at, bodySize);
  for (let f = 0; f < fields.length; f++) {
    if (f === 2 && entries !== undefined) {
      for (const e of entries) at = writeEntry(out, buffer, at, e);
      continue;
    }
    const value = fields[f] as number;
    if (value === 0) continue;
    out[at++] = varintTags[f] as number;
    at = writeVarint(out, at, value);
  }
  if (at !== size) throw new Error(`unreachable: wrote ${at} of ${size} bytes`);
  return out;
}

function writeEntry(out: Uint8Array, buffer: Buffer, offset: number, e: CheckedEntry): number {
  let at = offset;
  out[at++] = entriesTag;
  at = writeVarint(out, at, e.size);
  if (e.index !== 0) {
    out[at++] = varintTags[0] as number;
    at = writeVarint(out, at, e.index);
  }
  if (e.term !== 0) {
    out[at++] = varintTags[1] as number;
    at = writeVarint(out, at, e.term);
  }
  if (e.type !== 0) {
    out[at++] = varintTags[2] as number;
    at = writeVarint(out, at, e.type);
  }
  if (e.data.length !== 0) {
    out[at++] = dataTag;
    at = writeVarint(out, at, e.data.length);
    out.set(e.data, at);
    at += e.data.length;
  }
  if (e.checksum !== 0) {
    out[at++] = checksumTag;
    buffer.writeUInt32LE(e.checksum, at);
    at += 4;
  }
  return at;
}
