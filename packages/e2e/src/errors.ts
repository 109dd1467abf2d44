// Every error of this package has a stable `name`, and its guard checks that name rather than
// `instanceof`, so guards keep working across duplicate copies of the package (one loaded as
// source, one as dist).

/**
 * The `etcd` binary is not on the PATH (or not where `etcdBinary` points). The etcd comparison
 * cannot run; nothing was started. The message says how to install it.
 */
export class EtcdNotFoundError extends Error {
  override readonly name = "EtcdNotFoundError";
  /** Where etcd was looked for. */
  readonly searched: readonly string[];
  constructor(searched: readonly string[], options?: ErrorOptions) {
    super(
      `expected an etcd binary (etcd 3.4 or later) on the PATH, found none in ${searched.join(", ") || "an empty PATH"}. ` +
        "Install it with `apt-get install etcd-server etcd-client` (Debian, Ubuntu) or put the " +
        "etcd release binary on the PATH, then run the comparison again.",
      options,
    );
    this.searched = searched;
  }
}

export function isEtcdNotFoundError(error: unknown): error is EtcdNotFoundError {
  return error instanceof Error && error.name === "EtcdNotFoundError";
}

/**
 * A child process (a raftstore node, an etcd member) exited when it was expected to run: before
 * it reported ready, or while a caller waited for it. `logTail` holds the end of its log, which
 * usually says why.
 */
export class ChildExitedError extends Error {
  override readonly name = "ChildExitedError";
  readonly child: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly logFile: string;
  readonly logTail: string;
  constructor(
    child: string,
    status: { exitCode: number | null; signal: NodeJS.Signals | null },
    expected: string,
    logFile: string,
    logTail: string,
    options?: ErrorOptions,
  ) {
    const how = status.signal === null ? `exit code ${status.exitCode}` : `signal ${status.signal}`;
    super(
      `expected ${child} to ${expected}, but it exited with ${how}; its log (${logFile}) ends with:\n${logTail || "(empty)"}`,
      options,
    );
    this.child = child;
    this.exitCode = status.exitCode;
    this.signal = status.signal;
    this.logFile = logFile;
    this.logTail = logTail;
  }
}

export function isChildExitedError(error: unknown): error is ChildExitedError {
  return error instanceof Error && error.name === "ChildExitedError";
}

/**
 * A condition a harness waits for (a leader elected, a node caught up, a snapshot installed) did
 * not hold within the time allowed. `lastSeen` describes the last observation, to tell a slow
 * cluster from a stuck one.
 */
export class WaitTimeoutError extends Error {
  override readonly name = "WaitTimeoutError";
  readonly what: string;
  readonly timeoutMs: number;
  readonly lastSeen: string;
  constructor(what: string, timeoutMs: number, lastSeen: string, options?: ErrorOptions) {
    super(`expected ${what} within ${timeoutMs} ms; last seen: ${lastSeen}`, options);
    this.what = what;
    this.timeoutMs = timeoutMs;
    this.lastSeen = lastSeen;
  }
}

export function isWaitTimeoutError(error: unknown): error is WaitTimeoutError {
  return error instanceof Error && error.name === "WaitTimeoutError";
}

/**
 * A benchmark client's compare-and-swap was refused although no other client writes its key:
 * the store reported a conflict that did not happen. Counted in a workload's errors; the
 * client re-reads the version and goes on.
 */
export class CasConflictError extends Error {
  override readonly name = "CasConflictError";
  readonly key: string;
  constructor(key: string, options?: ErrorOptions) {
    super(
      `expected the compare-and-swap of ${key} to succeed (no other client writes it), but it was refused`,
      options,
    );
    this.key = key;
  }
}

export function isCasConflictError(error: unknown): error is CasConflictError {
  return error instanceof Error && error.name === "CasConflictError";
}
