import { describe, expect, it } from "vitest";
import { checkLinearizability, DEFAULT_MAX_STEPS } from "./check-linearizability.js";
import { kvModel } from "./kv-model.js";
import { get, got, type KvOperation, ok, op, put, unknownOp } from "./test-support/builders.js";
import { simulateClients } from "./test-support/kv-generators.js";

/**
 * A history that is expensive to reject: `writes` concurrent writes that never returned, then
 * a read of a value none of them wrote. Before giving up, the search must try every subset of
 * the writes in every order that leaves a different last value: about writes · 2^writes
 * configurations.
 */
function hardToReject(key: string, writes: number): KvOperation[] {
  const history: KvOperation[] = [];
  for (let i = 0; i < writes; i++) history.push(unknownOp(i, put(key, `v${i}`), 0));
  history.push(op(99, get(key), got("never-written"), 1, 2));
  return history;
}

describe("the search budget", () => {
  it("turns an undecided search into 'unknown', never into a pass", () => {
    const result = checkLinearizability(kvModel, hardToReject("x", 10), { maxSteps: 500 });
    expect(result).toMatchObject({ outcome: "unknown", partition: 0 });
    if (result.outcome !== "unknown") return;
    expect(result.reason).toBe(
      'partition 1 of 1 (key "x"), 11 operations: the search needed more than maxSteps (500) ' +
        "steps; the history may or may not be linearizable (raise maxSteps, or check fewer " +
        "concurrent or unknown-outcome operations per partition)",
    );
    expect(result.steps).toBe(501);
  });

  it("reaches the same verdict once the budget is large enough", () => {
    const result = checkLinearizability(kvModel, hardToReject("x", 10));
    expect(result.outcome).toBe("illegal");
    expect(result.steps).toBeGreaterThan(500);
    expect(result.steps).toBeLessThan(DEFAULT_MAX_STEPS);
  });

  it("is counted in steps, so the verdict does not depend on the machine", () => {
    const history = hardToReject("x", 10);
    const first = checkLinearizability(kvModel, history, { maxSteps: 2_000 });
    const second = checkLinearizability(kvModel, history, { maxSteps: 2_000 });
    expect(second).toEqual(first);
  });

  it("applies to each partition, so a hard key does not hide a broken one", () => {
    const broken = [op(1, put("b", "1"), ok, 0, 1), op(2, get("b"), got("2"), 2, 3)];
    const result = checkLinearizability(kvModel, [...hardToReject("a", 10), ...broken], {
      maxSteps: 200,
    });
    expect(result).toMatchObject({ outcome: "illegal", partition: 1 });
  });

  it("reports every partition left undecided", () => {
    const history = [...hardToReject("a", 10), ...hardToReject("b", 10)];
    const result = checkLinearizability(kvModel, history, { maxSteps: 100 });
    expect(result.outcome).toBe("unknown");
    if (result.outcome === "unknown") {
      expect(result.reason).toMatch(/^partition 1 of 2 \(key "a"\)/);
      expect(result.reason).toMatch(/; 1 more partition\(s\) were not decided either$/);
    }
  });

  it("has a wall-clock safety net that also ends in 'unknown'", () => {
    // A deadline of 0 ms has passed by the first clock reading, which comes after 1,024 steps.
    const history = simulateClients({
      seed: 3,
      clients: 8,
      keys: 1,
      operations: 2_000,
      maxLatency: 8,
      unknownRate: 0,
    });
    expect(checkLinearizability(kvModel, history).steps).toBeGreaterThan(1_024);
    const result = checkLinearizability(kvModel, history, { timeoutMs: 0 });
    expect(result.outcome).toBe("unknown");
    if (result.outcome === "unknown") {
      expect(result.reason).toContain("the check timed out after timeoutMs (0 ms)");
    }
  });

  it("costs nothing for a history without operations", () => {
    expect(checkLinearizability(kvModel, [], { maxSteps: 0 }).outcome).toBe("linearizable");
  });
});
