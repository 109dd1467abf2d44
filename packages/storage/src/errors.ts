import type { Resource, Type } from "@raftstore/proto";

// Every storage error has a stable `name`, and its guard checks that name rather than
// `instanceof`, so that guards keep working across duplicate copies of this package (two
// versions installed side by side, or one copy loaded as source and one as dist). A guard looks
// at the error itself; `findStorageError` also follows the `cause` chain, like Go's errors.Is,
// for code that must recognise a storage error wrapped with more context.

/** The names of every storage error, one per failure a caller can act on. */
export type StorageErrorName =
  | "NotFoundError"
  | "CASFailureError"
  | "WrongUidError"
  | "InconsistentError"
  | "WatchClosedError"
  | "GroupVersionMismatchError"
  | "InvalidArgumentError"
  | "QuotaExceededError";

/** Nothing is stored under the key, or the stored incarnation has a different uid. */
export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
  constructor(message = "resource not found", options?: ErrorOptions) {
    super(message, options);
  }
}

/** The expected version is not the version stored (or nothing is stored, or something is). */
export class CASFailureError extends Error {
  override readonly name = "CASFailureError";
  constructor(
    message = "CAS operation failed because the given version doesn't match what is stored",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A write names an existing key with a different uid: the caller holds another incarnation. */
export class WrongUidError extends Error {
  override readonly name = "WrongUidError";
  constructor(
    message = "write failed because the given uid doesn't match what is stored",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A strongly consistent operation could not be served: no known leader, leadership lost, no
 * quorum, the state machine not caught up, or an unknown consistency value. Retryable: the
 * operation may succeed once a leader is known again. A write that fails this way may still
 * have been committed; read before retrying a non-idempotent change.
 */
export class InconsistentError extends Error {
  override readonly name = "InconsistentError";
  constructor(message = "cannot satisfy consistency requirements", options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * The backend ended a watch (snapshot restore, a consumer too far behind, shutdown, or the
 * watch was closed). Discard what was built from it and open a new watch.
 */
export class WatchClosedError extends Error {
  override readonly name = "WatchClosedError";
  constructor(message = "watch closed", options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * A read asked for a group version other than the stored one. Carries the stored resource so
 * that the caller can translate it.
 */
export class GroupVersionMismatchError extends Error {
  override readonly name = "GroupVersionMismatchError";
  readonly requestedType: Type;
  readonly stored: Resource;
  constructor(requestedType: Type, stored: Resource, options?: ErrorOptions) {
    super(
      `resource was requested with GroupVersion=${JSON.stringify(requestedType.groupVersion)}, ` +
        `but stored with GroupVersion=${JSON.stringify(stored.id?.type?.groupVersion ?? "")}`,
      options,
    );
    this.requestedType = requestedType;
    this.stored = stored;
  }
}

/** The input is malformed (a missing id, type or tenancy, an empty name, …). Nothing changed. */
export class InvalidArgumentError extends Error {
  override readonly name = "InvalidArgumentError";
  /** The offending field, as a dotted path such as `resource.id.name`. */
  readonly field: string;
  constructor(field: string, problem: string, options?: ErrorOptions) {
    super(`invalid argument: ${field} ${problem}`, options);
    this.field = field;
  }
}

/**
 * A write was refused because the store would grow past its quota (etcd's "database space
 * exceeded"). Nothing changed. Deletes, and writes that do not grow the store, still succeed:
 * free space, or raise the quota, then retry.
 */
export class QuotaExceededError extends Error {
  override readonly name = "QuotaExceededError";
  constructor(
    message = "write refused: the store would grow past its quota",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

type ErrorByName = {
  NotFoundError: NotFoundError;
  CASFailureError: CASFailureError;
  WrongUidError: WrongUidError;
  InconsistentError: InconsistentError;
  WatchClosedError: WatchClosedError;
  GroupVersionMismatchError: GroupVersionMismatchError;
  InvalidArgumentError: InvalidArgumentError;
  QuotaExceededError: QuotaExceededError;
};

/**
 * Finds the storage error of the given name in `error` or its `cause` chain, or undefined.
 * Use it to get at the details of a wrapped error, such as the stored resource of a wrapped
 * GroupVersionMismatchError.
 */
export function findStorageError<N extends StorageErrorName>(
  error: unknown,
  name: N,
): ErrorByName[N] | undefined {
  let current = error;
  // Bounded, so that a cyclic cause chain cannot hang the caller.
  for (let depth = 0; depth < 16 && current instanceof Error; depth++) {
    if (current.name === name) return current as ErrorByName[N];
    current = current.cause;
  }
  return undefined;
}

function guard<N extends StorageErrorName>(name: N) {
  return (error: unknown): error is ErrorByName[N] => error instanceof Error && error.name === name;
}

/** True for a NotFoundError. */
export const isNotFoundError = guard("NotFoundError");
/** True for a CASFailureError. */
export const isCASFailureError = guard("CASFailureError");
/** True for a WrongUidError. */
export const isWrongUidError = guard("WrongUidError");
/** True for an InconsistentError. */
export const isInconsistentError = guard("InconsistentError");
/** True for a WatchClosedError. */
export const isWatchClosedError = guard("WatchClosedError");
/** True for a GroupVersionMismatchError. */
export const isGroupVersionMismatchError = guard("GroupVersionMismatchError");
/** True for an InvalidArgumentError. */
export const isInvalidArgumentError = guard("InvalidArgumentError");
/** True for a QuotaExceededError. */
export const isQuotaExceededError = guard("QuotaExceededError");
