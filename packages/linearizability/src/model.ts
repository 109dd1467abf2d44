import type { Operation } from "./operation.js";

/**
 * An executable sequential specification of the system under test: what one operation may do
 * to one state. The checker asks whether some order of the history's operations, consistent
 * with real time, is a legal run of this model.
 *
 * The model must be pure: `step` never mutates `state` and gives the same answer every time
 * for the same arguments. The search memoizes on `key`, so a model that breaks either rule
 * can make the checker wrong in both directions.
 */
export interface Model<State, Input, Output> {
  init(): State;
  /**
   * The states the operation could leave behind if applied to `state` with the recorded output
   * (output undefined = unknown: any outcome). Empty = the operation is illegal here.
   *
   * Several states make the model nondeterministic; the search tries each. With an unknown
   * output, return the states of every outcome the operation could have had if it took effect;
   * the checker itself covers "it never took effect".
   */
  step(state: State, input: Input, output: Output | undefined): State[];
  /** Equal states must give equal keys (memoization), and different states different keys. */
  key(state: State): string;
  /**
   * Optional P-compositionality: independent sub-histories (for a key-value model, one per
   * key). A history is linearizable exactly when every sub-history is, so each is searched on
   * its own, which turns one exponential search into many small ones. Must return the
   * history's own operation objects, each in exactly one sub-history.
   */
  partition?(history: readonly Operation<Input, Output>[]): Operation<Input, Output>[][];
  /** Optional: a readable line for an operation, used in failure explanations. */
  describe?(input: Input, output: Output | undefined): string;
  /** Optional: a readable name for a sub-history (say, `key "x"`), used in results. */
  describePartition?(operations: readonly Operation<Input, Output>[]): string;
  /** Optional: a readable state, used in failure explanations. */
  describeState?(state: State): string;
}
