// The data the engine replicates and persists. The engine treats entry data as opaque bytes.

/** A node's identity in the cluster. Never reused for a different data directory. */
export type NodeId = string;

/** What an entry carries. */
export enum EntryType {
  /** Application data, handed to the FSM when committed. */
  Normal = 0,
  /** The empty entry a new leader appends at the start of its term. Never reaches the FSM. */
  NoOp = 1,
  /** A cluster configuration (`encodeConfig`). Part of the log like any other entry. */
  Config = 2,
  /**
   * Part of a user snapshot restored onto the cluster (`RaftNode.restore`): a chunk of its
   * contents, or the commit that replaces the state machine's state with them. Never reaches the
   * FSM's `apply`; the commit calls its `restore`.
   */
  Restore = 3,
}

/**
 * One entry of the replicated log.
 *
 * `checksum` is the CRC32C of (index, term, type, data) computed by the leader that created the
 * entry (`entryChecksum`). It travels with the entry through replication, the log store and
 * back, and is verified before the entry is applied: a flipped bit anywhere on the way is
 * detected, not applied.
 */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
  readonly checksum: number;
}

/** The state a node must remember across crashes before it answers anyone. */
export interface HardState {
  /** The latest term this node has seen. */
  readonly term: number;
  /** The candidate this node voted for in `term`, or "" for none. */
  readonly vote: NodeId;
}

/** The voting membership of the cluster. */
export interface ClusterConfig {
  readonly voters: readonly NodeId[];
  /** Non-voting members that receive the log (reserved for membership changes). */
  readonly learners: readonly NodeId[];
}

/** What identifies a snapshot: the last entry it covers and the configuration at that point. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly config: ClusterConfig;
}
