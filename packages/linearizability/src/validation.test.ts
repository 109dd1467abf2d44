import { describe, expect, it } from "vitest";
import { checkLinearizability } from "./check-linearizability.js";
import {
  AlreadySettledError,
  InvalidHistoryError,
  InvalidModelError,
  isAlreadySettledError,
  isInvalidHistoryError,
  isInvalidModelError,
} from "./errors.js";
import { type KvInput, type KvOutput, kvModel } from "./kv-model.js";
import type { Model } from "./model.js";
import type { Operation } from "./operation.js";
import { get, got, type KvOperation, ok, op, put } from "./test-support/builders.js";
import { catchError } from "./test-support/catch-error.js";

const good = op(1, put("x", "1"), ok, 0, 1);

function rejectionOf(history: unknown[]): unknown {
  return catchError(() => checkLinearizability(kvModel, history as KvOperation[]));
}

describe("malformed histories", () => {
  it.each([
    [
      "a call time that is NaN",
      { ...good, call: Number.NaN },
      "expected a finite call time, found NaN",
    ],
    [
      "a call time of -Infinity",
      { ...good, call: Number.NEGATIVE_INFINITY },
      "expected a finite call time, found -Infinity",
    ],
    ["a missing return time", { ...good, return: undefined }, "found undefined"],
    [
      "a return before the call",
      { ...good, call: 5, return: 4 },
      "expected return >= call, found call 5 and return 4",
    ],
    [
      "a known output that never returned",
      { ...good, return: Number.POSITIVE_INFINITY },
      "expected a finite return time for an operation with a known output",
    ],
    ["something that is not an operation", null, "expected an operation object, found null"],
  ])("are rejected with InvalidHistoryError: %s", (_, operation, message) => {
    const error = rejectionOf([good, operation]);
    expect(isInvalidHistoryError(error)).toBe(true);
    expect((error as InvalidHistoryError).operationIndex).toBe(1);
    expect((error as Error).message).toContain("operation #1: ");
    expect((error as Error).message).toContain(message);
  });

  it("is rejected when it is not an array", () => {
    const error = catchError(() =>
      checkLinearizability(kvModel, "nope" as unknown as KvOperation[]),
    );
    expect(isInvalidHistoryError(error)).toBe(true);
  });

  it("rejects options that make no sense with RangeError", () => {
    expect(() => checkLinearizability(kvModel, [good], { maxSteps: -1 })).toThrow(RangeError);
    expect(() => checkLinearizability(kvModel, [good], { maxSteps: Number.NaN })).toThrow(
      "maxSteps: expected a number >= 0, found NaN",
    );
    expect(() => checkLinearizability(kvModel, [good], { timeoutMs: -5 })).toThrow(RangeError);
  });
});

describe("models that break their contract", () => {
  const history = [good, op(2, get("x"), got("1"), 2, 3)];

  function failureOf<S>(model: Model<S, KvInput, KvOutput>): unknown {
    return catchError(() => checkLinearizability(model, history));
  }

  it("are caught when step returns a state instead of an array of states", () => {
    // A string state would otherwise be iterated as an array of characters.
    const error = failureOf({
      ...kvModel,
      step: (_s, input) => ("value" in input ? input.value : "") as never,
    });
    expect(isInvalidModelError(error)).toBe(true);
    expect((error as Error).message).toBe(
      "model.step must return an array of states (empty = illegal), found string",
    );
  });

  it("are caught when key returns something other than a string", () => {
    const error = failureOf({ ...kvModel, key: () => undefined as unknown as string });
    expect(isInvalidModelError(error)).toBe(true);
    expect((error as Error).message).toBe("model.key must return a string, found undefined");
  });

  it("are caught when partition loses an operation", () => {
    const error = failureOf({ ...kvModel, partition: (h) => [h.slice(1)] });
    expect(isInvalidModelError(error)).toBe(true);
    expect((error as Error).message).toContain("model.partition lost operation #0");
  });

  it("are caught when partition duplicates or invents operations", () => {
    const twice = failureOf({ ...kvModel, partition: (h) => [[...h], [h[0]]] });
    expect((twice as Error).message).toContain("more often than the history holds it");
    const copies = failureOf({ ...kvModel, partition: (h) => [h.map((o) => ({ ...o }))] });
    expect(isInvalidModelError(copies)).toBe(true);
    expect((copies as Error).message).toContain("that is not in the history");
  });

  it("accept the same operation object listed twice when the partition lists it twice", () => {
    const repeated: Operation<KvInput, KvOutput>[] = [good, good];
    expect(checkLinearizability(kvModel, repeated).outcome).toBe("linearizable");
  });

  it("let errors thrown by the model itself through unchanged", () => {
    const cause = new TypeError("boom");
    const error = failureOf({
      ...kvModel,
      step: () => {
        throw cause;
      },
    });
    expect(error).toBe(cause);
  });
});

describe("error guards", () => {
  it("recognise each error by name, also from another copy of the package", () => {
    const foreign = (name: string) => Object.assign(new Error("x"), { name });
    expect(isInvalidHistoryError(new InvalidHistoryError("x"))).toBe(true);
    expect(isInvalidHistoryError(foreign("InvalidHistoryError"))).toBe(true);
    expect(isInvalidModelError(new InvalidModelError("x"))).toBe(true);
    expect(isInvalidModelError(foreign("InvalidModelError"))).toBe(true);
    expect(isAlreadySettledError(new AlreadySettledError(0, "ok at 1", "ok"))).toBe(true);
    expect(isAlreadySettledError(foreign("AlreadySettledError"))).toBe(true);
    expect(isInvalidHistoryError(new InvalidModelError("x"))).toBe(false);
    expect(isInvalidModelError({ name: "InvalidModelError" })).toBe(false);
  });
});
