// What a test harness uses: the check, its verdicts and errors, the recorder, the KV model.
export { checkLinearizability, DEFAULT_MAX_STEPS } from "./check-linearizability.js";
export type {
  CheckOptions,
  CheckResult,
  IllegalResult,
  LinearizableResult,
  UnknownResult,
} from "./check-result.js";
export {
  AlreadySettledError,
  InvalidHistoryError,
  InvalidModelError,
  isAlreadySettledError,
  isInvalidHistoryError,
  isInvalidModelError,
} from "./errors.js";
export { HistoryRecorder, type OperationHandle } from "./history-recorder.js";
export { type KvInput, type KvOutput, kvModel } from "./kv-model.js";
// The shapes of models and histories, for models of other systems and hand-built histories.
export type { Model } from "./model.js";
export type { Operation } from "./operation.js";
