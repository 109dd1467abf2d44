import type { Operation } from "./operation.js";

/** Every partition has a linearization: the history is linearizable. */
export interface LinearizableResult {
  outcome: "linearizable";
  /** Search steps taken over all partitions (deterministic for a given history and model). */
  steps: number;
}

/**
 * A partition has no linearization at all: the system under test broke linearizability (or the
 * model is wrong about it). Everything needed to debug it is here; `explanation` is the same
 * information as text.
 */
export interface IllegalResult<Input, Output> {
  outcome: "illegal";
  /** The failing partition's position in `model.partition(history)` (0 without partitions). */
  partition: number;
  /** `model.describePartition` of the failing partition, such as `key "x"`, when the model has it. */
  partitionName: string | undefined;
  /** A readable account: the partition, the longest linearization, and where it got stuck. */
  explanation: string;
  /** The failing partition's operations, in history order. */
  operations: Operation<Input, Output>[];
  /**
   * The longest linearization the search found (counting operations that returned): some of
   * the partition's operations, in an order that is legal for the model and respects real time;
   * no operation outside it (or `omitted`) returned before one inside it was called.
   */
  longestLinearization: Operation<Input, Output>[];
  /**
   * Operations with an unknown outcome that this linearization assumes never took effect. They
   * are not in `longestLinearization`.
   */
  omitted: Operation<Input, Output>[];
  /** `model.describeState` (or a generic rendering) of the state after `longestLinearization`. */
  stateAfter: string;
  /**
   * The returned operations that could have come next after `longestLinearization` (those left
   * whose call is not after the earliest return left), none of which fits there. Operations
   * that never returned are not listed: they need not take effect at all.
   */
  couldNotPlace: Operation<Input, Output>[];
  /** Search steps taken over all partitions checked. */
  steps: number;
}

/**
 * The budget ran out before the search finished: nothing is known. This is never a pass; give
 * the check more steps or time, or make the history smaller (fewer operations per partition,
 * fewer concurrent or unknown-outcome operations).
 */
export interface UnknownResult {
  outcome: "unknown";
  /** Which partition ran out of what budget, and what to do about it. */
  reason: string;
  /** The first partition that could not be decided. */
  partition: number;
  /** Search steps taken over all partitions checked. */
  steps: number;
}

/** The verdict of `checkLinearizability`. */
export type CheckResult<Input, Output> =
  | LinearizableResult
  | IllegalResult<Input, Output>
  | UnknownResult;

/** Limits of one check. Both only ever turn a verdict into "unknown", never into a pass. */
export interface CheckOptions {
  /**
   * The most search steps (model steps tried plus backtracks) for each partition. The result
   * for a given history does not depend on the machine. Default: DEFAULT_MAX_STEPS.
   */
  maxSteps?: number;
  /**
   * A wall-clock safety net for the whole check, in milliseconds. Unlike maxSteps it makes the
   * result depend on the machine, so deterministic tests should rely on maxSteps. Default: none.
   */
  timeoutMs?: number;
}
