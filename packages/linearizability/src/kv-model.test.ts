import { describe, expect, it } from "vitest";
import { isInvalidModelError } from "./errors.js";
import { type KvInput, kvModel } from "./kv-model.js";
import { cas, del, failed, get, got, ok, op, put } from "./test-support/builders.js";
import { catchError } from "./test-support/catch-error.js";

const { step } = kvModel;

describe("kvModel", () => {
  it("starts with the key absent", () => {
    expect(kvModel.init()).toBeUndefined();
  });

  it("applies put and delete, unless they failed definitely", () => {
    expect(step("1", put("x", "2"), ok)).toEqual(["2"]);
    expect(step("1", put("x", "2"), failed)).toEqual(["1"]);
    expect(step("1", del("x"), ok)).toEqual([undefined]);
    expect(step("1", del("x"), failed)).toEqual(["1"]);
  });

  it("allows a get only when it returned the current value (undefined = absent)", () => {
    expect(step("1", get("x"), got("1"))).toEqual(["1"]);
    expect(step("1", get("x"), got("2"))).toEqual([]);
    expect(step("1", get("x"), got(undefined))).toEqual([]);
    expect(step(undefined, get("x"), got(undefined))).toEqual([undefined]);
    expect(step(undefined, get("x"), got(""))).toEqual([]);
    expect(step("1", get("x"), failed)).toEqual(["1"]);
  });

  it("allows a CAS to swap exactly when the key holds the expected value", () => {
    expect(step("1", cas("x", "1", "2"), ok)).toEqual(["2"]);
    expect(step("1", cas("x", "9", "2"), ok)).toEqual([]);
    expect(step("1", cas("x", "9", "2"), failed)).toEqual(["1"]);
    expect(step("1", cas("x", "1", "2"), failed)).toEqual([]);
    expect(step(undefined, cas("x", undefined, "2"), ok)).toEqual(["2"]);
    expect(step("", cas("x", undefined, "2"), ok)).toEqual([]);
  });

  it("lets an operation with an unknown outcome do whatever it would have done", () => {
    expect(step("1", put("x", "2"), undefined)).toEqual(["2"]);
    expect(step("1", del("x"), undefined)).toEqual([undefined]);
    expect(step("1", get("x"), undefined)).toEqual(["1"]);
    expect(step("1", cas("x", "1", "2"), undefined)).toEqual(["2"]);
    expect(step("1", cas("x", "9", "2"), undefined)).toEqual(["1"]);
  });

  it("keys states so that an absent key and an empty value differ", () => {
    const keys = [undefined, "", "=", "a"].map((state) => kvModel.key(state));
    expect(new Set(keys).size).toBe(4);
  });

  it("partitions a history by key, in order of first appearance, keeping the objects", () => {
    const history = [
      op(1, put("b", "1"), ok, 0, 1),
      op(1, put("a", "1"), ok, 0, 1),
      op(2, get("b"), got("1"), 2, 3),
    ];
    const partitions = kvModel.partition?.(history);
    expect(partitions).toEqual([[history[0], history[2]], [history[1]]]);
    expect(partitions?.[0][0]).toBe(history[0]);
    expect(kvModel.describePartition?.(history.slice(0, 1))).toBe('key "b"');
  });

  it("describes operations and states for failure explanations", () => {
    const describe = kvModel.describe;
    expect(describe?.(put("x", "1"), ok)).toBe('put x="1" -> ok');
    expect(describe?.(get("x"), got(undefined))).toBe("get x -> absent");
    expect(describe?.(get("x"), got("1"))).toBe('get x -> "1"');
    expect(describe?.(cas("x", undefined, "2"), failed)).toBe('cas x absent->"2" -> not swapped');
    expect(describe?.(cas("x", "1", "2"), ok)).toBe('cas x "1"->"2" -> swapped');
    expect(describe?.(del("x"), undefined)).toBe("delete x -> ? (outcome unknown)");
    expect(kvModel.describeState?.(undefined)).toBe("absent");
  });

  it("rejects an operation it does not know with InvalidModelError", () => {
    const bogus = { op: "increment", key: "x" } as unknown as KvInput;
    const error = catchError(() => step("1", bogus, ok));
    expect(isInvalidModelError(error)).toBe(true);
    expect(error).toHaveProperty(
      "message",
      'kvModel: expected op put, get, cas or delete, found "increment"',
    );
  });
});
