import { fromBinary } from "@bufbuild/protobuf";
import {
  type ClusterConfig as ClusterConfigProto,
  type Entry as EntryProto,
  type RaftMessage,
  RaftMessageSchema,
  type SnapshotMeta as SnapshotMetaProto,
} from "@raftstore/proto/raft/v1";
import type { ClusterConfig, Entry, Message, NodeId, SnapshotMeta } from "@raftstore/raft";
import { decodeHot } from "./decode-hot.js";
import { MessageDecodeError } from "./errors.js";
import { entryTypeFromWire, refusalFromWire, statusFromWire } from "./wire-enums.js";
import { maxNodeIdLength } from "./wire-format.js";

// raftstore.raft.v1.RaftMessage → engine message. Whatever a peer (or a flipped bit) sent is
// checked for shape: every field present, in range (uint64 values up to 2^53 - 1, the engine's
// integers), of a known kind. The protocol itself (contiguous entries, checksums) is the
// engine's to check: it validates every message it receives before use, and checking here too
// would cost a second CRC over every entry.
//
// Buffers: entry data is copied out of the request buffer, because the engine keeps entries
// (in its log) long after the request is gone, and a view would pin the whole request in
// memory. Snapshot chunk data stays a view: it is written out at once and the chunk is most of
// its request anyway.

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);

/** The longest node id accepted, as in the engine's own validation. */

// ---------------------------------------------------------------------------------------------

function num(value: bigint, field: string): number {
  if (value > maxSafe) {
    throw new MessageDecodeError(field, `expected at most 2^53 - 1, found ${value}`);
  }
  return Number(value);
}

function nodeId(value: string, field: string): NodeId {
  if (value.length === 0 || value.length > maxNodeIdLength) {
    throw new MessageDecodeError(
      field,
      `expected a node id of 1 to ${maxNodeIdLength} characters, found ${value.length} characters`,
    );
  }
  return value;
}

function decodeEntry(entry: EntryProto, field: string): Entry {
  const type = entryTypeFromWire.get(entry.type);
  if (type === undefined) {
    throw new MessageDecodeError(
      `${field}.type`,
      `expected a known entry type, found ${entry.type}`,
    );
  }
  return {
    index: num(entry.index, `${field}.index`),
    term: num(entry.term, `${field}.term`),
    type,
    data: entry.data.slice(),
    checksum: entry.checksum,
  };
}

function decodeConfig(config: ClusterConfigProto | undefined): ClusterConfig {
  if (config === undefined) {
    throw new MessageDecodeError("snapshotChunk.snapshot.config", "expected a configuration");
  }
  return {
    voters: config.voters.map((v, i) => nodeId(v, `snapshotChunk.snapshot.config.voters[${i}]`)),
    learners: config.learners.map((v, i) =>
      nodeId(v, `snapshotChunk.snapshot.config.learners[${i}]`),
    ),
  };
}

function decodeSnapshotMeta(meta: SnapshotMetaProto | undefined): SnapshotMeta {
  if (meta === undefined) {
    throw new MessageDecodeError("snapshotChunk.snapshot", "expected the snapshot's metadata");
  }
  return {
    index: num(meta.index, "snapshotChunk.snapshot.index"),
    term: num(meta.term, "snapshotChunk.snapshot.term"),
    config: decodeConfig(meta.config),
  };
}

/**
 * The engine message a peer sent. Throws MessageDecodeError, naming the field, when a field is
 * missing, out of range (above 2^53 - 1) or of an unknown kind, or when no body is set (which is
 * also what a body added by a newer protocol version looks like).
 */
