import { Code, ConnectError } from "@connectrpc/connect";
import { outcomeHeader } from "@raftstore/proto";

/**
 * The gRPC status the server answered with, or undefined when the call failed on the way (the
 * connection was refused or reset, the client's deadline passed): then only the server knows
 * whether the call took effect. connect-node reports a reset connection as Aborted, the code a
 * server uses for a lost compare-and-swap, so the code alone cannot tell the two apart; the
 * grpc-status trailer can.
 */
export function serverCode(error: unknown): Code | undefined {
  const ce = ConnectError.from(error);
  return ce.metadata.get("grpc-status") === null ? undefined : ce.code;
}

/** Codes a server answers with when it cannot serve now (no leader, no quorum, too slow). */
export const unavailableCodes: ReadonlySet<Code> = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.Canceled,
]);

/**
 * Whether the server said a change it answered Unavailable was certainly not made: its answer
 * lacks the `raftstore-outcome: unknown` header. The fault tests hold the server to that: such a
 * write is recorded as failed, and the checker would find it if it took effect after all.
 */
export function certainlyNotMade(error: unknown): boolean {
  const ce = ConnectError.from(error);
  return serverCode(error) === Code.Unavailable && ce.metadata.get(outcomeHeader) !== "unknown";
}
