import { Code } from "@connectrpc/connect";
import { quotaExceededHeader } from "@raftstore/proto";

/**
 * The exit codes of `raftstore`, which scripts may rely on: they are part of the public
 * interface, documented in the README, and never renumbered.
 */
export const ExitCode = {
  /** The command did what was asked. */
  Ok: 0,
  /** Something failed that none of the codes below describes (see the message). */
  Failure: 1,
  /** The command line is wrong: unknown command or flag, missing or malformed argument. */
  Usage: 2,
  /** The resource does not exist. */
  NotFound: 3,
  /**
   * A conflict: the version given is not the stored one (compare-and-swap failed), the uid
   * given is stale (the resource was deleted and re-created), or a watch was reset.
   */
  Conflict: 4,
  /** The cluster could not be reached or has no leader or quorum right now: retry later. */
  Unavailable: 5,
  /** The request, a JSON document or a file given is invalid (a damaged snapshot too). */
  InvalidArgument: 6,
  /**
   * The cluster's store is at its quota (`--quota-bytes`): the change would grow it past it.
   * It succeeds once resources are deleted or the quota is raised; waiting alone does not help.
   */
  QuotaExceeded: 7,
  /** Stopped by SIGINT (Ctrl-C) or SIGTERM before it finished. */
  Interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * The exit code for an RPC that failed with `code` (and `metadata`, the headers and trailers
 * the error carries). The mapping follows what the resource service means by each code
 * (DESIGN.md, "Public API"): a script can tell "retry later" (5) from "re-read and retry" (4)
 * from "fix the request" (6) from "make room" (7).
 */
export function exitCodeForRpc(code: Code, metadata?: Headers): ExitCode {
  switch (code) {
    case Code.NotFound:
      return ExitCode.NotFound;
    case Code.Aborted:
    case Code.FailedPrecondition:
    case Code.AlreadyExists:
      return ExitCode.Conflict;
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    // A call this CLI cancels (Ctrl-C) ends with 130 before it gets here (client-command.ts);
    // any other cancellation is the connection dropped by the other end.
    case Code.Canceled:
      return ExitCode.Unavailable;
    case Code.InvalidArgument:
    case Code.OutOfRange:
    // A request over the nodes' limit, too large to read: the same call fails again, however
    // long one waits. Or, marked so, a change the store's quota refused.
    case Code.ResourceExhausted:
      return isQuotaExceeded(code, metadata) ? ExitCode.QuotaExceeded : ExitCode.InvalidArgument;
    default:
      return ExitCode.Failure;
  }
}

/**
 * Whether a call failed because the store is at its quota, not because the request was too
 * large: ResourceExhausted that the node marked with `raftstore-quota-exceeded: 1`.
 */
export function isQuotaExceeded(code: Code, metadata: Headers | undefined): boolean {
  return code === Code.ResourceExhausted && metadata?.get(quotaExceededHeader) === "1";
}
