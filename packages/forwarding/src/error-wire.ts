import { Code } from "@connectrpc/connect";
import type { StorageErrorName } from "@raftstore/storage";

// How errors cross the forwarding RPC: the vocabulary both sides share. The leader side
// (error-to-connect-error.ts) writes it, the follower side (connect-error-to-storage-error.ts)
// reads it.
//
// A status code alone cannot say where an error came from. connect-node turns a reset
// connection into Aborted (the code of a CAS failure), a destroyed HTTP/2 session into Canceled
// or Internal, and a proxy in between may answer FailedPrecondition (the code of an inconsistent
// read) on its own. So every error the forwarding handler sends carries the `raftstore-error`
// header (a gRPC trailer), and only an error that carries it is read as the leader's answer.
// An error without it was raised by the transport, by the Connect protocol layer or by
// something between the two nodes.

/**
 * The header (sent as a trailer) that marks an error as the forwarding service's own answer.
 * Its value is the `StorageErrorName` of a storage error, or `internal` for any other failure
 * on the leader.
 */
export const errorHeader = "raftstore-error";

/** The value of `errorHeader` for a failure on the leader that is not a storage error. */
export const internalErrorValue = "internal";

/**
 * The header saying an InconsistentError did nothing for want of a leader: the node the call
 * reached no longer leads, or could not append or confirm anything. Such an error carries the
 * mark `noLeader: true` (the NoLeaderError of @raftstore/raft-backend does) on both sides, and
 * the follower may make the call again once a leader is known. Its value is `1`.
 */
export const noLeaderHeader = "raftstore-error-no-leader";

/** Whether `error` carries the mark `noLeader: true`: it did nothing, for want of a leader. */
export function hasNoLeaderMark(error: unknown): boolean {
  return (error as { noLeader?: unknown } | undefined)?.noLeader === true;
}

/** `error`, marked `noLeader: true` when `noLeader` holds. */
export function markNoLeader<E extends Error>(error: E, noLeader: boolean): E {
  return noLeader ? Object.assign(error, { noLeader: true as const }) : error;
}

/** The header carrying an InvalidArgumentError's field, URI-encoded. */
export const fieldHeader = "raftstore-error-field";

/**
 * The header saying a GroupVersionMismatchErrorDetails carries only the stored resource's id
 * and version, because the whole resource would not fit in a trailer (HTTP/2 header blocks are
 * limited to 64 KiB by default). Its value is `partial`.
 */
export const detailHeader = "raftstore-error-detail";

/** The value of `detailHeader` when the stored resource was cut down to its id and version. */
export const partialDetailValue = "partial";

/** The storage errors that cross the wire, and the code each travels as. */
export const codeByStorageError = {
  GroupVersionMismatchError: Code.OutOfRange,
  NotFoundError: Code.NotFound,
  CASFailureError: Code.Aborted,
  WrongUidError: Code.AlreadyExists,
  InconsistentError: Code.FailedPrecondition,
  InvalidArgumentError: Code.InvalidArgument,
  QuotaExceededError: Code.ResourceExhausted,
} as const satisfies Partial<Record<StorageErrorName, Code>>;

/** A storage error that crosses the wire as itself. */
export type ForwardedErrorName = keyof typeof codeByStorageError;

/** Whether `name` is a storage error that crosses the wire as itself. */
export function isForwardedErrorName(name: string): name is ForwardedErrorName {
  return Object.hasOwn(codeByStorageError, name);
}

/**
 * Messages are cut to this many characters. A message travels percent-encoded in a trailer, so
 * an unbounded one (a stack dump, say) could overflow the peer's header limit and turn the
 * leader's answer into a broken stream.
 */
export const maxMessageLength = 2048;

/**
 * The largest encoded GroupVersionMismatchErrorDetails sent whole. It travels base64-encoded in
 * a trailer; with a bounded message it stays well under the 64 KiB default header limit.
 */
export const maxDetailBytes = 16 * 1024;

/**
 * Cuts `text` to `max` UTF-16 units, saying so, and replaces unpaired surrogates (which the cut
 * may create, and which the percent-encoding of a gRPC message cannot represent) with U+FFFD.
 */
export function truncate(text: string, max: number): string {
  const cut = text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more)`;
  return cut.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    "\uFFFD",
  );
}
