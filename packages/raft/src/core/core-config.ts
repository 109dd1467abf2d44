import type { NodeId } from "../log-types.js";
import type { Logger } from "../logger.js";

/**
 * Test-only switches that each disable one safety rule of the protocol. They exist so that the
 * simulation can prove it catches the violation each rule prevents ("the harness has teeth").
 * Never set them outside tests.
 */
export interface UnsafeSwitches {
  /** Commit an entry of an earlier term by counting replicas (Raft paper Figure 8). */
  readonly commitOldTermByCounting?: boolean;
  /** Grant votes without checking that the candidate's log is at least as up to date. */
  readonly skipVoteUpToDateCheck?: boolean;
  /** Serve ReadIndex before the leader has committed an entry of its own term. */
  readonly readIndexBeforeTermCommit?: boolean;
}

/** Everything the deterministic core needs; time and randomness come in through it. */
export interface CoreConfig {
  readonly id: NodeId;
  /** Ticks without hearing from a leader before a follower campaigns (randomized in [n, 2n)). */
  readonly electionTicks: number;
  /** Ticks between a leader's heartbeats. Must be less than electionTicks. */
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Append messages in flight to one follower before the leader waits for acknowledgements. */
  readonly maxInflightMessages: number;
  /** Bytes of entry data in flight to one follower before the leader waits. */
  readonly maxInflightBytes: number;
  /** Bytes of entry data per append message (at least one entry is always sent). */
  readonly maxBytesPerAppend: number;
  /** Bytes of entry data proposed but not committed before proposals are refused. */
  readonly maxUncommittedBytes: number;
  /** Bytes of committed entries handed out for applying per Ready. */
  readonly maxApplyBytesPerReady: number;
  /** Uniform random numbers in [0, 1): the only source of randomness of the core. */
  readonly random: () => number;
  readonly logger: Logger;
  readonly unsafe?: UnsafeSwitches;
}
