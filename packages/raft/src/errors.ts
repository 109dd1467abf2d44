import type { NodeId } from "./log-types.js";

// Every error the engine hands to a caller has a stable `name`, and its guard checks that name
// rather than `instanceof`, so guards keep working across duplicate copies of this package.

/** The names of the engine's errors, one per failure a caller can act on. */
export type RaftErrorName =
  | "NotLeaderError"
  | "ProposalTooLargeError"
  | "ProposalDroppedError"
  | "LeadershipLostError"
  | "NotCommittedError"
  | "ShutdownError"
  | "TimeoutError"
  | "LeadershipTransferError"
  | "CorruptEntryError"
  | "InconsistentStateError"
  | "InvalidOptionsError"
  | "RestoreInProgressError"
  | "RestoreRejectedError";

function hasName(error: unknown, name: RaftErrorName): boolean {
  return error instanceof Error && error.name === name;
}

/**
 * This node is not the leader, so it cannot take a proposal (or serve a leader-only call).
 * `leader` is the leader this node knows of, if any: send the request there.
 */
export class NotLeaderError extends Error {
  override readonly name = "NotLeaderError";
  readonly leader: NodeId | undefined;
  constructor(leader: NodeId | undefined, options?: ErrorOptions) {
    super(
      leader === undefined
        ? "not the leader, and no leader is known (an election may be in progress)"
        : `not the leader; the leader is ${leader}`,
      options,
    );
    this.leader = leader;
  }
}

/** The proposal is larger than the configured maximum entry size. Never retry it as is. */
export class ProposalTooLargeError extends Error {
  override readonly name = "ProposalTooLargeError";
  readonly size: number;
  readonly maxSize: number;
  constructor(size: number, maxSize: number) {
    super(`proposal of ${size} bytes exceeds the maximum entry size of ${maxSize} bytes`);
    this.size = size;
    this.maxSize = maxSize;
  }
}

/** Why a leader refused a proposal it could otherwise take. */
export type DropReason = "uncommitted-limit" | "leadership-transfer" | "restore";

const dropAdvice: Record<DropReason, string> = {
  "uncommitted-limit": "retry once the cluster has caught up",
  "leadership-transfer": "retry on the new leader",
  restore: "retry once the restore is over (it replaces the state anyway)",
};

/**
 * The leader refused the proposal for now: too many bytes are proposed but not yet committed
 * (backpressure: slow followers or a slow disk), leadership is being transferred, or a snapshot
 * is being restored onto the cluster. The proposal was not appended; retry later (after a
 * transfer, on the new leader).
 */
export class ProposalDroppedError extends Error {
  override readonly name = "ProposalDroppedError";
  readonly reason: DropReason;
  constructor(reason: DropReason, detail: string) {
    super(`proposal dropped: ${detail}; ${dropAdvice[reason]}`);
    this.reason = reason;
  }
}

/**
 * The leader lost its leadership (its term ended) before the proposal or read completed. The
 * entry's fate is unknown: it may still be committed by the next leader, or be discarded. Read
 * before retrying anything that is not idempotent.
 */
export class LeadershipLostError extends Error {
  override readonly name = "LeadershipLostError";
  constructor(detail: string, options?: ErrorOptions) {
    super(`leadership lost: ${detail}; the outcome is unknown`, options);
  }
}

/**
 * The proposal was appended, but will never be committed: the leader's term ended, and the log
 * a newer leader committed has another entry where it was (or, for a proposal a follower
 * forwarded, this node applied an entry of a later term, so every entry of that term that will
 * ever be committed is applied here, and this proposal is not among them). It had no effect:
 * retry it, on the new leader.
 */
export class NotCommittedError extends Error {
  override readonly name = "NotCommittedError";
  constructor(detail: string, options?: ErrorOptions) {
    super(`not committed: ${detail}; it had no effect, retry it`, options);
  }
}

