import type { Entry, EntryType, NodeId, SnapshotMeta } from "./log-types.js";

// The messages nodes exchange. Every message is plain data (numbers for terms and indexes,
// strings for node ids, Uint8Array for payloads, no classes and no functions), so that a
// transport can encode it in any format, and the simulation can copy, delay, duplicate and
// corrupt it. A receiver trusts nothing: `validateMessage` checks every field before the core
// looks at it.

/** Fields every message carries. `term` is the sender's current term when it sent the message. */
interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** Leader → follower: entries after (prevIndex, prevTerm), and the leader's commit index. */
export interface AppendMessage extends Envelope {
  readonly type: "append";
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * Follower → leader. On success, `index` is the last index known to match the leader's log and
 * is durable on the follower. On rejection, `index` is the rejected `prevIndex` and the hint
 * (`hintIndex`, `hintTerm`) is the follower's last entry at or below it whose term is at most
 * the leader's `prevTerm`, so the leader can skip a whole conflicting term at once.
 */
export interface AppendResponseMessage extends Envelope {
  readonly type: "appendResponse";
  readonly success: boolean;
  readonly index: number;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/**
 * Leader → follower: "I am still the leader". `commit` is never above what the follower is
 * known to hold. `context` is nonzero when the heartbeat confirms pending ReadIndex requests.
 */
export interface HeartbeatMessage extends Envelope {
  readonly type: "heartbeat";
  readonly commit: number;
  readonly context: number;
}

export interface HeartbeatResponseMessage extends Envelope {
  readonly type: "heartbeatResponse";
  readonly context: number;
}

/**
 * Candidate → voter. A pre-vote (`preVote`) asks whether the voter would vote, without changing
 * any term; `term` is then the term the candidate would campaign in. `transfer` marks a
 * campaign started by leadership transfer, which voters honour even while they still hear from
 * a live leader.
 */
export interface VoteMessage extends Envelope {
  readonly type: "vote";
  readonly preVote: boolean;
  readonly transfer: boolean;
  readonly lastIndex: number;
  readonly lastTerm: number;
}

export interface VoteResponseMessage extends Envelope {
  readonly type: "voteResponse";
  readonly preVote: boolean;
  readonly granted: boolean;
}

/** Leader → transfer target: campaign now (leadership transfer). */
export interface TimeoutNowMessage extends Envelope {
  readonly type: "timeoutNow";
}

/** Follower → leader: confirm leadership and tell me your commit index (linearizable read). */
export interface ReadIndexMessage extends Envelope {
  readonly type: "readIndex";
  /** Chosen by the follower; echoed in the response. */
  readonly context: number;
}

/** Leader → follower: the read index for `context`, or `success: false` if not leader. */
export interface ReadIndexResponseMessage extends Envelope {
  readonly type: "readIndexResponse";
  readonly context: number;
  readonly index: number;
  readonly success: boolean;
}

/**
 * One entry a follower asks the leader to append: its type (always Normal), opaque data, and
 * the CRC32C of the data, so that the leader never appends (and checksums anew) damaged bytes.
 */
export interface ProposedEntry {
  readonly type: EntryType;
  readonly data: Uint8Array;
  readonly checksum: number;
}

/**
 * Follower → leader: append these entries for me (a proposal made on a follower, as etcd's
 * MsgProp). The leader answers with a ProposeResponse carrying the same `context`.
 */
export interface ProposeMessage extends Envelope {
  readonly type: "propose";
  /** Chosen by the follower; echoed in the response. */
  readonly context: number;
  readonly entries: readonly ProposedEntry[];
}

/**
 * Leader → follower: the first `accepted` entries of the proposal `context` were appended at
 * indexes `index`, `index + 1`, … in the message's term; the rest were refused for `refused`
 * (empty when all were accepted; "too-large" refuses the whole proposal). The proposer learns the outcome by applying those indexes: an
 * entry applied there with this term is its own, any other term means it was lost.
 */
export interface ProposeResponseMessage extends Envelope {
  readonly type: "proposeResponse";
  readonly context: number;
  readonly index: number;
  readonly accepted: number;
  readonly refused: ProposalRefusal | "";
  /** The leader's maximum entry size when `refused` is "too-large", else 0. */
  readonly maxEntrySize: number;
}

/** Why a leader appended fewer entries than it was asked to. */
export type ProposalRefusal =
  | "not-leader"
  | "uncommitted-limit"
  | "leadership-transfer"
  | "restore"
  | "too-large";

/**
 * Leader → follower: one chunk of a snapshot. `offset` is where `data` starts in the snapshot's
 * bytes, `size` the snapshot's total size, `checksum` the CRC32C of `data`, and `last` marks the
 * final chunk. Chunks are idempotent: the receiver writes a chunk only at its current offset
 * and otherwise answers with the offset it expects, so the sender resumes from there.
 */
export interface SnapshotChunkMessage extends Envelope {
  readonly type: "snapshotChunk";
  readonly snapshot: SnapshotMeta;
  readonly offset: number;
  readonly size: number;
  readonly data: Uint8Array;
  readonly checksum: number;
  readonly last: boolean;
}

/**
 * What the receiver of a snapshot is doing with it:
 * - "receiving": send the chunk at `nextOffset` next (also the answer to an unexpected offset);
 * - "installing": every byte is durable, the state machine is being restored (may take long;
 *   the sender waits and never restarts a transfer in this state);
 * - "installed": done, or not needed because the receiver already has that much of the log;
 * - "rejected": the receiver will not take this snapshot (e.g. it is no longer a follower of
 *   the sender); the sender gives up and lets replication decide again.
 */
export type SnapshotTransferStatus = "receiving" | "installing" | "installed" | "rejected";

export interface SnapshotChunkResponseMessage extends Envelope {
  readonly type: "snapshotChunkResponse";
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly nextOffset: number;
  readonly status: SnapshotTransferStatus;
}

/** Every message of the protocol, discriminated by `type`. */
export type Message =
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | TimeoutNowMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage
  | ProposeMessage
  | ProposeResponseMessage
  | SnapshotChunkMessage
  | SnapshotChunkResponseMessage;

export type MessageType = Message["type"];

/** Messages a transport may route on a separate stream, so heartbeats never queue behind them. */
export function isBulkMessage(message: Message): boolean {
  return message.type === "snapshotChunk";
}
