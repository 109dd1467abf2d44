import type { Transport } from "@connectrpc/connect";
import type { CallOptions } from "@raftstore/storage";

/**
 * The Backend's only view of the consensus engine. The server supplies it; tests supply fakes.
 * Keeping the engine behind this interface is what lets another engine drive the Backend and
 * lets the Backend be tested without one.
 */
export interface Handle {
  /**
   * Proposes a log entry and resolves with what `Backend.apply` returned for it on this node,
   * once it is committed and applied here. Rejects with an InconsistentError (from
   * @raftstore/storage) when this node cannot commit it: not the leader, leadership lost before
   * the entry committed (its fate is then unknown), no quorum, shutting down.
   */
  apply(msg: Uint8Array, options?: CallOptions): Promise<unknown>;
  /** Whether this node believes it is the leader right now. */
  isLeader(): boolean;
  /**
   * Whether this node serves writes and strong reads itself right now: the leader always; a
   * follower when its engine carries proposals and read confirmations to the leader (as etcd's
   * followers do). The Backend then proposes writes and deletes through `apply` and confirms
   * strong reads with `ensureStrongConsistency` here, answering from this node's own store;
   * otherwise a follower forwards them to the leader's ForwardingService. Absent: `isLeader()`.
   */
  servesLocally?(): boolean;
  /**
   * Resolves once a linearizable read is safe on this node: leadership confirmed by a quorum
   * after the read began, and the local store caught up to that point. Rejects otherwise.
   */
  ensureStrongConsistency(options?: CallOptions): Promise<void>;
  /**
   * A Connect transport to the current leader's forwarding service. Throws (ideally an
   * InconsistentError) when no leader is known. The Backend caches it until `leaderChanged()`.
   */
  dialLeader(): Transport;
}
