import type { PeerStatus } from "../core/raft.js";
import type { NodeState } from "../core/ready.js";
import type { NodeId, SnapshotMeta } from "../log-types.js";
import type { CallOptions } from "./call-guard.js";
import type { RaftEventListener } from "./events.js";

/** A snapshot of a node's replication state. */
export interface RaftStats {
  readonly id: NodeId;
  readonly state: NodeState;
  readonly term: number;
  readonly leader: NodeId | undefined;
  readonly commitIndex: number;
  /** The last index the state machine applied. */
  readonly appliedIndex: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** The bytes of data of the entries from firstIndex to lastIndex, all held in memory. */
  readonly logBytes: number;
  /** The last index durable in the log store. */
  readonly persistedIndex: number;
  /** The index of the newest stored snapshot (0 for none). */
  readonly snapshotIndex: number;
  readonly uncommittedBytes: number;
  readonly pendingProposals: number;
  readonly pendingReads: number;
  readonly snapshotTransfers: number;
  /** Whether this leader is restoring a snapshot onto the cluster (proposals are refused). */
  readonly restoreInProgress: boolean;
  /** How long the oldest unfinished log or stable store write has been running (0: none). */
  readonly oldestWriteMs: number;
  /** Disk stalls noticed since the node started (writes unfinished for diskStallTicks). */
  readonly diskStalls: number;
  /** The leader's view of each follower; empty on a follower. */
  readonly peers: Readonly<Record<NodeId, PeerStatus>>;
}

/** A member of a Raft cluster, in the shape of hashicorp/raft's API. */
export interface RaftNode {
  readonly id: NodeId;
  /** The leader this node knows of (itself when leader). */
  readonly leader: NodeId | undefined;
  readonly term: number;
  readonly state: NodeState;
  /** Recovers the stores, restores the state machine, and joins the cluster. */
  start(): Promise<void>;
  /**
   * Proposes `data` (leader only). Resolves with the state machine's result once the entry is
   * committed and applied on this node. Rejects with NotLeaderError (with the leader's id),
   * ProposalTooLargeError, ProposalDroppedError (backpressure, transfer), LeadershipLostError
   * (outcome unknown), TimeoutError (outcome unknown), or ShutdownError.
   */
  apply(data: Uint8Array, options?: CallOptions): Promise<unknown>;
  /** Resolves once every entry proposed before it is applied (leader only). */
  barrier(options?: CallOptions): Promise<void>;
  /** Resolves once a quorum confirms this node is still the leader. */
  verifyLeader(options?: CallOptions): Promise<void>;
  /**
   * A linearizable read point: resolves with an index once the state machine of this node has
   * applied at least that far, and a quorum confirmed the leader's commit index after the call.
   * State read from the local state machine afterwards is linearizable. Works on followers (the
   * leader is asked).
   */
  readIndex(options?: CallOptions): Promise<number>;
  /** Hands leadership to `to` (or the most up-to-date follower); resolves with the new leader. */
  transferLeadership(to?: NodeId): Promise<NodeId>;
  /** Takes a snapshot of the applied state now and compacts the log; resolves with its metadata. */
  snapshot(): Promise<SnapshotMeta>;
  /**
   * Replaces the state of every member with `contents` (leader only): the bytes of a state
   * machine snapshot, as its `snapshot()` produces them and its `restore()` consumes them.
   * Resolves with the log index at which the restore took effect, once it is committed
   * (durable on a quorum) and applied here; every member's state machine restores the same
   * bytes when it applies that index, and entries after it apply on top. Other proposals are
   * refused with ProposalDroppedError (reason "restore") while it runs.
   *
   * Rejects with NotLeaderError (nothing was restored), RestoreInProgressError (another restore
   * runs on this leader), RestoreRejectedError (every state machine refused the contents; the
   * state is unchanged), ProposalDroppedError (a leadership transfer began; nothing was
   * restored), LeadershipLostError or TimeoutError (the outcome is unknown: it may still take
   * effect), ShutdownError, or the error `contents` threw while being read.
   */
  restore(contents: AsyncIterable<Uint8Array>, options?: CallOptions): Promise<number>;
  stats(): RaftStats;
  /** Subscribes to events; returns the unsubscribe function. */
  observe(listener: RaftEventListener): () => void;
  /**
   * Stops the node: pending calls reject with ShutdownError, in-flight writes finish, the
   * transport is closed. The stores are left open (the caller owns them). With
   * `transferLeadership`, a leader first hands over leadership (best effort, bounded).
   */
  shutdown(options?: { readonly transferLeadership?: boolean }): Promise<void>;
}
