import type { Transport } from "@connectrpc/connect";
import { hasNoLeaderMark } from "@raftstore/forwarding";
import { type CallOptions, InconsistentError } from "@raftstore/storage";

/**
 * A Handle call that did nothing because no leader could take it right now: no leader is known
 * (an election is on), or the node it reached stopped leading before it appended or confirmed
 * anything. Nothing was appended, so the call may be made again: the Backend holds it until a
 * leader is known (`leaderHoldMs`) and makes it again. Any other InconsistentError may have
 * taken effect (a write whose leader changed after it was appended) and is never repeated.
 *
 * Its `name` stays "InconsistentError": every caller that only knows the storage contract
 * treats it as one.
 */
export class NoLeaderError extends InconsistentError {
  readonly noLeader = true;
}

/** Whether `error` is a NoLeaderError, by its mark (which survives duplicate package copies). */
export function isNoLeaderError(error: unknown): error is NoLeaderError {
  return error instanceof Error && hasNoLeaderMark(error);
}

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
   * the entry committed (its fate is then unknown), no quorum, shutting down; with a
   * NoLeaderError when it was not appended because no leader could take it.
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
   * after the read began, and the local store caught up to that point. Rejects otherwise (with
   * a NoLeaderError when no leader could confirm it: a read has no effect to repeat).
   */
  ensureStrongConsistency(options?: CallOptions): Promise<void>;
  /**
   * A Connect transport to the current leader's forwarding service. Throws (ideally a
   * NoLeaderError) when no leader is known. The Backend caches it until `leaderChanged()`.
   */
  dialLeader(): Transport;
  /**
   * Resolves with true once this node knows a leader (itself included), at once if it knows one
   * now; with false after `timeoutMs`, or as soon as `signal` aborts. Absent: the Backend never
   * holds a call that failed with NoLeaderError, it fails at once.
   */
  awaitLeader?(options: { timeoutMs: number; signal?: AbortSignal }): Promise<boolean>;
}
