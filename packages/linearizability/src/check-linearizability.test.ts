import { describe, expect, it } from "vitest";
import { checkLinearizability } from "./check-linearizability.js";
import type { CheckResult } from "./check-result.js";
import { type KvInput, type KvOutput, kvModel } from "./kv-model.js";
import type { Model } from "./model.js";
import {
  cas,
  del,
  failed,
  get,
  got,
  type KvOperation,
  notSwapped,
  ok,
  op,
  put,
  swapped,
  unknownOp,
} from "./test-support/builders.js";

function check(history: KvOperation[]): CheckResult<KvInput, KvOutput> {
  return checkLinearizability(kvModel, history);
}

const outcome = (history: KvOperation[]) => check(history).outcome;

describe("checkLinearizability with the key-value model", () => {
  it("accepts an empty history", () => {
    expect(check([])).toEqual({ outcome: "linearizable", steps: 0 });
  });

  it("accepts a sequential history that follows the register semantics", () => {
    expect(
      outcome([
        op(1, get("x"), got(undefined), 0, 1),
        op(1, put("x", "1"), ok, 2, 3),
        op(2, get("x"), got("1"), 4, 5),
        op(2, del("x"), ok, 6, 7),
        op(1, get("x"), got(undefined), 8, 9),
      ]),
    ).toBe("linearizable");
  });

  it("lets a read concurrent with a write see either the old or the new value", () => {
    const write = op(1, put("x", "1"), ok, 0, 10);
    expect(outcome([write, op(2, get("x"), got("1"), 2, 3)])).toBe("linearizable");
    expect(outcome([write, op(2, get("x"), got(undefined), 2, 3)])).toBe("linearizable");
  });

  it("rejects a stale read of a value overwritten before the read started", () => {
    const result = check([
      op(1, put("x", "1"), ok, 0, 1),
      op(1, put("x", "2"), ok, 2, 3),
      op(2, get("x"), got("1"), 4, 5),
    ]);
    expect(result.outcome).toBe("illegal");
  });

  it("rejects a lost write: a completed write that a later read does not see", () => {
    expect(outcome([op(1, put("x", "1"), ok, 0, 1), op(2, get("x"), got(undefined), 2, 3)])).toBe(
      "illegal",
    );
  });

  it("rejects reads that go back in time while a write is in flight", () => {
    // Once a read has seen the new value, a later read cannot see the old one, even though
    // both overlap the write.
    const write = op(1, put("x", "1"), ok, 0, 10);
    expect(
      outcome([write, op(2, get("x"), got("1"), 1, 2), op(3, get("x"), got(undefined), 3, 4)]),
    ).toBe("illegal");
    expect(
      outcome([write, op(2, get("x"), got(undefined), 1, 2), op(3, get("x"), got("1"), 3, 4)]),
    ).toBe("linearizable");
  });

  it("treats operations that touch at one timestamp as concurrent (closed intervals)", () => {
    // The write returns at 5 and the read is called at 5: the read may take effect first.
    expect(outcome([op(1, put("x", "1"), ok, 0, 5), op(2, get("x"), got(undefined), 5, 6)])).toBe(
      "linearizable",
    );
    // One tick later, the write precedes the read.
    expect(outcome([op(1, put("x", "1"), ok, 0, 5), op(2, get("x"), got(undefined), 6, 7)])).toBe(
      "illegal",
    );
  });

  it("orders an instantaneous operation like any other (call = return)", () => {
    expect(outcome([op(1, put("x", "1"), ok, 3, 3), op(2, get("x"), got("1"), 3, 3)])).toBe(
      "linearizable",
    );
    expect(outcome([op(1, put("x", "1"), ok, 3, 3), op(2, get("x"), got(undefined), 4, 4)])).toBe(
      "illegal",
    );
  });

  describe("operations whose outcome is unknown", () => {
    const lostOrNot = unknownOp(1, put("x", "1"), 0);

    it("accept a write that never returned as having taken effect", () => {
      expect(outcome([lostOrNot, op(2, get("x"), got("1"), 5, 6)])).toBe("linearizable");
    });

    it("accept a write that never returned as never having taken effect", () => {
      expect(outcome([lostOrNot, op(2, get("x"), got(undefined), 5, 6)])).toBe("linearizable");
    });

    it("accept a write that never returned taking effect late, after reads missed it", () => {
      expect(
        outcome([
          lostOrNot,
          op(2, get("x"), got(undefined), 5, 6),
          op(2, get("x"), got("1"), 100, 101),
        ]),
      ).toBe("linearizable");
    });

    it("reject a write that never returned being seen and then vanishing", () => {
      expect(
        outcome([
          lostOrNot,
          op(2, get("x"), got("1"), 5, 6),
          op(3, get("x"), got(undefined), 7, 8),
        ]),
      ).toBe("illegal");
    });

    it("bound a write with a finite return: it took effect by then or not at all", () => {
      const bounded = unknownOp(1, put("x", "1"), 0, 3);
      expect(outcome([bounded, op(2, get("x"), got("1"), 5, 6)])).toBe("linearizable");
      expect(outcome([bounded, op(2, get("x"), got(undefined), 5, 6)])).toBe("linearizable");
      expect(
        outcome([bounded, op(2, get("x"), got(undefined), 5, 6), op(2, get("x"), got("1"), 7, 8)]),
      ).toBe("illegal");
    });

    it("let a CAS with an unknown outcome have swapped or not", () => {
      const setUp = op(1, put("x", "1"), ok, 0, 1);
      const maybe = unknownOp(2, cas("x", "1", "2"), 2);
      expect(outcome([setUp, maybe, op(3, get("x"), got("2"), 5, 6)])).toBe("linearizable");
      expect(outcome([setUp, maybe, op(3, get("x"), got("1"), 5, 6)])).toBe("linearizable");
    });

    it("never let a CAS with an unknown outcome swap from a value the key did not hold", () => {
      const setUp = op(1, put("x", "1"), ok, 0, 1);
      const maybe = unknownOp(2, cas("x", "7", "2"), 2);
      expect(outcome([setUp, maybe, op(3, get("x"), got("2"), 5, 6)])).toBe("illegal");
    });
  });

  describe("compare-and-swap", () => {
    const setUp = op(1, put("x", "1"), ok, 0, 1);

    it("rejects two concurrent CAS from the same value that both report success", () => {
      expect(
        outcome([
          setUp,
          op(2, cas("x", "1", "2"), swapped, 2, 5),
          op(3, cas("x", "1", "3"), swapped, 2, 5),
        ]),
      ).toBe("illegal");
    });

    it("accepts two concurrent CAS from the same value when exactly one wins", () => {
      expect(
        outcome([
          setUp,
          op(2, cas("x", "1", "2"), swapped, 2, 5),
          op(3, cas("x", "1", "3"), notSwapped, 2, 5),
          op(4, get("x"), got("2"), 6, 7),
        ]),
      ).toBe("linearizable");
    });

    it("rejects a CAS that swapped from a value the key did not hold", () => {
      expect(outcome([setUp, op(2, cas("x", "9", "2"), swapped, 2, 3)])).toBe("illegal");
    });

    it("rejects a CAS that failed although the key held the expected value", () => {
      expect(outcome([setUp, op(2, cas("x", "1", "2"), notSwapped, 2, 3)])).toBe("illegal");
    });

    it("treats an undefined expected value as 'the key must be absent'", () => {
      expect(outcome([op(1, cas("x", undefined, "1"), swapped, 0, 1)])).toBe("linearizable");
      expect(outcome([setUp, op(2, cas("x", undefined, "2"), swapped, 2, 3)])).toBe("illegal");
      expect(
        outcome([setUp, op(2, del("x"), ok, 2, 3), op(3, cas("x", undefined, "2"), swapped, 4, 5)]),
      ).toBe("linearizable");
    });
  });

  it("treats a definite failure (ok: false) as having changed nothing", () => {
    const refused = op(1, put("x", "1"), failed, 0, 1);
    expect(outcome([refused, op(2, get("x"), got(undefined), 2, 3)])).toBe("linearizable");
    expect(outcome([refused, op(2, get("x"), got("1"), 2, 3)])).toBe("illegal");
    expect(outcome([op(1, put("x", "1"), ok, 0, 1), op(2, get("x"), failed, 2, 3)])).toBe(
      "linearizable",
    );
  });

  it("reports the partition (key) that fails, and only that one", () => {
    const result = check([
      op(1, put("a", "1"), ok, 0, 1),
      op(1, put("b", "1"), ok, 2, 3),
      op(2, get("a"), got("1"), 4, 5),
      op(2, get("b"), got("2"), 6, 7),
    ]);
    expect(result).toMatchObject({ outcome: "illegal", partition: 1, partitionName: 'key "b"' });
    if (result.outcome !== "illegal") return;
    expect(result.operations.map((o) => o.input.key)).toEqual(["b", "b"]);
  });

  it("does not modify the history it checks", () => {
    const history = [
      op(1, put("x", "1"), ok, 0, 1),
      unknownOp(2, put("x", "2"), 0),
      op(2, get("x"), got("3"), 4, 5),
    ];
    const frozen = Object.freeze(history.map((o) => Object.freeze({ ...o })));
    const copy = structuredClone(history);
    expect(checkLinearizability(kvModel, frozen).outcome).toBe("illegal");
    expect(frozen).toEqual(copy);
  });

  it("gives the same verdict and step count every time (deterministic)", () => {
    const history = [
      op(1, put("x", "1"), ok, 0, 10),
      op(2, put("x", "2"), ok, 1, 9),
      op(3, get("x"), got("1"), 2, 3),
      op(4, get("x"), got("2"), 4, 5),
      op(5, get("x"), got("1"), 6, 7), // "1" again would need a second put of "1"
    ];
    const first = check(history);
    expect(first.outcome).toBe("illegal");
    expect(check(history)).toEqual(first);
  });
});

