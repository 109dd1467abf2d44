import { EntryList, isReturnEntry, operationOf } from "./entry-list.js";
import { InvalidModelError } from "./errors.js";
import { LinearizedSet } from "./linearized-set.js";
import type { Model } from "./model.js";
import type { Operation } from "./operation.js";

/** The budget of one partition's search. */
export interface SearchLimits {
  maxSteps: number;
  /** A `performance.now()` after which the search gives up, or undefined for none. */
  deadline: number | undefined;
}

/** One operation of a (partial) linearization: applied, or assumed never to have taken effect. */
export interface PlacedOperation {
  /** Index into the partition's operations. */
  operation: number;
  omitted: boolean;
}

/** How the search of one partition ended. */
export type SearchOutcome<State> =
  | { kind: "linearizable"; steps: number }
  | { kind: "illegal"; steps: number; deepest: PlacedOperation[]; stateAfterDeepest: State }
  | { kind: "exhausted"; steps: number; by: "maxSteps" | "timeout" };

interface Frame<State> {
  /** The operation, numbered in call order. */
  op: number;
  /** The state before it, restored on backtracking. */
  before: State;
  /** The states `step` offered, or undefined when the operation was left out. */
  alternatives: State[] | undefined;
  /** Which alternative this frame took. */
  taken: number;
}

// How often the search reads the clock when it has a deadline: rarely enough to cost nothing.
const clockInterval = 1024;

/**
 * Searches one partition for a linearization: the Wing–Gong algorithm with Lowe's memoization,
 * written from the description in Lowe, "Testing for linearizability" (2017).
 *
 * Walk the time-ordered entries from the head. At a call entry, try to apply the operation to
 * the current state; if the model allows it and the configuration (set of operations
 * linearized, resulting state) is new, remember it, push the choice, lift the operation out of
 * the list and start again from the head. At a return entry, an operation that has returned is
 * still not linearized, and nothing called later may come before it: the path is dead. Pop the
 * last choice, put its operation back and try what comes after it (its next alternative state
 * first). An empty list is a linearization; an empty stack at a dead end proves there is none.
 * A configuration seen before was explored to the end without success (it cannot be on the
 * current path, whose sets only grow), which is what makes skipping it sound.
 *
 * Unknown outcomes. An operation with an unknown output may never have taken effect. With a
 * finite return, leaving it out is tried at its return entry, the last moment it can be
 * decided, which stands for every earlier moment without multiplying branches. A never-returned
 * operation sits in the list with its return at ∞: it is tried at every point like any other,
 * and when the walk reaches a return at ∞, every operation left never returned and leaving
 * them all out completes the linearization.
 *
 * A step is one operation tried, one return entry reached, or one backtrack.
 */
