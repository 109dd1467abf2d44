import { InvalidModelError } from "./errors.js";
import type { Model } from "./model.js";
import type { Operation } from "./operation.js";

/** An operation on one key of a key-value store. */
export type KvInput =
  | { op: "put"; key: string; value: string }
  | { op: "get"; key: string }
  /** expected undefined = the key must be absent. */
  | { op: "cas"; key: string; expected: string | undefined; value: string }
  | { op: "delete"; key: string };

/**
 * What a key-value operation returned.
 * - put, delete: `ok: true`; `ok: false` records a definite failure that changed nothing.
 * - get: `ok: true` and `value` (undefined = absent); `ok: false` records a failed read, which
 *   observed nothing.
 * - cas: `ok` = swapped; `ok: false` means the key did not hold `expected`. A CAS that failed
 *   for another reason (no leader, timeout) must be recorded as unknown, or not at all.
 */
export type KvOutput = { ok: boolean; value?: string };

/** The state of one key: its value, or undefined when absent. */
type KvState = string | undefined;

/**
 * A key-value register model: put, get, compare-and-swap and delete per key, partitioned by
 * key. The state of a partition is the value of its key (undefined = absent), starting absent.
 */
export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => undefined,

  step(state: KvState, input: KvInput, output: KvOutput | undefined): KvState[] {
    switch (input.op) {
      case "put":
        return output === undefined || output.ok ? [input.value] : [state];
      case "delete":
        return output === undefined || output.ok ? [undefined] : [state];
      case "get":
        if (output === undefined || !output.ok) return [state];
        return output.value === state ? [state] : [];
      case "cas": {
        const matches = state === input.expected;
        if (output === undefined) return [matches ? input.value : state];
        if (output.ok) return matches ? [input.value] : [];
        return matches ? [] : [state];
      }
      default:
        throw new InvalidModelError(
          `kvModel: expected op put, get, cas or delete, found ${JSON.stringify((input as { op: unknown }).op)}`,
        );
    }
  },

  // Injective: absent is "", a value v is "=v".
  key: (state: KvState) => (state === undefined ? "" : `=${state}`),

  partition(history: readonly Operation<KvInput, KvOutput>[]): Operation<KvInput, KvOutput>[][] {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const operation of history) {
      const key = operation.input.key;
      let operations = byKey.get(key);
      if (operations === undefined) {
        operations = [];
        byKey.set(key, operations);
      }
      operations.push(operation);
    }
    return [...byKey.values()];
  },

  describe(input: KvInput, output: KvOutput | undefined): string {
    const call = describeCall(input);
    if (output === undefined) return `${call} -> ? (outcome unknown)`;
    switch (input.op) {
      case "get":
        return `${call} -> ${output.ok ? showValue(output.value) : "failed"}`;
      case "cas":
        return `${call} -> ${output.ok ? "swapped" : "not swapped"}`;
      default:
        return `${call} -> ${output.ok ? "ok" : "failed"}`;
    }
  },

  describePartition: (operations) => `key ${JSON.stringify(operations[0]?.input.key)}`,

  describeState: (state: KvState) => showValue(state),
};

function describeCall(input: KvInput): string {
  switch (input.op) {
    case "put":
      return `put ${input.key}=${showValue(input.value)}`;
    case "get":
      return `get ${input.key}`;
    case "cas":
      return `cas ${input.key} ${showValue(input.expected)}->${showValue(input.value)}`;
    case "delete":
      return `delete ${input.key}`;
    default:
      return JSON.stringify(input);
  }
}

function showValue(value: string | undefined): string {
  return value === undefined ? "absent" : JSON.stringify(value);
}
