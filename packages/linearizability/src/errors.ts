// Every error of this package has a stable `name`, and its guard checks that name rather than
// `instanceof`, so that guards keep working across duplicate copies of the package (one loaded
// as source and one as dist, or two versions side by side).
//
// None of these errors is about the system under test: a history that is not linearizable is a
// result (`outcome: "illegal"`), never an exception. These errors say that the checker was
// asked something it cannot answer, so that a broken harness never passes for a correct system.

/**
 * A history, or an operation recorded into one, is malformed: a call time that is not a finite
 * number, a return before its call, a known output without a return time, or a clock that went
 * backwards. Nothing was checked; fix the harness that recorded the history.
 */
export class InvalidHistoryError extends Error {
  override readonly name = "InvalidHistoryError";
  /** The position of the offending operation in the history, when there is one. */
  readonly operationIndex: number | undefined;
  constructor(message: string, operationIndex?: number, options?: ErrorOptions) {
    super(
      operationIndex === undefined ? message : `operation #${operationIndex}: ${message}`,
      options,
    );
    this.operationIndex = operationIndex;
  }
}

/**
 * A model broke its contract: `step` returned something other than an array of states, `key`
 * returned something other than a string, `partition` lost, invented or duplicated operations,
 * or `step` met an input it does not know. Nothing can be concluded; fix the model.
 */
export class InvalidModelError extends Error {
  override readonly name = "InvalidModelError";
}

/**
 * A handle of `HistoryRecorder` was settled (with `ok` or `unknown`) a second time. The first
 * outcome stands; a second one means the client lost track of its own operation.
 */
export class AlreadySettledError extends Error {
  override readonly name = "AlreadySettledError";
  /** The position of the operation in the recorder's history. */
  readonly operationIndex: number;
  constructor(operationIndex: number, first: string, second: string, options?: ErrorOptions) {
    super(
      `operation #${operationIndex} was already settled as ${first}; expected one outcome, ` +
        `found a second one (${second})`,
      options,
    );
    this.operationIndex = operationIndex;
  }
}

function hasName(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}

/** Whether `error` is an InvalidHistoryError (from any copy of this package). */
export function isInvalidHistoryError(error: unknown): error is InvalidHistoryError {
  return hasName(error, "InvalidHistoryError");
}

/** Whether `error` is an InvalidModelError (from any copy of this package). */
export function isInvalidModelError(error: unknown): error is InvalidModelError {
  return hasName(error, "InvalidModelError");
}

/** Whether `error` is an AlreadySettledError (from any copy of this package). */
export function isAlreadySettledError(error: unknown): error is AlreadySettledError {
  return hasName(error, "AlreadySettledError");
}
