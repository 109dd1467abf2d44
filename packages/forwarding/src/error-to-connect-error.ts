import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ResourceSchema } from "@raftstore/proto";
import { GroupVersionMismatchErrorDetailsSchema } from "@raftstore/proto/storage/v1";
import {
  findStorageError,
  type GroupVersionMismatchError,
  type InvalidArgumentError,
} from "@raftstore/storage";
import {
  codeByStorageError,
  detailHeader,
  errorHeader,
  type ForwardedErrorName,
  fieldHeader,
  hasNoLeaderMark,
  internalErrorValue,
  isForwardedErrorName,
  maxDetailBytes,
  maxMessageLength,
  noLeaderHeader,
  partialDetailValue,
  truncate,
} from "./error-wire.js";

// The leader side of the error mapping. Consul matches storage errors by identity, so a wrapped
// ErrInconsistent (what a failed consistency check returns) reaches the follower as Internal.
// Here the cause chain is searched, like Go's errors.Is, so the storage error inside a wrapper
// still crosses as itself.

/**
 * Turns what a ForwardingTarget threw into the status the forwarding service answers with.
 *
 * The outermost storage error in `error`'s cause chain decides the code:
 *
 * | storage error | code |
 * |---|---|
 * | GroupVersionMismatchError | OutOfRange, with a GroupVersionMismatchErrorDetails detail |
 * | NotFoundError | NotFound |
 * | CASFailureError | Aborted |
 * | WrongUidError | AlreadyExists |
 * | InconsistentError | FailedPrecondition, `raftstore-error-no-leader: 1` when marked `noLeader` |
 * | InvalidArgumentError | InvalidArgument, the field in the `raftstore-error-field` trailer |
 * | QuotaExceededError | ResourceExhausted |
 * | anything else | Internal, with the message |
 *
 * Every result carries the `raftstore-error` trailer (the storage error's name, or `internal`),
 * which tells the follower that the status is the leader's answer and not a transport failure.
 * The message is the outermost error's, with the storage error's appended when the wrapper does
 * not already include it, cut to 2048 characters. The original error is the result's `cause`.
 */
export function errorToConnectError(error: unknown): ConnectError {
  const name = outermostForwardedErrorName(error);
  const storageError = name === undefined ? undefined : findStorageError(error, name);
  if (name === undefined || storageError === undefined) {
    return new ConnectError(
      truncate(messageOf(error), maxMessageLength),
      Code.Internal,
      { [errorHeader]: internalErrorValue },
      undefined,
      error,
    );
  }
  const message = truncate(wrappedMessage(error, storageError), maxMessageLength);
  if (name === "GroupVersionMismatchError") {
    return groupVersionMismatch(storageError as GroupVersionMismatchError, message, error);
  }
  const metadata = new Headers({ [errorHeader]: name });
  if (name === "InconsistentError" && hasNoLeaderMark(storageError)) {
    metadata.set(noLeaderHeader, "1");
  }
  if (name === "InvalidArgumentError") {
    // Matched by name, the error may come from another copy of the storage package: the field
    // is read defensively.
    const field: unknown = (storageError as InvalidArgumentError).field;
    if (typeof field === "string") {
      metadata.set(fieldHeader, encodeURIComponent(truncate(field, 256)));
    }
  }
  return new ConnectError(message, codeByStorageError[name], metadata, undefined, error);
}

function groupVersionMismatch(
  mismatch: GroupVersionMismatchError,
  message: string,
  original: unknown,
): ConnectError {
  const metadata = new Headers({ [errorHeader]: "GroupVersionMismatchError" });
  // `stored` may be missing on an error of that name from elsewhere; the follower then keeps the
  // status as a ConnectError.
  let detail = create(GroupVersionMismatchErrorDetailsSchema, {
    requestedType: mismatch.requestedType,
    stored: mismatch.stored,
  });
  if (toBinary(GroupVersionMismatchErrorDetailsSchema, detail).byteLength > maxDetailBytes) {
    // Too large for a trailer: send the stored resource's identity and version, from which the
    // follower's client reads the resource itself (see readStoredResource in client.ts).
    detail = create(GroupVersionMismatchErrorDetailsSchema, {
      requestedType: mismatch.requestedType,
      stored: create(ResourceSchema, { id: mismatch.stored.id, version: mismatch.stored.version }),
    });
    metadata.set(detailHeader, partialDetailValue);
  }
  return new ConnectError(
    message,
    Code.OutOfRange,
    metadata,
    [{ desc: GroupVersionMismatchErrorDetailsSchema, value: detail }],
    original,
  );
}

/** The name of the outermost error in the cause chain that crosses the wire as itself. */
function outermostForwardedErrorName(error: unknown): ForwardedErrorName | undefined {
  let current = error;
  // Bounded like findStorageError, so that a cyclic cause chain cannot hang the leader.
  for (let depth = 0; depth < 16 && current instanceof Error; depth++) {
    if (isForwardedErrorName(current.name)) return current.name;
    current = current.cause;
  }
  return undefined;
}

function wrappedMessage(outer: unknown, storageError: Error): string {
  if (outer === storageError) return storageError.message;
  const context = messageOf(outer);
  if (context.includes(storageError.message)) return context;
  return context === "" ? storageError.message : `${context}: ${storageError.message}`;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
