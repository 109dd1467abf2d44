import { describe, expect, it } from "vitest";
import { checkLinearizability } from "./check-linearizability.js";
import type { IllegalResult } from "./check-result.js";
import { type KvInput, type KvOutput, kvModel } from "./kv-model.js";
import type { Model } from "./model.js";
import { get, got, type KvOperation, ok, op, put, unknownOp } from "./test-support/builders.js";

function illegal<S>(
  history: KvOperation[],
  model: Model<S, KvInput, KvOutput>,
): IllegalResult<KvInput, KvOutput> {
  const result = checkLinearizability(model, history);
  if (result.outcome !== "illegal") throw new Error(`expected illegal, found ${result.outcome}`);
  return result;
}

describe("failure explanations", () => {
  it("show the partition, the longest linearization, the state and the stuck operations", () => {
    const history = [
      op(1, put("a", "1"), ok, 0, 1),
      op(1, put("x", "1"), ok, 0, 1),
      unknownOp(2, put("x", "2"), 1, 3),
      unknownOp(4, put("x", "3"), 1),
      op(2, get("x"), got("1"), 4, 5),
      op(3, get("x"), got(undefined), 6, 7),
    ];
    const result = illegal(history, kvModel);
    expect(result.explanation).toBe(
      [
        'not linearizable: partition 2 of 2 (key "x"), 5 operations, has no valid order.',
        "The longest linearization found places 3 operations:",
        '  #1  client 1  [0, 1]  put x="1" -> ok',
        '  #2  client 2  [1, 3]  put x="2" -> ? (outcome unknown)   (assumed never to take effect)',
        '  #4  client 2  [4, 5]  get x -> "1"',
        'After it the state is "1", and none of the operations that could come next fits:',
        "  #5  client 3  [6, 7]  get x -> absent",
        "  (and no placement of the 1 operation that never returned helps)",
        "(#5 returned at 7, so nothing called after that can take effect before it.)",
      ].join("\n"),
    );
    expect(result.longestLinearization).toEqual([history[1], history[4]]);
    expect(result.omitted).toEqual([history[2]]);
    expect(result.couldNotPlace).toEqual([history[5]]);
    expect(result.stateAfter).toBe('"1"');
  });

  it("say so when not even the first operation fits", () => {
    const result = illegal([op(1, get("x"), got("1"), 0, 1)], kvModel);
    expect(result.explanation).toBe(
      [
        'not linearizable: partition 1 of 1 (key "x"), 1 operation, has no valid order.',
        "No operation fits first, in the initial state absent:",
        '  #0  client 1  [0, 1]  get x -> "1"',
        "(#0 returned at 1, so nothing called after that can take effect before it.)",
      ].join("\n"),
    );
    expect(result.longestLinearization).toEqual([]);
  });

  it("show only the end of a long linearization, and all of it in the result", () => {
    const history: KvOperation[] = [];
    for (let i = 0; i < 30; i++) history.push(op(i % 3, put("x", `v${i}`), ok, 2 * i, 2 * i + 1));
    history.push(op(7, get("x"), got("v3"), 100, 101));
    const result = illegal(history, kvModel);
    const lines = result.explanation.split("\n");
    expect(lines[1]).toBe("The longest linearization found places 30 operations; the last 10:");
    expect(lines[2]).toBe("  … 20 earlier");
    expect(lines[3]).toBe('  #20  client 2  [40, 41]  put x="v20" -> ok');
    expect(lines).toHaveLength(16);
    expect(result.longestLinearization).toEqual(history.slice(0, 30));
  });

  it("list every operation that could have come next, concurrent ones included", () => {
    const history = [
      op(1, put("x", "1"), ok, 0, 1),
      op(2, get("x"), got("2"), 2, 9),
      op(3, get("x"), got("3"), 3, 8),
      op(4, get("x"), got("1"), 10, 11),
    ];
    const result = illegal(history, kvModel);
    expect(result.couldNotPlace).toEqual([history[1], history[2]]);
    expect(result.explanation).toContain("(#2 returned at 8, so nothing called after that");
  });

  it("fall back to a generic rendering for models without describe functions", () => {
    const bare: Model<string | undefined, KvInput, KvOutput> = {
      init: kvModel.init,
      step: kvModel.step,
      key: kvModel.key,
    };
    const result = illegal([op(1, put("x", "1"), ok, 0, 1), op(3, get("x"), got("2"), 4, 5)], bare);
    expect(result.partitionName).toBeUndefined();
    expect(result.explanation).toBe(
      [
        "not linearizable: partition 1 of 1, 2 operations, has no valid order.",
        "The longest linearization found places 1 operation:",
        "  #0  client 1  [0, 1]  { op: 'put', key: 'x', value: '1' } -> { ok: true }",
        "After it the state is '1', and none of the operations that could come next fits:",
        "  #1  client 3  [4, 5]  { op: 'get', key: 'x' } -> { ok: true, value: '2' }",
        "(#1 returned at 5, so nothing called after that can take effect before it.)",
      ].join("\n"),
    );
  });
});
