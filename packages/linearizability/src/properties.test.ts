import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkLinearizability } from "./check-linearizability.js";
import { type KvInput, type KvOutput, kvModel } from "./kv-model.js";
import type { Model } from "./model.js";
import type { Operation } from "./operation.js";
import { bruteForceLinearizable } from "./test-support/brute-force.js";
import type { KvOperation } from "./test-support/builders.js";
import {
  executeSequentially,
  plannedOperations,
  tinyHistories,
} from "./test-support/kv-generators.js";

// The key-value model over the whole map, without partitions: one search over every key at
// once, with the same semantics per key (its key is the map as a sorted JSON array).
const wholeMap: Model<ReadonlyMap<string, string>, KvInput, KvOutput> = {
  init: () => new Map(),
  step(map, input, output) {
    return kvModel.step(map.get(input.key), input, output).map((value) => {
      const next = new Map(map);
      if (value === undefined) next.delete(input.key);
      else next.set(input.key, value);
      return next;
    });
  },
  key: (map) => JSON.stringify([...map].sort()),
};

/** Writes (put, successful CAS, delete) whose effect is certain. */
function isCertainWrite(o: KvOperation): boolean {
  return (
    o.output?.ok === true &&
    (o.input.op === "put" || o.input.op === "cas" || o.input.op === "delete")
  );
}

describe("property: histories of a real sequential execution", () => {
  it("are always linearizable, whatever the overlaps and unknown outcomes", () => {
    fc.assert(
      fc.property(plannedOperations({ keys: 3, maxLength: 40 }), (plan) => {
        const history = executeSequentially(plan);
        const result = checkLinearizability(kvModel, history);
        expect(result.outcome).toBe("linearizable");
      }),
      { numRuns: 300 },
    );
  });

  it("stay linearizable when checked as one partition", () => {
    fc.assert(
      fc.property(plannedOperations({ keys: 2, maxLength: 16, maxSpread: 3 }), (plan) => {
        const history = executeSequentially(plan);
        expect(checkLinearizability(wholeMap, history).outcome).toBe("linearizable");
      }),
      { numRuns: 200 },
    );
  });
});

describe("property: one corrupted read", () => {
  it("is always caught when it returns a value never written", () => {
    fc.assert(
      fc.property(
        plannedOperations({ keys: 2, minLength: 1, maxLength: 40 }),
        fc.nat(),
        (plan, pick) => {
          const history = executeSequentially(plan);
          const reads = history.filter((o) => o.input.op === "get" && o.output !== undefined);
          fc.pre(reads.length > 0);
          const read = reads[pick % reads.length];
          read.output = { ok: true, value: "never-written" };
          const result = checkLinearizability(kvModel, history);
          expect(result.outcome).toBe("illegal");
          if (result.outcome === "illegal") expect(result.operations).toContain(read);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("is always caught when it returns a value overwritten before the read started", () => {
    // Values are unique, so a read of the value of `older` after `overwrite` completed (which
    // itself started after `older` completed) can only be stale.
    fc.assert(
      fc.property(
        plannedOperations({ keys: 2, minLength: 3, maxLength: 40, maxSpread: 3 }),
        fc.nat(),
        (plan, pick) => {
          const history = executeSequentially(plan);
          const stale: { read: KvOperation; value: string }[] = [];
          for (const read of history) {
            if (read.input.op !== "get" || read.output === undefined) continue;
            for (const overwrite of history) {
              if (overwrite.input.key !== read.input.key || !isCertainWrite(overwrite)) continue;
              if (!(overwrite.return < read.call)) continue;
              for (const older of history) {
                if (older.input.key !== read.input.key || !isCertainWrite(older)) continue;
                if (older.input.op !== "put" && older.input.op !== "cas") continue;
                if (!(older.return < overwrite.call)) continue;
                stale.push({ read, value: older.input.value });
              }
            }
          }
          fc.pre(stale.length > 0);
          const { read, value } = stale[pick % stale.length];
          read.output = { ok: true, value };
          expect(checkLinearizability(kvModel, history).outcome).toBe("illegal");
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("property: agreement with a brute-force checker on tiny histories", () => {
  it("gives the same verdict as trying every order (at most 7 operations, two keys)", () => {
    fc.assert(
      fc.property(tinyHistories(7), (history) => {
        const expected = bruteForceLinearizable(wholeMap, history);
        const result = checkLinearizability(kvModel, history);
        expect(result.outcome).toBe(expected ? "linearizable" : "illegal");
        expect(checkLinearizability(wholeMap, history).outcome).toBe(result.outcome);
      }),
      { numRuns: 1500 },
    );
  });

  it("explains a failure with a linearization that respects real time and the model", () => {
    fc.assert(
      fc.property(tinyHistories(7), (history) => {
        const result = checkLinearizability(kvModel, history);
        if (result.outcome !== "illegal") return;
        const { longestLinearization, omitted, couldNotPlace, operations } = result;
        const placed = new Set([...longestLinearization, ...omitted]);
        // Nothing left out of it precedes anything in it (it is a real-time prefix).
        for (const inside of placed) {
          for (const outside of operations) {
            if (!placed.has(outside)) expect(outside.return < inside.call).toBe(false);
          }
        }
        // Placed in that order, each operation is legal for the model.
        let states: (string | undefined)[] = [kvModel.init()];
        for (const o of longestLinearization) {
          states = states.flatMap((s) => kvModel.step(s, o.input, o.output));
          expect(states.length).toBeGreaterThan(0);
        }
        expect(omitted.every((o) => o.output === undefined)).toBe(true);
        expect(couldNotPlace.length).toBeGreaterThan(0);
        expect(couldNotPlace.every((o) => !placed.has(o))).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });

  it("never passes a history the brute force rejects, whatever the budget", () => {
    fc.assert(
      fc.property(tinyHistories(7), fc.integer({ min: 0, max: 40 }), (history, maxSteps) => {
        const expected = bruteForceLinearizable(wholeMap, history) ? "linearizable" : "illegal";
        const { outcome } = checkLinearizability(kvModel, history, { maxSteps });
        expect([expected, "unknown"]).toContain(outcome);
      }),
      { numRuns: 1000 },
    );
  });

  it("agrees with the brute force on a nondeterministic model", () => {
    // A cell that "scramble" sets to any of 0…2; "read" reports it.
    type CellInput = { op: "scramble" } | { op: "read"; key: "c" };
    type CellOutput = { value: number };
    const cell: Model<number, CellInput, CellOutput> = {
      init: () => 0,
      step: (value, input, output) => {
        if (input.op === "scramble") return [0, 1, 2];
        return output === undefined || output.value === value ? [value] : [];
      },
      key: String,
    };
    const operation: fc.Arbitrary<Operation<CellInput, CellOutput>> = fc
      .record({
        scramble: fc.boolean(),
        value: fc.integer({ min: 0, max: 2 }),
        call: fc.integer({ min: 0, max: 6 }),
        duration: fc.integer({ min: 0, max: 3 }),
        unknown: fc.boolean(),
      })
      .map(({ scramble, value, call, duration, unknown }) => ({
        clientId: 0,
        input: scramble ? { op: "scramble" as const } : { op: "read" as const, key: "c" as const },
        ...(unknown ? {} : { output: { value } }),
        call,
        return: unknown && scramble ? Number.POSITIVE_INFINITY : call + duration,
      }));
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 7 }), (history) => {
        const expected = bruteForceLinearizable(cell, history) ? "linearizable" : "illegal";
        expect(checkLinearizability(cell, history).outcome).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });
});
