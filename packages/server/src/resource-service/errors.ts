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

/** Maps any error thrown by a handler to the ConnectError the client receives. */
export function toConnectError(error: unknown, signal?: AbortSignal): ConnectError {
  if (error instanceof ConnectError) return error;
  if (signal?.aborted && error === signal.reason) {
    return new ConnectError(
      "the request was cancelled",
      Code.Canceled,
      undefined,
      undefined,
      error,
    );
  }
  for (const [name, code] of codes) {
    const found = findStorageError(error, name);
    if (found !== undefined) {
      return new ConnectError(found.message, code, undefined, undefined, error);
    }
  }
  return ConnectError.from(error, Code.Internal);
}
