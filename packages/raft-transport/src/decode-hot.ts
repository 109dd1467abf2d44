import type { Entry, Message, ProposedEntry } from "@raftstore/raft";
import {
  bodyTags,
  checksumTag,
  dataTag,
  entriesTag,
  fromTag,
  proposedChecksumTag,
  proposedDataTag,
  proposedTag,
  proposedTypeTag,
  termTag,
  toTag,
  varintTags,
} from "./serialize-hot.js";
import { entryTypeFromWire, refusalFromWire } from "./wire-enums.js";
import { maxNodeIdLength } from "./wire-format.js";

// The receiving side of serialize-hot.ts: reads Append, AppendResponse, Heartbeat,
// HeartbeatResponse, Propose and ProposeResponse in exactly the form serializeHot writes (fields in number order, defaults
// left out, ASCII node ids) without protobuf-es. Anything else — another message type, fields
// out of order or repeated, an unknown field, a number above 2^53 - 1, a non-ASCII id, a
// truncated or otherwise malformed message — returns undefined, and the caller decodes the
// bytes with protobuf-es, which gives the message or the precise error. So the result for any
// input is the one decodeMessageBytes would give (the tests check that on mutated bytes).

/** The longest node id accepted (as in decode-message.ts). */

/** A cursor over the bytes; every read returns -1 when the bytes do not fit the form. */
class Reader {
  at = 0;
  /** A copy of the bytes, made once for all of a message's entry data. */
  owned: Uint8Array | undefined;
  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.at === this.bytes.length;
  }

  /**
   * The next byte, or -1 at `end` (the end of the message, or of the nested message being
   * read: a field must never be taken from the message after it).
   */
  peek(end = this.bytes.length): number {
    return this.at < end ? (this.bytes[this.at] as number) : -1;
  }

  /** A varint of at most 2^53 - 1, or -1. */
  varint(): number {
    const bytes = this.bytes;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.at >= bytes.length) return -1;
      const b = bytes[this.at++] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value <= Number.MAX_SAFE_INTEGER ? value : -1;
      scale *= 0x80;
    }
    return -1;
  }

  /** The varint of field `tag` if it is next, 0 if it is not (a default left out), or -1. */
  optionalVarint(tag: number, end?: number): number {
    if (this.peek(end) !== tag) return 0;
    this.at++;
    const value = this.varint();
    // A default written out is not the canonical form.
    return value === 0 ? -1 : value;
  }

  /** The end of a length-delimited field whose tag was just read, or -1. */
  delimitedEnd(limit: number): number {
    const length = this.varint();
    if (length < 0 || this.at + length > limit) return -1;
    return this.at + length;
  }

  /**
   * The bytes of field `tag` if it is next (ending by `end`), empty if it is not (a default left
   * out), or undefined. Entries outlive the received chunk, which they must not pin: the data
   * is a view of one copy of this message's bytes (one allocation for all its entries).
   */
  data(tag: number, end: number): Uint8Array | undefined {
    if (this.peek(end) !== tag) return new Uint8Array(0);
    this.at++;
    const dataEnd = this.delimitedEnd(end);
    // An empty value written out is not the canonical form.
    if (dataEnd < 0 || dataEnd === this.at) return undefined;
    this.owned ??= this.bytes.slice();
    const data = this.owned.subarray(this.at, dataEnd);
    this.at = dataEnd;
    return data;
  }

  /** The fixed32 of field `tag` if it is next (ending by `end`), 0 if it is not, or -1. */
  fixed32(tag: number, end: number): number {
    if (this.peek(end) !== tag) return 0;
    this.at++;
    if (this.at + 4 > end) return -1;
    const b = this.bytes;
    const at = this.at;
    const value =
      ((b[at] as number) |
        ((b[at + 1] as number) << 8) |
        ((b[at + 2] as number) << 16) |
        ((b[at + 3] as number) << 24)) >>>
      0;
    this.at += 4;
    // A default written out is not the canonical form.
    return value === 0 ? -1 : value;
  }

  /** An ASCII node id of field `tag`, or undefined. */
  id(tag: number): string | undefined {
    if (this.peek() !== tag) return undefined;
    this.at++;
    const end = this.delimitedEnd(this.bytes.length);
    if (end < 0 || end === this.at || end - this.at > maxNodeIdLength) return undefined;
    let id = "";
    for (let i = this.at; i < end; i++) {
      const b = this.bytes[i] as number;
      if (b >= 0x80) return undefined;
      id += String.fromCharCode(b);
    }
    this.at = end;
    return id;
  }
}

