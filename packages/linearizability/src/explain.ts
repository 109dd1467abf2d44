import { inspect } from "node:util";
import type { Model } from "./model.js";
import { formatTime, type Operation } from "./operation.js";
import type { PlacedOperation } from "./search.js";

/** What `explainFailure` needs to know about the failing partition. */
export interface FailureContext<State, Input, Output> {
  model: Model<State, Input, Output>;
  /** The failing partition's operations, in history order. */
  operations: readonly Operation<Input, Output>[];
  /** Position of each operation in the whole history, to name it as `#n`. */
  historyIndex: ReadonlyMap<Operation<Input, Output>, number>;
  partition: number;
  partitionCount: number;
  partitionName: string | undefined;
  /** The longest linearization the search found. */
  deepest: readonly PlacedOperation[];
  stateAfterDeepest: State;
}

/** The structured part of an illegal result, plus its text. */
export interface Failure<Input, Output> {
  explanation: string;
  longestLinearization: Operation<Input, Output>[];
  omitted: Operation<Input, Output>[];
  stateAfter: string;
  couldNotPlace: Operation<Input, Output>[];
}

// How many operations of the longest linearization the text shows (the rest is in the result).
const linearizationTail = 10;
// How many stuck candidates the text shows.
const candidateLimit = 20;

/**
 * Explains where the search got stuck. The longest linearization the search found (counting
 * the operations that returned) ends where no returned operation fits: the candidates are the
 * operations left whose call is not after the earliest return left (anything called later
 * must come after that operation). That point, the operations just before it and the
 * candidates are what a human needs to see the anomaly: a stale read, a lost write, a CAS
 * that should have failed.
 */
export function explainFailure<State, Input, Output>(
  context: FailureContext<State, Input, Output>,
): Failure<Input, Output> {
  const { model, operations, deepest, stateAfterDeepest } = context;
  const placed = new Set(deepest.map((p) => p.operation));
  const longestLinearization = deepest
    .filter((p) => !p.omitted)
    .map((p) => operations[p.operation]);
  const omitted = deepest.filter((p) => p.omitted).map((p) => operations[p.operation]);
  const stateAfter = describeState(model, stateAfterDeepest);

  // Never-returned operations need not take effect, so only returned ones can be stuck. One
  // of them is left: otherwise leaving out the never-returned rest would have succeeded.
  const left = operations.filter((_, index) => !placed.has(index));
  const returned = left.filter((operation) => operation.return !== Number.POSITIVE_INFINITY);
  const neverReturned = left.length - returned.length;
  let blocking = returned[0];
  for (const operation of returned) if (operation.return < blocking.return) blocking = operation;
  const couldNotPlace = returned
    .filter((operation) => operation.call <= blocking.return)
    .sort((a, b) => a.call - b.call);

  const name = (operation: Operation<Input, Output>) => describeOperation(context, operation);
  const lines: string[] = [];
  const where = context.partitionName === undefined ? "" : ` (${context.partitionName})`;
  lines.push(
    `not linearizable: partition ${context.partition + 1} of ${context.partitionCount}${where}, ` +
      `${count(operations.length, "operation")}, has no valid order.`,
  );
  if (deepest.length === 0) {
    lines.push(`No operation fits first, in the initial state ${stateAfter}:`);
  } else {
    const shown = deepest.slice(-linearizationTail);
    const skipped = deepest.length - shown.length;
    lines.push(
      `The longest linearization found places ${count(deepest.length, "operation")}` +
        (skipped > 0 ? `; the last ${shown.length}:` : ":"),
    );
    if (skipped > 0) lines.push(`  … ${skipped} earlier`);
    for (const p of shown) {
      const operation = operations[p.operation];
      lines.push(`  ${name(operation)}${p.omitted ? "   (assumed never to take effect)" : ""}`);
    }
    lines.push(
      `After it the state is ${stateAfter}, and none of the operations that could come next fits:`,
    );
  }
  for (const operation of couldNotPlace.slice(0, candidateLimit)) {
    lines.push(`  ${name(operation)}${verdict(model, stateAfterDeepest, operation)}`);
  }
  if (couldNotPlace.length > candidateLimit) {
    lines.push(`  … ${couldNotPlace.length - candidateLimit} more`);
  }
  if (neverReturned > 0) {
    lines.push(
      `  (and no placement of the ${count(neverReturned, "operation")} that never returned helps)`,
    );
  }
  lines.push(
    `(${label(context, blocking)} returned at ${formatTime(blocking.return)}, so nothing ` +
      "called after that can take effect before it.)",
  );
  return {
    explanation: lines.join("\n"),
    longestLinearization,
    omitted,
    stateAfter,
    couldNotPlace,
  };
}

// At the deepest point every candidate is illegal (a legal one would have gone deeper), unless
// the model answers differently to the same question; say so rather than hide it.
function verdict<State, Input, Output>(
  model: Model<State, Input, Output>,
  state: State,
  operation: Operation<Input, Output>,
): string {
  return model.step(state, operation.input, operation.output).length === 0
    ? ""
    : "   (legal here, yet every continuation failed)";
}

type Naming<State, Input, Output> = Pick<
  FailureContext<State, Input, Output>,
  "model" | "historyIndex"
>;

/** `#n`: the operation's position in the whole history. */
function label<State, Input, Output>(
  context: Naming<State, Input, Output>,
  operation: Operation<Input, Output>,
): string {
  return `#${context.historyIndex.get(operation) ?? "?"}`;
}

/** `#n  client c  [call, return]  description`, for one operation. */
export function describeOperation<State, Input, Output>(
  context: Naming<State, Input, Output>,
  operation: Operation<Input, Output>,
): string {
  const what =
    context.model.describe?.(operation.input, operation.output) ??
    `${render(operation.input)} -> ${operation.output === undefined ? "?" : render(operation.output)}`;
  return (
    `${label(context, operation)}  client ${operation.clientId}  ` +
    `[${formatTime(operation.call)}, ${formatTime(operation.return)}]  ${what}`
  );
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function describeState<State>(model: Model<State, unknown, unknown>, state: State): string {
  return model.describeState?.(state) ?? render(state);
}

function render(value: unknown): string {
  return inspect(value, { depth: 4, breakLength: Number.POSITIVE_INFINITY });
}
