import type {
  AppendMessage,
  AppendResponseMessage,
  Entry,
  HeartbeatMessage,
  HeartbeatResponseMessage,
  Message,
  ProposeMessage,
  ProposeResponseMessage,
} from "@raftstore/raft";
import { entryTypeToWire, refusalToWire } from "./wire-enums.js";
import { framedSize, sendBytes, varintSize, writeVarint } from "./wire-format.js";

// The messages of steady replication — Append, AppendResponse, Heartbeat and HeartbeatResponse,
// and a follower's Propose and its ProposeResponse — serialized by hand. They are nearly every
// message a busy cluster sends,
// and protobuf-es's reflective writer (a create, then a BinaryWriter that forks and joins a
// buffer per nested message) was the largest single cost of a leader's CPU under load. The
// bytes are exactly what `toBinary(RaftMessageSchema, encodeMessage(m))` writes — fields in
// number order, implicit-presence defaults left out — which the tests check. A message with
// any field out of the plain form (a bad number, a non-ASCII node id, …) is not written here:
// serializeHot returns undefined and the caller takes the reflective path, which writes it or
// throws encodeMessage's error for it.

/** A message this module serializes. */
export type HotMessage =
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | ProposeMessage
  | ProposeResponseMessage;

export function isHotMessage(message: Message): message is HotMessage {
  const type = message.type;
  return (
    type === "append" ||
    type === "appendResponse" ||
    type === "heartbeat" ||
    type === "heartbeatResponse" ||
    type === "propose" ||
    type === "proposeResponse"
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
  propose: tag(15, len),
  // Two bytes on the wire (a varint above 127).
  proposeResponse: tag(16, len),
} as const;
/** The tag of a body's varint fields 1 to 5 (Append's field 3 is its entries, Propose's 2). */
export const varintTags = [
  tag(1, varint),
  tag(2, varint),
  tag(3, varint),
  tag(4, varint),
  tag(5, varint),
];
/** Append.entries, Entry.data and Entry.checksum. */
export const entriesTag = tag(3, len);
export const dataTag = tag(4, len);
export const checksumTag = tag(5, fixed32);
/** Propose.entries, and a ProposedEntry's type, data and checksum. */
export const proposedTag = tag(2, len);
export const proposedTypeTag = tag(1, varint);
export const proposedDataTag = tag(2, len);
export const proposedChecksumTag = tag(3, fixed32);

/** A varint field's size with its one-byte tag, or 0 for a default value left out. */
const varintField = (value: number) => (value === 0 ? 0 : 1 + varintSize(value));
/** A length-delimited field's size with its one-byte tag. */

interface CheckedEntry {
  index: number;
  term: number;
  type: number;
  data: Uint8Array;
  checksum: number;
  size: number;
}

const isU64 = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isU32 = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffff_ffff;

/** The length of an ASCII node id (its UTF-8 length too), or -1 for anything else. */
function asciiIdLength(id: unknown): number {
  if (typeof id !== "string" || id.length === 0) return -1;
  for (let i = 0; i < id.length; i++) if (id.charCodeAt(i) >= 0x80) return -1;
  return id.length;
}

/**
 * The entries of an Append (`positioned`: with index and term) or of a Propose (without), each
 * with its wire type and size, or undefined when one is not in the plain form. Both entry
 * messages have one-byte tags, so one size formula serves (index and term 0 are left out).
 */
function checkEntries(entries: unknown, positioned: boolean): CheckedEntry[] | undefined {
  if (!Array.isArray(entries)) return undefined;
  const out: CheckedEntry[] = [];
  for (const e of entries as Partial<Entry>[]) {
    if (typeof e !== "object" || e === null) return undefined;
    const type = entryTypeToWire.get(e.type as Entry["type"]);
    const { data, checksum } = e;
    const index = positioned ? e.index : 0;
    const term = positioned ? e.term : 0;
    if (type === undefined || !isU64(index) || !isU64(term) || !isU32(checksum)) return undefined;
    if (!(data instanceof Uint8Array)) return undefined;
    const size =
      varintField(index) +
      varintField(term) +
      varintField(type) +
      (data.length === 0 ? 0 : framedSize(data.length)) +
      (checksum === 0 ? 0 : 5);
    out.push({ index, term, type, data, checksum, size });
  }
  return out;
}

/**
 * The serialized RaftMessage of a hot message, or undefined when a field is not in the plain
 * form this writer handles (the reflective path then writes it, or refuses it).
 */
export function serializeHot(m: HotMessage): Uint8Array | undefined {
  const fromLength = asciiIdLength(m.from);
  const toLength = asciiIdLength(m.to);
  const term = m.term;
  if (fromLength < 0 || toLength < 0 || !isU64(term)) return undefined;

  let bodyTag: number;
  let fields: unknown[]; // the body's varint fields 1…n, in order (0 = left out)
  let entries: CheckedEntry[] | undefined;
  // Where the entries go among the fields (Append's field 3, Propose's field 2), and how.
  let entriesAt = -1;
  let writeOne = writeEntry;
  switch (m.type) {
    case "append":
      entries = checkEntries(m.entries, true);
      if (entries === undefined) return undefined;
      bodyTag = bodyTags.append;
      fields = [m.prevIndex, m.prevTerm, 0, m.commit];
      entriesAt = 2;
      break;
    case "propose":
      entries = checkEntries(m.entries, false);
      if (entries === undefined) return undefined;
      bodyTag = bodyTags.propose;
      fields = [m.context, 0];
      entriesAt = 1;
      writeOne = writeProposed;
      break;
    case "proposeResponse": {
      const refused = refusalToWire.get(m.refused);
      if (refused === undefined) return undefined;
      bodyTag = bodyTags.proposeResponse;
      fields = [m.context, m.index, m.accepted, refused, m.maxEntrySize];
      break;
    }
    case "appendResponse":
      if (typeof m.success !== "boolean") return undefined;
      bodyTag = bodyTags.appendResponse;
      fields = [m.success ? 1 : 0, m.index, m.hintIndex, m.hintTerm];
      break;
    case "heartbeat":
      bodyTag = bodyTags.heartbeat;
      fields = [m.commit, m.context];
      break;
    case "heartbeatResponse":
      bodyTag = bodyTags.heartbeatResponse;
      fields = [m.context];
      break;
  }
  let bodySize = 0;
  for (const value of fields) {
    if (!isU64(value)) return undefined;
    bodySize += varintField(value);
  }
  for (const e of entries ?? []) bodySize += framedSize(e.size);

  const size =
    framedSize(fromLength) +
    framedSize(toLength) +
    varintField(term) +
    varintSize(bodyTag) +
    varintSize(bodySize) +
    bodySize;
  // Every byte is written below.
  const out = sendBytes(size);
  let at = 0;
  out[at++] = fromTag;
  at = writeVarint(out, at, fromLength);
  at = writeAscii(out, at, m.from);
  out[at++] = toTag;
  at = writeVarint(out, at, toLength);
  at = writeAscii(out, at, m.to);
  if (term !== 0) {
    out[at++] = termTag;
    at = writeVarint(out, at, term);
  }
  at = writeVarint(out, at, bodyTag);
  at = writeVarint(out, at, bodySize);
  for (let f = 0; f < fields.length; f++) {
    if (f === entriesAt && entries !== undefined) {
      for (const e of entries) at = writeOne(out, at, e);
      continue;
    }
    at = writeVarintField(out, at, varintTags[f] as number, fields[f] as number);
  }
  if (at !== size) throw new Error(`unreachable: wrote ${at} of ${size} bytes`);
  return out;
}

function writeAscii(out: Uint8Array, offset: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i);
  return offset + text.length;
}