describe("checkLinearizability with a nondeterministic model", () => {
  // A coin: "flip" leaves heads or tails, "look" reports the side up.
  type CoinInput = { op: "flip" } | { op: "look" };
  type CoinOutput = { side?: "heads" | "tails" };
  const coin: Model<"heads" | "tails", CoinInput, CoinOutput> = {
    init: () => "heads",
    step: (side, input, output) => {
      if (input.op === "flip") return ["heads", "tails"];
      return output === undefined || output.side === side ? [side] : [];
    },
    key: (side) => side,
  };
  const flip = (call: number, returned: number) => ({
    clientId: 1,
    input: { op: "flip" } as const,
    output: {},
    call,
    return: returned,
  });
  const look = (side: "heads" | "tails", call: number, returned: number) => ({
    clientId: 2,
    input: { op: "look" } as const,
    output: { side },
    call,
    return: returned,
  });

  it("tries every state the model offers, not just the first", () => {
    expect(checkLinearizability(coin, [flip(0, 1), look("tails", 2, 3)]).outcome).toBe(
      "linearizable",
    );
  });

  it("backtracks into the other alternatives of an earlier step", () => {
    // The first flip must land tails for the second look; the second flip must land heads.
    const history = [flip(0, 1), look("tails", 2, 3), flip(4, 5), look("heads", 6, 7)];
    expect(checkLinearizability(coin, history).outcome).toBe("linearizable");
    expect(
      checkLinearizability(coin, [flip(0, 1), look("tails", 2, 3), look("heads", 4, 5)]).outcome,
    ).toBe("illegal");
  });
});
