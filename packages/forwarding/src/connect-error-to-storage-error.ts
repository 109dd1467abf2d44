import { Code, ConnectError } from "@connectrpc/connect";
import { GroupVersionMismatchErrorDetailsSchema } from "@raftstore/proto/storage/v1";
import {
  CASFailureError,
  GroupVersionMismatchError,
  InconsistentError,
  InvalidArgumentError,
  NotFoundError,
  QuotaExceededError,
  WrongUidError,
} from "@raftstore/storage";
import { deepFreeze } from "./deep-freeze.js";
import {
  codeByStorageError,
  detailHeader,
  errorHeader,
  fieldHeader,
  isForwardedErrorName,
  markNoLeader,
  noLeaderHeader,
  partialDetailValue,
} from "./error-wire.js";

// The follower side of the error mapping. Consul reads the code alone, so a proxy's
// FailedPrecondition becomes ErrInconsistent and a reset connection's Aborted (connect-node's
// code for ECONNRESET) would become a CAS failure. Here only a status that carries the leader's
// `raftstore-error` trailer is read as a storage error.

/**
 * Codes that, on a status the forwarding service did not mark as its own, mean the exchange
 * with the leader broke: connect-node reports a refused connection or an unreachable host as
 * Unavailable, a reset connection as Aborted, a destroyed HTTP/2 session as Canceled or Internal,
 * a deadline as DeadlineExceeded, and an answer that is not gRPC at all as Unknown; a proxy
 * reports a dead upstream as Unavailable.
 */
const unreachableCodes: ReadonlySet<Code> = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.Canceled,
  Code.Aborted,
  Code.Internal,
  Code.Unknown,
]);

/**
 * Turns what a forwarding call failed with into the error the follower's caller should see.
 *
 * - A status marked by the leader's forwarding service as a storage error (the `raftstore-error`
 *   trailer, with the code that error travels as) becomes that storage error again, with the
 *   leader's message and the ConnectError as its `cause`: NotFound → NotFoundError, Aborted →
 *   CASFailureError, AlreadyExists → WrongUidError, FailedPrecondition → InconsistentError
 *   (marked `noLeader: true` with the `raftstore-error-no-leader` trailer),
 *   InvalidArgument → InvalidArgumentError (with its field), ResourceExhausted →
 *   QuotaExceededError, OutOfRange with a complete
 *   GroupVersionMismatchErrorDetails → GroupVersionMismatchError (its `stored` deeply frozen).
 * - An unmarked status with a code that says the exchange broke (Unavailable, DeadlineExceeded,
 *   Canceled, Aborted, Internal, Unknown) becomes a retryable InconsistentError
 *   ("leader unreachable: …") with the ConnectError as its `cause`. A write that fails this way
 *   may still have been committed, unless the connection was refused (ECONNREFUSED: nothing
 *   was sent), which is marked `noLeader: true` like the leader's own "no longer leading".
 * - Anything else is returned unchanged: the leader's own Internal status (an unexpected failure
 *   on the leader, whose message it keeps), an OutOfRange without the detail (or with a partial
 *   one, which only the client can complete), a proxy's FailedPrecondition, Unimplemented from a
 *   server that does not serve forwarding, and every error that is not a ConnectError.
 *
 * The caller's own abort is not this function's business: the client checks its signal first.
 */
export function connectErrorToStorageError(error: unknown): unknown {
  if (!(error instanceof ConnectError)) return error;
  const marker = error.metadata.get(errorHeader);
  if (marker === null) {
    if (!unreachableCodes.has(error.code)) return error;
    // A refused connection carried nothing: the call may be made again once a leader is known.
    return markNoLeader(
      new InconsistentError(`leader unreachable: ${error.message}`, { cause: error }),
      connectionRefused(error),
    );
  }
  if (!isForwardedErrorName(marker) || codeByStorageError[marker] !== error.code) return error;
  const message = error.rawMessage;
  const options = { cause: error };
  switch (marker) {
    case "NotFoundError":
      return new NotFoundError(message, options);
    case "CASFailureError":
      return new CASFailureError(message, options);
    case "WrongUidError":
      return new WrongUidError(message, options);
    case "InconsistentError":
      return markNoLeader(
        new InconsistentError(message, options),
        error.metadata.get(noLeaderHeader) === "1",
      );
    case "InvalidArgumentError":
      return invalidArgument(error, message);
    case "GroupVersionMismatchError":
      return groupVersionMismatch(error, message) ?? error;
    case "QuotaExceededError":
      return new QuotaExceededError(message, options);
  }
}

/** Whether the leader's address refused the connection: no request was ever sent. */
function connectionRefused(error: ConnectError): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === "ECONNREFUSED") return true;
  }
  return /^connect ECONNREFUSED /.test(error.rawMessage);
}

function invalidArgument(error: ConnectError, message: string): InvalidArgumentError {
  const field = decodeField(error.metadata.get(fieldHeader));
  const prefix = `invalid argument: ${field} `;
  const problem = message.startsWith(prefix) ? message.slice(prefix.length) : message;
  const rebuilt = new InvalidArgumentError(field, problem, { cause: error });
  rebuilt.message = message;
  return rebuilt;
}

function decodeField(encoded: string | null): string {
  if (encoded === null) return "";
  try {
    return decodeURIComponent(encoded);
  } catch {
    // Not our encoding (a proxy rewrote it): the raw value still names the field best.
    return encoded;
  }
}

/** The rebuilt error, or undefined when the status does not carry the whole stored resource. */
function groupVersionMismatch(
  error: ConnectError,
  message: string,
): GroupVersionMismatchError | undefined {
  if (error.metadata.get(detailHeader) === partialDetailValue) return undefined;
  const detail = error.findDetails(GroupVersionMismatchErrorDetailsSchema)[0];
  if (detail?.requestedType === undefined || detail.stored === undefined) return undefined;
  const rebuilt = new GroupVersionMismatchError(
    deepFreeze(detail.requestedType),
    deepFreeze(detail.stored),
    { cause: error },
  );
  rebuilt.message = message;
  return rebuilt;
}