export function searchPartition<State, Input, Output>(
  model: Model<State, Input, Output>,
  operations: readonly Operation<Input, Output>[],
  limits: SearchLimits,
): SearchOutcome<State> {
  const count = operations.length;
  // Operations renumbered in call order (ties by position), as LinearizedSet's key requires.
  const byCallOrder = Array.from({ length: count }, (_, index) => index).sort(
    (a, b) => operations[a].call - operations[b].call || a - b,
  );
  const inputs = byCallOrder.map((index) => operations[index].input);
  const outputs = byCallOrder.map((index) => operations[index].output);
  const returnTimes = Float64Array.from(byCallOrder, (index) => operations[index].return);
  const entries = new EntryList(
    Float64Array.from(byCallOrder, (index) => operations[index].call),
    returnTimes,
  );
  const linearized = new LinearizedSet(count);
  const seen = new Set<string>();
  const stack: Frame<State>[] = [];
  let state = model.init();
  let steps = 0;
  let exhaustedBy: "maxSteps" | "timeout" | undefined;

  // The deepest stack so far, for the failure explanation, where depth counts the operations
  // that returned (never-returned ones need not take effect, and placing them says little).
  // Its first `deepestShared` frames are still those of the current stack, so that taking a
  // new deepest copies only the frames that changed.
  const deepest: { op: number; omitted: boolean; after: State }[] = [];
  let deepestShared = 0;
  let deepestReturned = -1;
  let placedReturned = 0;
  const returned = (op: number) => returnTimes[op] !== Number.POSITIVE_INFINITY;

  const spendStep = (): boolean => {
    steps++;
    if (steps > limits.maxSteps) exhaustedBy = "maxSteps";
    else if (
      limits.deadline !== undefined &&
      steps % clockInterval === 0 &&
      performance.now() >= limits.deadline
    ) {
      exhaustedBy = "timeout";
    }
    return exhaustedBy === undefined;
  };

  const push = (frame: Frame<State>, after: State): void => {
    stack.push(frame);
    entries.lift(frame.op);
    state = after;
    if (returned(frame.op)) placedReturned++;
    if (placedReturned > deepestReturned) {
      deepestReturned = placedReturned;
      deepest.length = stack.length;
      for (let depth = deepestShared; depth < stack.length; depth++) {
        const placed = stack[depth];
        deepest[depth] = {
          op: placed.op,
          omitted: placed.alternatives === undefined,
          after: depth + 1 < stack.length ? stack[depth + 1].before : state,
        };
      }
      deepestShared = stack.length;
    }
  };

  const pop = (): Frame<State> | undefined => {
    const frame = stack.pop();
    if (frame === undefined) return undefined;
    entries.unlift(frame.op);
    linearized.remove(frame.op);
    if (returned(frame.op)) placedReturned--;
    state = frame.before;
    if (stack.length < deepestShared) deepestShared = stack.length;
    return frame;
  };

  // Tries alternatives[from…] of `op` in the current state, or with `alternatives` undefined
  // leaves `op` out; true when a new configuration was found and pushed.
  const tryPlace = (op: number, alternatives: State[] | undefined, from: number): boolean => {
    const candidates = alternatives ?? [state];
    if (from >= candidates.length) return false;
    linearized.add(op);
    const setKey = linearized.key();
    for (let taken = from; taken < candidates.length; taken++) {
      const next = candidates[taken];
      const configuration = setKey + stateKey(model, next);
      if (seen.has(configuration)) continue;
      seen.add(configuration);
      push({ op, before: state, alternatives, taken }, next);
      return true;
    }
    linearized.remove(op);
    return false;
  };

  let entry = entries.first();
  search: while (!entries.isEmpty()) {
    if (!spendStep()) break;
    const op = operationOf(entry);
    if (!isReturnEntry(entry)) {
      const alternatives = model.step(state, inputs[op], outputs[op]);
      if (!Array.isArray(alternatives)) {
        throw new InvalidModelError(
          `model.step must return an array of states (empty = illegal), found ${typeof alternatives}`,
        );
      }
      entry = tryPlace(op, alternatives, 0) ? entries.first() : entries.after(entry);
      continue;
    }
    if (returnTimes[op] === Number.POSITIVE_INFINITY) break; // leave out every operation left
    if (outputs[op] === undefined && tryPlace(op, undefined, 0)) {
      entry = entries.first();
      continue;
    }
    // Dead end: backtrack until some earlier choice has an untried continuation.
    for (;;) {
      if (!spendStep()) break search;
      const frame = pop();
      if (frame === undefined) {
        return {
          kind: "illegal",
          steps,
          deepest: deepest.map((placed) => ({
            operation: byCallOrder[placed.op],
            omitted: placed.omitted,
          })),
          stateAfterDeepest:
            deepest.length === 0 ? model.init() : deepest[deepest.length - 1].after,
        };
      }
      // Leaving an operation out was the only way past its return entry: nothing else there.
      if (frame.alternatives === undefined) continue;
      entry = tryPlace(frame.op, frame.alternatives, frame.taken + 1)
        ? entries.first()
        : entries.after(2 * frame.op);
      continue search;
    }
  }
  if (exhaustedBy !== undefined) return { kind: "exhausted", steps, by: exhaustedBy };
  return { kind: "linearizable", steps };
}

function stateKey<State>(model: Model<State, unknown, unknown>, state: State): string {
  const key = model.key(state);
  if (typeof key !== "string") {
    throw new InvalidModelError(`model.key must return a string, found ${typeof key}`);
  }
  return key;
}