/** The hot message in `bytes`, or undefined if they are not in serializeHot's form. */
export function decodeHot(bytes: Uint8Array): Message | undefined {
  const r = new Reader(bytes);
  const from = r.id(fromTag);
  if (from === undefined) return undefined;
  const to = r.id(toTag);
  if (to === undefined) return undefined;
  const term = r.optionalVarint(termTag);
  if (term < 0) return undefined;
  const bodyTag = r.varint();
  if (bodyTag < 0) return undefined;
  const end = r.delimitedEnd(bytes.length);
  if (end !== bytes.length) return undefined;
  const envelope = { from, to, term };
  let message: Message;
  switch (bodyTag) {
    case bodyTags.append: {
      const prevIndex = r.optionalVarint(varintTags[0] as number);
      const prevTerm = r.optionalVarint(varintTags[1] as number);
      if (prevIndex < 0 || prevTerm < 0) return undefined;
      const entries: Entry[] = [];
      while (r.peek() === entriesTag) {
        r.at++;
        const entry = readEntry(r);
        if (entry === undefined) return undefined;
        entries.push(entry);
      }
      const commit = r.optionalVarint(varintTags[3] as number);
      if (commit < 0) return undefined;
      message = { type: "append", ...envelope, prevIndex, prevTerm, entries, commit };
      break;
    }
    case bodyTags.appendResponse: {
      const success = r.optionalVarint(varintTags[0] as number);
      const index = r.optionalVarint(varintTags[1] as number);
      const hintIndex = r.optionalVarint(varintTags[2] as number);
      const hintTerm = r.optionalVarint(varintTags[3] as number);
      if (success < 0 || success > 1 || index < 0 || hintIndex < 0 || hintTerm < 0) {
        return undefined;
      }
      message = {
        type: "appendResponse",
        ...envelope,
        success: success === 1,
        index,
        hintIndex,
        hintTerm,
      };
      break;
    }
    case bodyTags.heartbeat: {
      const commit = r.optionalVarint(varintTags[0] as number);
      const context = r.optionalVarint(varintTags[1] as number);
      if (commit < 0 || context < 0) return undefined;
      message = { type: "heartbeat", ...envelope, commit, context };
      break;
    }
    case bodyTags.heartbeatResponse: {
      const context = r.optionalVarint(varintTags[0] as number);
      if (context < 0) return undefined;
      message = { type: "heartbeatResponse", ...envelope, context };
      break;
    }
    case bodyTags.propose: {
      const context = r.optionalVarint(varintTags[0] as number);
      if (context < 0) return undefined;
      const entries: ProposedEntry[] = [];
      while (r.peek() === proposedTag) {
        r.at++;
        const entry = readProposed(r);
        if (entry === undefined) return undefined;
        entries.push(entry);
      }
      message = { type: "propose", ...envelope, context, entries };
      break;
    }
    case bodyTags.proposeResponse: {
      const context = r.optionalVarint(varintTags[0] as number);
      const index = r.optionalVarint(varintTags[1] as number);
      const accepted = r.optionalVarint(varintTags[2] as number);
      const refusedWire = r.optionalVarint(varintTags[3] as number);
      const maxEntrySize = r.optionalVarint(varintTags[4] as number);
      if (context < 0 || index < 0 || accepted < 0 || refusedWire < 0 || maxEntrySize < 0) {
        return undefined;
      }
      const refused = refusalFromWire.get(refusedWire);
      if (refused === undefined) return undefined;
      message = {
        type: "proposeResponse",
        ...envelope,
        context,
        index,
        accepted,
        refused,
        maxEntrySize,
      };
      break;
    }
    default:
      return undefined;
  }
  return r.done ? message : undefined;
}

function readProposed(r: Reader): ProposedEntry | undefined {
  const end = r.delimitedEnd(r.bytes.length);
  if (end < 0) return undefined;
  const type = entryTypeFromWire.get(r.optionalVarint(proposedTypeTag, end));
  if (type === undefined) return undefined;
  const data = r.data(proposedDataTag, end);
  if (data === undefined) return undefined;
  const checksum = r.fixed32(proposedChecksumTag, end);
  if (checksum < 0 || r.at !== end) return undefined;
  return { type, data, checksum };
}

function readEntry(r: Reader): Entry | undefined {
  const end = r.delimitedEnd(r.bytes.length);
  if (end < 0) return undefined;
  const index = r.optionalVarint(varintTags[0] as number, end);
  const term = r.optionalVarint(varintTags[1] as number, end);
  const wireType = r.optionalVarint(varintTags[2] as number, end);
  if (index < 0 || term < 0 || wireType < 0) return undefined;
  const type = entryTypeFromWire.get(wireType);
  if (type === undefined) return undefined;
  const data = r.data(dataTag, end);
  if (data === undefined) return undefined;
  const checksum = r.fixed32(checksumTag, end);
  if (checksum < 0) return undefined;
  if (r.at !== end) return undefined;
  return { index, term, type, data, checksum };
}
