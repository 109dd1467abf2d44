import { InvalidHistoryError } from "./errors.js";

/**
 * One call a client made against the system under test, as the client saw it.
 *
 * The interval [call, return] is closed: two operations that touch at the same timestamp
 * (one returns at t, the other is called at t) are concurrent, and either may take effect first.
 * Only `a.return < b.call` orders `a` before `b`.
 */
export interface Operation<Input, Output> {
  /** Who made the call; only used to explain failures (a client need not be sequential). */
  clientId: number;
  input: Input;
  /**
   * undefined when the outcome is unknown (timed out, node crashed): it may or may not have
   * taken effect. A known outcome must therefore never be `undefined` itself; models whose
   * answers can be "nothing" wrap them, as `KvOutput` does.
   */
  output?: Output;
  /** When the call started, in any monotonic unit shared by the whole history. */
  call: number;
  /**
   * When it returned; Infinity when the outcome is unknown. An operation with an unknown
   * output and a finite return took effect by that time or not at all; a client that merely
   * gave up waiting does not know that, and must record Infinity.
   */
  return: number;
}

/**
 * Checks that every operation of a history is well formed, so that the search never reasons
 * about NaN or reversed intervals (which would silently turn into false verdicts).
 *
 * @throws InvalidHistoryError naming the first malformed operation.
 */
export function validateHistory(history: readonly Operation<unknown, unknown>[]): void {
  if (!Array.isArray(history)) {
    throw new InvalidHistoryError(`expected an array of operations, found ${typeof history}`);
  }
  for (let index = 0; index < history.length; index++) {
    const operation = history[index];
    if (typeof operation !== "object" || operation === null) {
      throw new InvalidHistoryError(`expected an operation object, found ${operation}`, index);
    }
    const { call, return: returned, output } = operation;
    if (typeof call !== "number" || !Number.isFinite(call)) {
      throw new InvalidHistoryError(`expected a finite call time, found ${String(call)}`, index);
    }
    if (typeof returned !== "number" || Number.isNaN(returned)) {
      throw new InvalidHistoryError(
        `expected a return time (a number, or Infinity when the outcome is unknown), found ${String(returned)}`,
        index,
      );
    }
    if (returned < call) {
      throw new InvalidHistoryError(
        `expected return >= call, found call ${call} and return ${returned}`,
        index,
      );
    }
    if (returned === Number.POSITIVE_INFINITY && output !== undefined) {
      throw new InvalidHistoryError(
        "expected a finite return time for an operation with a known output, found Infinity " +
          "(an operation that never returned has an unknown output)",
        index,
      );
    }
  }
}

/** A time for humans: Infinity (never returned) prints as ∞. */
export function formatTime(time: number): string {
  return time === Number.POSITIVE_INFINITY ? "∞" : String(time);
}
