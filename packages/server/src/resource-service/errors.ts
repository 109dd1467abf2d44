import { Code, ConnectError } from "@connectrpc/connect";
import { hasNoLeaderMark } from "@raftstore/forwarding";
import { outcomeHeader, quotaExceededHeader } from "@raftstore/proto";
import { findStorageError, type StorageErrorName } from "@raftstore/storage";

// How storage errors reach API clients (DESIGN.md, "Public API"). A client can act on each code:
// NotFound (nothing there), Aborted (someone else wrote first: re-read and retry; also a watch
// ended by a restore: re-list), FailedPrecondition (the resource was deleted and re-created:
// you hold a stale uid), InvalidArgument (fix the request), Unavailable (no leader or no quorum
// right now: retry later), ResourceExhausted (the store is at its quota: delete, or raise it).

const codes: Array<[StorageErrorName, Code]> = [
  ["InvalidArgumentError", Code.InvalidArgument],
  ["GroupVersionMismatchError", Code.InvalidArgument],
  ["NotFoundError", Code.NotFound],
  ["CASFailureError", Code.Aborted],
  ["WrongUidError", Code.FailedPrecondition],
  ["InconsistentError", Code.Unavailable],
  ["WatchClosedError", Code.Aborted],
  ["QuotaExceededError", Code.ResourceExhausted],
];

/**
 * `error`, marked as a change whose outcome is unknown if it may have been made: an
 * InconsistentError (Unavailable) that is not a refusal known to have done nothing (no leader,
 * marked `noLeader`; a proposal the engine dropped before appending it). toConnectError then
 * sets `outcomeHeader`. The mark errs on the safe side: "unknown" where nothing was made is
 * harmless, the reverse is not.
 */
export function markIfOutcomeUnknown(error: unknown): unknown {
  const inconsistent = findStorageError(error, "InconsistentError");
  if (inconsistent === undefined || hasNoLeaderMark(inconsistent)) return error;
  // The raft handle's translate() makes a dropped proposal the cause of its InconsistentError.
  if ((inconsistent.cause as Error | undefined)?.name === "ProposalDroppedError") return error;
  return Object.assign(error as Error, { outcomeUnknown: true as const });
}

/**
 * Maps any error thrown by a handler to the ConnectError the client receives. `call` is the
 * call's context: an error that is its signal's abort reason (the client went away) is Canceled.
 * Its signal is read only for an error that is neither a ConnectError nor a storage error, so
 * that a call that never needed its signal does not make one for its error either.
 */
export function toConnectError(
  error: unknown,
  call?: { readonly signal: AbortSignal },
): ConnectError {
  if (error instanceof ConnectError) return error;
  for (const [name, code] of codes) {
    const found = findStorageError(error, name);
    if (found !== undefined) {
      const unknown = (error as { outcomeUnknown?: unknown }).outcomeUnknown === true;
      const metadata = unknown
        ? new Headers({ [outcomeHeader]: "unknown" })
        : name === "QuotaExceededError"
          ? new Headers({ [quotaExceededHeader]: "1" })
          : undefined;
      return new ConnectError(found.message, code, metadata, undefined, error);
    }
  }
  const signal = call?.signal;
  if (signal?.aborted && error === signal.reason) {
    return new ConnectError(
      "the request was cancelled",
      Code.Canceled,
      undefined,
      undefined,
      error,
    );
  }
  return ConnectError.from(error, Code.Internal);
}
