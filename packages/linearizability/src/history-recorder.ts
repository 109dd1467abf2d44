import { AlreadySettledError, InvalidHistoryError } from "./errors.js";
import type { Operation } from "./operation.js";

/** A call in flight, returned by `HistoryRecorder.invoke`; settle it exactly once. */
export interface OperationHandle<Output> {
  /** The call returned `output`, now. */
  ok(output: Output): void;
  /**
   * The outcome is unknown (timed out, connection lost, node crashed): the operation may or may
   * not have taken effect, then or at any later time. Recorded with return = Infinity.
   */
  unknown(): void;
  /** Whether `ok` or `unknown` has been called. */
  readonly settled: boolean;
}

interface RecordedCall<Input, Output> {
  clientId: number;
  input: Input;
  call: number;
  /** undefined while in flight. */
  outcome: { output: Output; return: number } | "unknown" | undefined;
}

/**
 * Records what clients see of a system under test, as a history for `checkLinearizability`:
 * `invoke` when a client sends a request, then `ok(output)` or `unknown()` on its handle.
 *
 * Times come from the caller's clock: virtual time in a deterministic simulation,
 * `performance.now()` against real processes. Any monotonic clock shared by all clients works;
 * `Date.now()` does not, since it can go backwards.
 *
 * Inputs and outputs are kept by reference: do not mutate them after recording them.
 */
export class HistoryRecorder<Input, Output> {
  readonly #clock: () => number;
  readonly #records: RecordedCall<Input, Output>[] = [];
  #inFlight = 0;

  constructor(clock: () => number) {
    this.#clock = clock;
  }

  /** How many operations have been invoked. */
  get size(): number {
    return this.#records.length;
  }

  /** How many invoked operations are not settled yet. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Records the start of a call, at the clock's current time.
   * @throws InvalidHistoryError when the clock does not return a finite number.
   */
  invoke(clientId: number, input: Input): OperationHandle<Output> {
    const call = this.#now("call");
    const index = this.#records.length;
    const record: RecordedCall<Input, Output> = { clientId, input, call, outcome: undefined };
    this.#records.push(record);
    this.#inFlight++;

    const ensureInFlight = (second: string) => {
      if (record.outcome !== undefined) {
        throw new AlreadySettledError(index, describeOutcome(record.outcome), second);
      }
    };
    const settle = (outcome: RecordedCall<Input, Output>["outcome"]) => {
      record.outcome = outcome;
      this.#inFlight--;
    };
    return {
      ok: (output: Output) => {
        ensureInFlight("ok");
        if (output === undefined) {
          throw new InvalidHistoryError(
            "ok() needs the output the call returned, found undefined; " +
              "call unknown() when the outcome is not known",
            index,
          );
        }
        const returned = this.#now("return");
        if (returned < call) {
          throw new InvalidHistoryError(
            `the clock went backwards: expected a return time >= the call time ${call}, found ${returned}`,
            index,
          );
        }
        settle({ output, return: returned });
      },
      unknown: () => {
        ensureInFlight("unknown");
        settle("unknown");
      },
      get settled() {
        return record.outcome !== undefined;
      },
    };
  }

  /**
   * The history so far, as new operation objects in invocation order. Operations still in
   * flight appear with an unknown outcome, which is exactly what they are: checking a history
   * while requests are outstanding (or after the clients were killed) is sound.
   */
  history(): Operation<Input, Output>[] {
    return this.#records.map(({ clientId, input, call, outcome }) =>
      outcome === undefined || outcome === "unknown"
        ? { clientId, input, call, return: Number.POSITIVE_INFINITY }
        : { clientId, input, output: outcome.output, call, return: outcome.return },
    );
  }

  #now(what: "call" | "return"): number {
    const time = this.#clock();
    if (typeof time !== "number" || !Number.isFinite(time)) {
      throw new InvalidHistoryError(
        `the clock returned ${String(time)} for a ${what} time; expected a finite number`,
      );
    }
    return time;
  }
}

function describeOutcome(outcome: "unknown" | { output: unknown; return: number }): string {
  return outcome === "unknown" ? "unknown" : `ok at ${outcome.return}`;
}
