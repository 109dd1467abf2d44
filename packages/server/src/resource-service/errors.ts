import { Code, ConnectError } from "@connectrpc/connect";
import { findStorageError, type StorageErrorName } from "@raftstore/storage";

// How storage errors reach API clients (DESIGN.md, "Public API"). A client can act on each code:
// NotFound (nothing there), Aborted (someone else wrote first: re-read and retry; also a watch
// ended by a restore: re-list), FailedPrecondition (the resource was deleted and re-created:
// you hold a stale uid), InvalidArgument (fix the request), Unavailable (no leader or no quorum
// right now: retry later).

const codes: Array<[StorageErrorName, Code]> = [
  ["InvalidArgumentError", Code.InvalidArgument],
  ["GroupVersionMismatchError", Code.InvalidArgument],
  ["NotFoundError", Code.NotFound],
  ["CASFailureError", Code.Aborted],
  ["WrongUidError", Code.FailedPrecondition],
  ["InconsistentError", Code.Unavailable],
  ["WatchClosedError", Code.Aborted],
];

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
      return new ConnectError(found.message, code, undefined, undefined, error);
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