/** The node is shut down (or stopped after a failure, given as `cause`). */
export class ShutdownError extends Error {
  override readonly name = "ShutdownError";
  constructor(message = "the raft node is shut down", options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * The call did not complete within its `timeoutMs`. For a proposal the outcome is unknown. Its
 * name matches the DOMException of `AbortSignal.timeout()`, so one guard covers both.
 */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
  constructor(what: string, timeoutMs: number) {
    super(`${what} did not complete within ${timeoutMs} ms; the outcome is unknown`);
  }
}

/** A leadership transfer did not complete: the target did not take over in time, or is invalid. */
export class LeadershipTransferError extends Error {
  override readonly name = "LeadershipTransferError";
  readonly target: NodeId | undefined;
  constructor(target: NodeId | undefined, detail: string) {
    super(`leadership transfer${target === undefined ? "" : ` to ${target}`} failed: ${detail}`);
    this.target = target;
  }
}

/**
 * A local log entry does not match its checksum: the log store returned damaged data, or memory
 * was corrupted. The node stops rather than apply or serve it; repair or replace its data.
 */
export class CorruptEntryError extends Error {
  override readonly name = "CorruptEntryError";
  readonly index: number;
  constructor(index: number, where: string) {
    super(`log entry ${index} fails its checksum (${where}); the node stops rather than use it`);
    this.index = index;
  }
}

/**
 * A stored snapshot is damaged: a checksum fails, or its size or header does not add up. A
 * snapshot store's own damage error extends it, so that the engine can tell damage from other
 * failures. At start a node then recovers from an older snapshot (or from its log alone) if its
 * log continues one, and sets the damaged snapshot aside (SnapshotStore.setAside).
 */
export class SnapshotDamagedError extends Error {
  override readonly name: string = "SnapshotDamagedError";
  /** The mark `isSnapshotDamage` reads (it holds across copies of this package, unlike instanceof). */
  readonly snapshotDamaged = true;
}

/** Whether `error`, or an error it was caused by, is a SnapshotDamagedError (of any subclass). */
export function isSnapshotDamage(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as { snapshotDamaged?: unknown }).snapshotDamaged === true) return true;
  }
  return false;
}

/** The node's durable state contradicts itself (for example a log compacted past its snapshot). */
export class InconsistentStateError extends Error {
  override readonly name = "InconsistentStateError";
}

/** An option passed to the engine is out of range or missing. */
export class InvalidOptionsError extends Error {
  override readonly name = "InvalidOptionsError";
}

/**
 * `restore` was called on a leader that is already restoring a snapshot. Nothing was written;
 * wait for the other restore to finish.
 */
export class RestoreInProgressError extends Error {
  override readonly name = "RestoreInProgressError";
  constructor() {
    super("a snapshot restore is already in progress on this leader; wait for it to finish");
  }
}

/**
 * The state machine refused the restored contents (its `restore` threw on every node, `cause`
 * says why): the state is unchanged everywhere. Check the snapshot file; retrying the same
 * bytes fails the same way.
 */
export class RestoreRejectedError extends Error {
  override readonly name = "RestoreRejectedError";
  /** The log index of the restore entry that was rejected. */
  readonly index: number;
  constructor(index: number, detail: string, options?: ErrorOptions) {
    super(
      `the state machine rejected the restored snapshot (entry ${index}): ${detail}; the state is unchanged`,
      options,
    );
    this.index = index;
  }
}

export const isNotLeaderError = (e: unknown): e is NotLeaderError => hasName(e, "NotLeaderError");
export const isProposalTooLargeError = (e: unknown): e is ProposalTooLargeError =>
  hasName(e, "ProposalTooLargeError");
export const isProposalDroppedError = (e: unknown): e is ProposalDroppedError =>
  hasName(e, "ProposalDroppedError");
export const isLeadershipLostError = (e: unknown): e is LeadershipLostError =>
  hasName(e, "LeadershipLostError");
export const isNotCommittedError = (e: unknown): e is NotCommittedError =>
  hasName(e, "NotCommittedError");
export const isShutdownError = (e: unknown): e is ShutdownError => hasName(e, "ShutdownError");
export const isTimeoutError = (e: unknown): e is TimeoutError => hasName(e, "TimeoutError");
export const isLeadershipTransferError = (e: unknown): e is LeadershipTransferError =>
  hasName(e, "LeadershipTransferError");
export const isCorruptEntryError = (e: unknown): e is CorruptEntryError =>
  hasName(e, "CorruptEntryError");
export const isInconsistentStateError = (e: unknown): e is InconsistentStateError =>
  hasName(e, "InconsistentStateError");
export const isInvalidOptionsError = (e: unknown): e is InvalidOptionsError =>
  hasName(e, "InvalidOptionsError");
export const isRestoreInProgressError = (e: unknown): e is RestoreInProgressError =>
  hasName(e, "RestoreInProgressError");
export const isRestoreRejectedError = (e: unknown): e is RestoreRejectedError =>
  hasName(e, "RestoreRejectedError");
