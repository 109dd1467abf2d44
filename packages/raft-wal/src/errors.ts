// Every error this package hands to a caller has a stable `name`, and its guard checks that name
// rather than `instanceof`, so guards keep working across duplicate copies of the package (one
// loaded as source and one as dist, or two versions side by side).
//
// Three kinds of failure matter to the node that owns the data directory:
// - damage on disk (the corruption errors): the node must not vote or lead with what it has; an
//   operator restores the directory, or the node is rebuilt from its peers under a new id (a
//   damaged snapshot is the exception when the log continues an older one: the node starts
//   from that one);
// - a disk that failed a write or a sync (StoreFailedError): the node stops; what is on disk is
//   what a restart recovers, and nothing after the failure was acknowledged;
// - a caller mistake (LogIndexError, InvalidEntryError, StoreClosedError): nothing changed.

import { SnapshotDamagedError } from "@raftstore/raft";

/** The names of every error of this package, one per failure a caller can act on. */
export type WalErrorName =
  | "WalCorruptionError"
  | "StableStateCorruptionError"
  | "SnapshotCorruptionError"
  | "StoreFailedError"
  | "StoreClosedError"
  | "DataDirLockedError"
  | "UnsupportedFormatError"
  | "LogIndexError"
  | "InvalidEntryError";

/**
 * The write-ahead log is damaged in a way a crash cannot explain: a flipped bit in a record that
 * was synced, a missing, extra or reordered segment, a gap in the indexes. A torn final record
 * (a crash mid-write) is repaired at open instead and never raises this. The node must not start
 * on this log: committed entries would be missing or wrong.
 */
export class WalCorruptionError extends Error {
  override readonly name = "WalCorruptionError";
  /** The damaged file. */
  readonly file: string;
  /** The byte offset in `file` where the damage starts (the start of the bad record or header). */
  readonly offset: number;
  constructor(file: string, offset: number, problem: string, options?: ErrorOptions) {
    super(`write-ahead log corrupted in ${file} at offset ${offset}: ${problem}`, options);
    this.file = file;
    this.offset = offset;
  }
}

/**
 * The file holding the term and vote is missing, truncated or fails its checksum. The node must
 * not start: it could vote twice in a term.
 */
export class StableStateCorruptionError extends Error {
  override readonly name = "StableStateCorruptionError";
  readonly file: string;
  constructor(file: string, problem: string, options?: ErrorOptions) {
    super(`hard state file ${file} is damaged: ${problem}`, options);
    this.file = file;
  }
}

/**
 * A stored snapshot is damaged: its header, a chunk or its trailer fails a checksum, or its size
 * does not add up. It is the engine's SnapshotDamagedError: at start a node passes over it for an
 * older snapshot its log continues, and sets it aside (renamed `*.snap.broken`).
 */
export class SnapshotCorruptionError extends SnapshotDamagedError {
  override readonly name = "SnapshotCorruptionError";
  readonly file: string;
  /** The byte offset in `file` of the damaged part. */
  readonly offset: number;
  constructor(file: string, offset: number, problem: string, options?: ErrorOptions) {
    super(`snapshot ${file} is damaged at offset ${offset}: ${problem}`, options);
    this.file = file;
    this.offset = offset;
  }
}

/**
 * A write, truncate or sync failed, so the store stopped (fail-stop). After a failed fsync the
 * kernel may have dropped the dirty pages, so a retry could "succeed" without the data ever
 * reaching the disk (PostgreSQL's fsyncgate); nothing is retried. The call that hit the failure
 * rejects with this error, and so does every later call of every store sharing the data
 * directory. Restart the node: it recovers from what is on disk, and nothing after the failure
 * was acknowledged. `cause` is the error the file system reported.
 */
export class StoreFailedError extends Error {
  override readonly name = "StoreFailedError";
  /** What failed: "fdatasync", "fsync-directory", "write", "truncate", … */
  readonly operation: string;
  /** The file or directory the failed operation was on. */
  readonly path: string;
  constructor(operation: string, path: string, cause: unknown) {
    super(
      `${operation} of ${path} failed (${describe(cause)}); the store stopped and refuses every ` +
        "further call: restart the node to recover from what is on disk",
      { cause },
    );
    this.operation = operation;
    this.path = path;
  }
}

