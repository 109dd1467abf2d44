import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type RaftMessage, RaftMessageSchema } from "@raftstore/proto/raft/v1";
import type { Entry, Message, ProposedEntry, SnapshotMeta } from "@raftstore/raft";
import { MessageEncodeError } from "./errors.js";
import { entryTypeToWire, refusalToWire, statusToWire } from "./wire-enums.js";

// Engine message → raftstore.raft.v1.RaftMessage. Every field is checked before it is
// converted: encoding must never turn a bad number into a silently different one (BigInt(1.5)
// throws, BigInt(2 ** 60) is not what the engine meant, a negative term has no uint64).

// ---------------------------------------------------------------------------------------------

function u64(value: unknown, field: string): bigint {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new MessageEncodeError(
      field,
      `expected an integer in [0, 2^53 - 1], found ${String(value)}`,
    );
  }
  return BigInt(value);
}

function u32(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new MessageEncodeError(field, `expected a 32-bit checksum, found ${String(value)}`);
  }
  return value;
}

function bytes(value: unknown, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new MessageEncodeError(field, `expected a Uint8Array, found ${typeof value}`);
  }
  return value;
}

function boolean(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") {
    throw new MessageEncodeError(field, `expected a boolean, found ${typeof value}`);
  }
  return value;
}

/** The entries of an append, if they are an array; throws MessageEncodeError otherwise. */
function entryList(value: unknown): readonly Entry[] {
  if (!Array.isArray(value)) {
    throw new MessageEncodeError("entries", `expected an array, found ${typeof value}`);
  }
  return value;
}

/** The entries of a proposal, if they are an array; throws MessageEncodeError otherwise. */
function proposedList(value: unknown): readonly ProposedEntry[] {
  if (!Array.isArray(value)) {
    throw new MessageEncodeError("entries", `expected an array, found ${typeof value}`);
  }
  return value;
}

function id(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new MessageEncodeError(field, `expected a node id, found ${JSON.stringify(value)}`);
  }
  return value;
}

function encodeEntry(entry: Entry, field: string) {
  const type = entryTypeToWire.get(entry.type);
  if (type === undefined) {
    throw new MessageEncodeError(`${field}.type`, `expected an EntryType, found ${entry.type}`);
  }
  return {
    index: u64(entry.index, `${field}.index`),
    term: u64(entry.term, `${field}.term`),
    type,
    data: bytes(entry.data, `${field}.data`),
    checksum: u32(entry.checksum, `${field}.checksum`),
  };
}

function encodeSnapshotMeta(meta: SnapshotMeta) {
  const config = meta.config;
  return {
    index: u64(meta.index, "snapshot.index"),
    term: u64(meta.term, "snapshot.term"),
    config: {
      voters: config.voters.map((v, i) => id(v, `snapshot.config.voters[${i}]`)),
      learners: config.learners.map((v, i) => id(v, `snapshot.config.learners[${i}]`)),
    },
  };
}

type BodyInit = MessageInitShape<typeof RaftMessageSchema>["body"];

function encodeBody(m: Message): BodyInit {
  switch (m.type) {
    case "append":
      return {
        case: "append",
        value: {
          prevIndex: u64(m.prevIndex, "prevIndex"),
          prevTerm: u64(m.prevTerm, "prevTerm"),
          entries: entryList(m.entries).map((e, i) => encodeEntry(e, `entries[${i}]`)),
          commit: u64(m.commit, "commit"),
        },
      };
    case "appendResponse":
      return {
        case: "appendResponse",
        value: {
          success: boolean(m.success, "success"),
          index: u64(m.index, "index"),
          hintIndex: u64(m.hintIndex, "hintIndex"),
          hintTerm: u64(m.hintTerm, "hintTerm"),
        },
      };
    case "heartbeat":
      return {
        case: "heartbeat",
        value: { commit: u64(m.commit, "commit"), context: u64(m.context, "context") },
      };
    case "heartbeatResponse":
      return { case: "heartbeatResponse", value: { context: u64(m.context, "context") } };
    case "vote":
      return {
        case: "vote",
        value: {
          preVote: boolean(m.preVote, "preVote"),
          transfer: boolean(m.transfer, "transfer"),
          lastIndex: u64(m.lastIndex, "lastIndex"),
          lastTerm: u64(m.lastTerm, "lastTerm"),
        },
      };
    case "voteResponse":
      return {
        case: "voteResponse",
        value: { preVote: boolean(m.preVote, "preVote"), granted: boolean(m.granted, "granted") },
      };
    case "timeoutNow":
      return { case: "timeoutNow", value: {} };
    case "readIndex":
      return { case: "readIndex", value: { context: u64(m.context, "context") } };
    case "readIndexResponse":
      return {
        case: "readIndexResponse",
        value: {
          context: u64(m.context, "context"),
          index: u64(m.index, "index"),
          success: boolean(m.success, "success"),
        },
      };
    case "propose":
      return {
        case: "propose",
        value: {
          context: u64(m.context, "context"),
          entries: proposedList(m.entries).map((e, i) => {
            const field = `entries[${i}]`;
            const type = entryTypeToWire.get(e.type);
            if (type === undefined) {
              throw new MessageEncodeError(
                `${field}.type`,
                `expected an EntryType, found ${e.type}`,
              );
            }
            return {
              type,
              data: bytes(e.data, `${field}.data`),
              checksum: u32(e.checksum, `${field}.checksum`),
            };
          }),
        },
      };
    case "proposeResponse": {
      const refused = refusalToWire.get(m.refused);
      if (refused === undefined) {
        throw new MessageEncodeError(
          "refused",
          `expected a refusal, found ${JSON.stringify(m.refused)}`,
        );
      }
      return {
        case: "proposeResponse",
        value: {
          context: u64(m.context, "context"),
          index: u64(m.index, "index"),
          accepted: u64(m.accepted, "accepted"),
          refused,
          maxEntrySize: u64(m.maxEntrySize, "maxEntrySize"),
        },
      };
    }
    case "snapshotChunk":
      return {
        case: "snapshotChunk",
        value: {
          snapshot: encodeSnapshotMeta(m.snapshot),
          offset: u64(m.offset, "offset"),
          size: u64(m.size, "size"),
          data: bytes(m.data, "data"),
          checksum: u32(m.checksum, "checksum"),
          last: boolean(m.last, "last"),
        },
      };
    case "snapshotChunkResponse": {
      const status = statusToWire.get(m.status);
      if (status === undefined) {
        throw new MessageEncodeError("status", `expected a transfer status, found ${m.status}`);
      }
      return {
        case: "snapshotChunkResponse",
        value: {
          snapshotIndex: u64(m.snapshotIndex, "snapshotIndex"),
          snapshotTerm: u64(m.snapshotTerm, "snapshotTerm"),
          nextOffset: u64(m.nextOffset, "nextOffset"),
          status,
        },
      };
    }
    default:
      throw new MessageEncodeError(
        "type",
        `expected a message type, found ${JSON.stringify((m as { type?: unknown }).type)}`,
      );
  }
}

/**
 * The protobuf form of an engine message. Throws MessageEncodeError when a field cannot be put
 * on the wire as is (a number that is negative, fractional or above 2^53 - 1, an unknown type).
 * The result shares the message's byte arrays (entry and chunk data); neither may change until
 * it is serialized.
 */
export function encodeMessage(message: Message): RaftMessage {
  return create(RaftMessageSchema, {
    from: id(message.from, "from"),
    to: id(message.to, "to"),
    term: u64(message.term, "term"),
    body: encodeBody(message),
  });
}