export function decodeMessage(proto: RaftMessage): Message {
  const from = nodeId(proto.from, "from");
  const to = nodeId(proto.to, "to");
  const term = num(proto.term, "term");
  const body = proto.body;
  switch (body.case) {
    case "append": {
      const a = body.value;
      return {
        type: "append",
        from,
        to,
        term,
        prevIndex: num(a.prevIndex, "append.prevIndex"),
        prevTerm: num(a.prevTerm, "append.prevTerm"),
        entries: a.entries.map((e, i) => decodeEntry(e, `append.entries[${i}]`)),
        commit: num(a.commit, "append.commit"),
      };
    }
    case "appendResponse": {
      const r = body.value;
      return {
        type: "appendResponse",
        from,
        to,
        term,
        success: r.success,
        index: num(r.index, "appendResponse.index"),
        hintIndex: num(r.hintIndex, "appendResponse.hintIndex"),
        hintTerm: num(r.hintTerm, "appendResponse.hintTerm"),
      };
    }
    case "heartbeat":
      return {
        type: "heartbeat",
        from,
        to,
        term,
        commit: num(body.value.commit, "heartbeat.commit"),
        context: num(body.value.context, "heartbeat.context"),
      };
    case "heartbeatResponse":
      return {
        type: "heartbeatResponse",
        from,
        to,
        term,
        context: num(body.value.context, "heartbeatResponse.context"),
      };
    case "vote": {
      const v = body.value;
      return {
        type: "vote",
        from,
        to,
        term,
        preVote: v.preVote,
        transfer: v.transfer,
        lastIndex: num(v.lastIndex, "vote.lastIndex"),
        lastTerm: num(v.lastTerm, "vote.lastTerm"),
      };
    }
    case "voteResponse":
      return {
        type: "voteResponse",
        from,
        to,
        term,
        preVote: body.value.preVote,
        granted: body.value.granted,
      };
    case "timeoutNow":
      return { type: "timeoutNow", from, to, term };
    case "readIndex":
      return {
        type: "readIndex",
        from,
        to,
        term,
        context: num(body.value.context, "readIndex.context"),
      };
    case "readIndexResponse": {
      const r = body.value;
      return {
        type: "readIndexResponse",
        from,
        to,
        term,
        context: num(r.context, "readIndexResponse.context"),
        index: num(r.index, "readIndexResponse.index"),
        success: r.success,
      };
    }
    case "propose":
      return {
        type: "propose",
        from,
        to,
        term,
        context: num(body.value.context, "propose.context"),
        entries: body.value.entries.map((e, i) => {
          const field = `propose.entries[${i}]`;
          const type = entryTypeFromWire.get(e.type);
          if (type === undefined) {
            throw new MessageDecodeError(
              `${field}.type`,
              `expected a known entry type, found ${e.type}`,
            );
          }
          // Copied, like an append's entries: the leader keeps them in its log.
          return { type, data: e.data.slice(), checksum: e.checksum };
        }),
      };
    case "proposeResponse": {
      const r = body.value;
      const refused = refusalFromWire.get(r.refused);
      if (refused === undefined) {
        throw new MessageDecodeError(
          "proposeResponse.refused",
          `expected a known refusal, found ${r.refused}`,
        );
      }
      return {
        type: "proposeResponse",
        from,
        to,
        term,
        context: num(r.context, "proposeResponse.context"),
        index: num(r.index, "proposeResponse.index"),
        accepted: num(r.accepted, "proposeResponse.accepted"),
        refused,
        maxEntrySize: num(r.maxEntrySize, "proposeResponse.maxEntrySize"),
      };
    }
    case "snapshotChunk": {
      const c = body.value;
      return {
        type: "snapshotChunk",
        from,
        to,
        term,
        snapshot: decodeSnapshotMeta(c.snapshot),
        offset: num(c.offset, "snapshotChunk.offset"),
        size: num(c.size, "snapshotChunk.size"),
        data: c.data,
        checksum: c.checksum,
        last: c.last,
      };
    }
    case "snapshotChunkResponse": {
      const r = body.value;
      const status = statusFromWire.get(r.status);
      if (status === undefined) {
        throw new MessageDecodeError(
          "snapshotChunkResponse.status",
          `expected a known transfer status, found ${r.status}`,
        );
      }
      return {
        type: "snapshotChunkResponse",
        from,
        to,
        term,
        snapshotIndex: num(r.snapshotIndex, "snapshotChunkResponse.snapshotIndex"),
        snapshotTerm: num(r.snapshotTerm, "snapshotChunkResponse.snapshotTerm"),
        nextOffset: num(r.nextOffset, "snapshotChunkResponse.nextOffset"),
        status,
      };
    }
    case undefined:
      throw new MessageDecodeError(
        "body",
        "expected a body (append, heartbeat, vote, …), found none; is the peer running a newer protocol version?",
      );
  }
}

/**
 * The engine message in the bytes of a serialized RaftMessage, as a peer sent them. Throws
 * MessageDecodeError when they do not parse (truncated, a bad wire type, a varint that never
 * ends) or do not decode (see `decodeMessage`); never anything else for bad input.
 */
export function decodeMessageBytes(bytes: Uint8Array): Message {
  // Nearly every message is an append, a heartbeat or an answer to one, in serializeHot's form.
  return decodeHot(bytes) ?? decodeMessageBytesReflective(bytes);
}

/** decodeMessageBytes through protobuf-es alone, for any RaftMessage and every error. */
export function decodeMessageBytesReflective(bytes: Uint8Array): Message {
  let proto: RaftMessage;
  try {
    proto = fromBinary(RaftMessageSchema, bytes);
  } catch (cause) {
    // fromBinary throws only for bytes that are not a valid encoding.
    throw new MessageDecodeError(
      "",
      `expected a serialized RaftMessage, found ${bytes.length} bytes that do not parse (${
        cause instanceof Error ? cause.message : String(cause)
      })`,
      { cause },
    );
  }
  return decodeMessage(proto);
}
