import type { Model } from "../model.js";
import type { Operation } from "../operation.js";

/**
 * The definition of linearizability, executed literally, as an oracle for tiny histories
 * (exponential: keep to about 7 operations). For every subset of unknown-outcome operations
 * assumed never to have taken effect, try every order of the rest that respects real time
 * (a.return < b.call puts a first; closed intervals) and run it through the model.
 * No memoization, no partitions, no event list: nothing shared with the real checker.
 */
export function bruteForceLinearizable<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
): boolean {
  const unknown = history.flatMap((operation, index) =>
    operation.output === undefined ? [index] : [],
  );
  for (let omitMask = 0; omitMask < 1 << unknown.length; omitMask++) {
    const omitted = new Set(unknown.filter((_, bit) => (omitMask >> bit) & 1));
    const kept = history.flatMap((_, index) => (omitted.has(index) ? [] : [index]));
    if (someLegalOrder(model, history, kept, model.init())) return true;
  }
  return false;
}

function someLegalOrder<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  remaining: number[],
  state: State,
): boolean {
  if (remaining.length === 0) return true;
  for (const candidate of remaining) {
    const mustWait = remaining.some(
      (other) => other !== candidate && history[other].return < history[candidate].call,
    );
    if (mustWait) continue;
    const { input, output } = history[candidate];
    const rest = remaining.filter((index) => index !== candidate);
    for (const next of model.step(state, input, output)) {
      if (someLegalOrder(model, history, rest, next)) return true;
    }
  }
  return false;
}
