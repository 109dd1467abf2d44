import type { CheckOptions, CheckResult } from "./check-result.js";
import { InvalidModelError } from "./errors.js";
import { explainFailure } from "./explain.js";
import type { Model } from "./model.js";
import { type Operation, validateHistory } from "./operation.js";
import { searchPartition } from "./search.js";

/**
 * The default search budget per partition: about 1 to 5 seconds of search. A linearizable
 * history typically needs a few steps per operation, so this leaves room for partitions of
 * 10⁵–10⁶ operations. It also bounds memory: the search remembers at most one configuration
 * (set, state) per step.
 */
export const DEFAULT_MAX_STEPS = 5_000_000;

/**
 * Checks whether a concurrent history is linearizable with respect to a sequential model:
 * whether every operation can be given one instant inside its [call, return] interval
 * (closed: operations that touch are concurrent) at which it takes effect, such that the
 * operations, applied in the order of those instants, are a legal run of the model. Operations
 * with an unknown outcome may also never have taken effect.
 *
 * Partitions (`model.partition`) are checked one by one, each with its own `maxSteps`, in the
 * order the model returns them. The first illegal partition decides the result; a partition
 * that runs out of budget makes the result "unknown" unless a later one is illegal.
 *
 * @throws InvalidHistoryError when an operation is malformed; InvalidModelError when the model
 *   breaks its contract; RangeError for a negative or non-numeric option.
 */
export function checkLinearizability<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  options: CheckOptions = {},
): CheckResult<Input, Output> {
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  if (!(maxSteps >= 0)) {
    throw new RangeError(`maxSteps: expected a number >= 0, found ${options.maxSteps}`);
  }
  if (options.timeoutMs !== undefined && !(options.timeoutMs >= 0)) {
    throw new RangeError(`timeoutMs: expected a number >= 0, found ${options.timeoutMs}`);
  }
  const deadline =
    options.timeoutMs === undefined ? undefined : performance.now() + options.timeoutMs;
  validateHistory(history);
  const partitions = model.partition === undefined ? [history] : model.partition(history);
  const historyIndex = checkPartitions(history, partitions);

  let steps = 0;
  let firstUnknown: { partition: number; reason: string } | undefined;
  let unknownCount = 0;
  for (let partition = 0; partition < partitions.length; partition++) {
    const operations = partitions[partition];
    if (operations.length === 0) continue;
    const outcome = searchPartition(model, operations, { maxSteps, deadline });
    steps += outcome.steps;
    if (outcome.kind === "illegal") {
      const partitionName = model.describePartition?.(operations);
      const failure = explainFailure({
        model,
        operations,
        historyIndex,
        partition,
        partitionCount: partitions.length,
        partitionName,
        deepest: outcome.deepest,
        stateAfterDeepest: outcome.stateAfterDeepest,
      });
      return {
        outcome: "illegal",
        partition,
        partitionName,
        operations: [...operations],
        steps,
        ...failure,
      };
    }
    if (outcome.kind === "exhausted") {
      unknownCount++;
      firstUnknown ??= {
        partition,
        reason: exhaustedReason(model, operations, partition, partitions.length, outcome.by, {
          maxSteps,
          timeoutMs: options.timeoutMs,
        }),
      };
      // Past the deadline, every partition left would time out too.
      if (outcome.by === "timeout") {
        unknownCount += partitions.slice(partition + 1).filter((p) => p.length > 0).length;
        break;
      }
    }
  }
  if (firstUnknown === undefined) return { outcome: "linearizable", steps };
  const others =
    unknownCount > 1 ? `; ${unknownCount - 1} more partition(s) were not decided either` : "";
  return {
    outcome: "unknown",
    reason: firstUnknown.reason + others,
    partition: firstUnknown.partition,
    steps,
  };
}

function exhaustedReason<State, Input, Output>(
  model: Model<State, Input, Output>,
  operations: readonly Operation<Input, Output>[],
  partition: number,
  partitionCount: number,
  by: "maxSteps" | "timeout",
  limits: { maxSteps: number; timeoutMs: number | undefined },
): string {
  const name = model.describePartition?.(operations);
  const where = `partition ${partition + 1} of ${partitionCount}${name === undefined ? "" : ` (${name})`}, ${operations.length} operations`;
  return by === "maxSteps"
    ? `${where}: the search needed more than maxSteps (${limits.maxSteps}) steps; ` +
        "the history may or may not be linearizable (raise maxSteps, or check fewer " +
        "concurrent or unknown-outcome operations per partition)"
    : `${where}: the check timed out after timeoutMs (${limits.timeoutMs} ms); ` +
        "the history may or may not be linearizable";
}

/**
 * Checks that `partitions` is a partition of `history` (each operation object in exactly one
 * sub-history, nothing else): a model that loses an operation would make a broken history
 * pass. Returns where each operation sits in the history, to name it in explanations.
 */
function checkPartitions<Input, Output>(
  history: readonly Operation<Input, Output>[],
  partitions: readonly (readonly Operation<Input, Output>[])[],
): Map<Operation<Input, Output>, number> {
  if (!Array.isArray(partitions) || !partitions.every((p) => Array.isArray(p))) {
    throw new InvalidModelError("model.partition must return an array of operation arrays");
  }
  const historyIndex = new Map<Operation<Input, Output>, number>();
  const unclaimed = new Map<Operation<Input, Output>, number>();
  history.forEach((operation, index) => {
    if (!historyIndex.has(operation)) historyIndex.set(operation, index);
    unclaimed.set(operation, (unclaimed.get(operation) ?? 0) + 1);
  });
  for (const [partition, operations] of partitions.entries()) {
    for (const operation of operations) {
      const left = unclaimed.get(operation);
      if (left === undefined || left === 0) {
        throw new InvalidModelError(
          `model.partition returned an operation ${left === undefined ? "that is not in the history" : "more often than the history holds it"} (in partition ${partition + 1}); ` +
            "expected the history's own operation objects, each in exactly one partition",
        );
      }
      unclaimed.set(operation, left - 1);
    }
  }
  for (const [operation, left] of unclaimed) {
    if (left > 0) {
      throw new InvalidModelError(
        `model.partition lost operation #${historyIndex.get(operation)}; ` +
          "expected every operation of the history in exactly one partition",
      );
    }
  }
  return historyIndex;
}