/** The store was closed; nothing was done. */
export class StoreClosedError extends Error {
  override readonly name = "StoreClosedError";
  constructor(store: string, operation: string) {
    super(`${store} is closed: cannot ${operation}`);
  }
}

/**
 * Another process (or this one) has the data directory open. Two writers on one log would
 * destroy it, so the second open fails at once. `pid` is the holder's process id, when known.
 */
export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
  readonly path: string;
  readonly pid: number | undefined;
  constructor(path: string, pid: number | undefined, detail: string) {
    super(`data directory ${path} is locked: ${detail}`);
    this.path = path;
    this.pid = pid;
  }
}

/**
 * The data directory (or one of its files) has a format this version does not read: written by
 * a newer version, by another program, or not a data directory at all. Nothing was changed.
 */
export class UnsupportedFormatError extends Error {
  override readonly name = "UnsupportedFormatError";
  readonly file: string;
  /** What the file says, in words. */
  readonly found: string;
  /** What this version reads. */
  readonly supported: string;
  constructor(file: string, found: string, supported: string) {
    super(`unsupported format in ${file}: found ${found}, but this version supports ${supported}`);
    this.file = file;
    this.found = found;
    this.supported = supported;
  }
}

/**
 * A log call named an index that does not fit the log: an append that does not continue it, a
 * truncation below the compacted prefix, a read outside the retained entries. Nothing changed.
 */
export class LogIndexError extends Error {
  override readonly name = "LogIndexError";
  constructor(operation: string, expected: string, found: string) {
    super(`${operation}: expected ${expected}, found ${found}`);
  }
}

/**
 * An entry handed to `append` is malformed or does not match its own checksum: it was damaged
 * between the leader that created it and this store. Nothing of that append was written.
 */
export class InvalidEntryError extends Error {
  override readonly name = "InvalidEntryError";
  readonly index: number;
  constructor(index: number, problem: string) {
    super(`entry ${index} cannot be appended: ${problem}`);
    this.index = index;
  }
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === "string" && !cause.message.includes(code)
      ? `${code}: ${cause.message}`
      : cause.message;
  }
  return String(cause);
}

type ErrorByName = {
  WalCorruptionError: WalCorruptionError;
  StableStateCorruptionError: StableStateCorruptionError;
  SnapshotCorruptionError: SnapshotCorruptionError;
  StoreFailedError: StoreFailedError;
  StoreClosedError: StoreClosedError;
  DataDirLockedError: DataDirLockedError;
  UnsupportedFormatError: UnsupportedFormatError;
  LogIndexError: LogIndexError;
  InvalidEntryError: InvalidEntryError;
};

function guard<N extends WalErrorName>(name: N) {
  return (error: unknown): error is ErrorByName[N] => error instanceof Error && error.name === name;
}

/** True for a WalCorruptionError. */
export const isWalCorruptionError = guard("WalCorruptionError");
/** True for a StableStateCorruptionError. */
export const isStableStateCorruptionError = guard("StableStateCorruptionError");
/** True for a SnapshotCorruptionError. */
export const isSnapshotCorruptionError = guard("SnapshotCorruptionError");
/** True for a StoreFailedError. */
export const isStoreFailedError = guard("StoreFailedError");
/** True for a StoreClosedError. */
export const isStoreClosedError = guard("StoreClosedError");
/** True for a DataDirLockedError. */
export const isDataDirLockedError = guard("DataDirLockedError");
/** True for an UnsupportedFormatError. */
export const isUnsupportedFormatError = guard("UnsupportedFormatError");
/** True for a LogIndexError. */
export const isLogIndexError = guard("LogIndexError");
/** True for an InvalidEntryError. */
export const isInvalidEntryError = guard("InvalidEntryError");