function writeProposed(out: Uint8Array, offset: number, e: CheckedEntry): number {
  let at = offset;
  out[at++] = proposedTag;
  at = writeVarint(out, at, e.size);
  at = writeVarintField(out, at, proposedTypeTag, e.type);
  at = writeBytesField(out, at, proposedDataTag, e.data);
  return writeFixed32Field(out, at, proposedChecksumTag, e.checksum);
}

function writeEntry(out: Uint8Array, offset: number, e: CheckedEntry): number {
  let at = offset;
  out[at++] = entriesTag;
  at = writeVarint(out, at, e.size);
  at = writeVarintField(out, at, varintTags[0] as number, e.index);
  at = writeVarintField(out, at, varintTags[1] as number, e.term);
  at = writeVarintField(out, at, varintTags[2] as number, e.type);
  at = writeBytesField(out, at, dataTag, e.data);
  return writeFixed32Field(out, at, checksumTag, e.checksum);
}

// Field writers: each leaves out a default value (0, empty), as protobuf-es does.

function writeVarintField(out: Uint8Array, offset: number, tag: number, value: number): number {
  if (value === 0) return offset;
  out[offset] = tag;
  return writeVarint(out, offset + 1, value);
}

function writeBytesField(out: Uint8Array, offset: number, tag: number, data: Uint8Array): number {
  if (data.length === 0) return offset;
  out[offset] = tag;
  const at = writeVarint(out, offset + 1, data.length);
  out.set(data, at);
  return at + data.length;
}

function writeFixed32Field(out: Uint8Array, offset: number, tag: number, value: number): number {
  if (value === 0) return offset;
  out[offset] = tag;
  out[offset + 1] = value & 0xff;
  out[offset + 2] = (value >>> 8) & 0xff;
  out[offset + 3] = (value >>> 16) & 0xff;
  out[offset + 4] = value >>> 24;
  return offset + 5;
}
