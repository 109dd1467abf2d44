import { describe, expect, it } from "vitest";
import { checkLinearizability } from "./check-linearizability.js";
import { kvModel } from "./kv-model.js";
import type { KvOperation } from "./test-support/builders.js";
import { type ClientWorkload, simulateClients } from "./test-support/kv-generators.js";

// Budgets are in search steps, which are deterministic: the machine running the test (shared,
// loaded, 2 cores) changes how long a step takes, never how many there are. On such a machine
// a step costs about a microsecond, so these budgets mean well under a second.

const workload: ClientWorkload = {
  seed: 1,
  clients: 10,
  keys: 4,
  operations: 10_000,
  maxLatency: 10,
  unknownRate: 0.01,
};

/** Makes the last read of `history` that can be made stale return an overwritten value. */
function staleLastRead(history: KvOperation[]): KvOperation {
  for (const read of [...history].reverse()) {
    if (read.input.op !== "get" || read.output === undefined) continue;
    const writes = history.filter(
      (o) => o.input.key === read.input.key && o.input.op === "put" && o.output !== undefined,
    );
    const overwrite = writes.findLast((o) => o.return < read.call);
    const older = writes.findLast((o) => overwrite !== undefined && o.return < overwrite.call);
    if (older?.input.op === "put") {
      read.output = { ok: true, value: older.input.value };
      return read;
    }
  }
  throw new Error("no read can be made stale");
}

describe("performance", () => {
  it("checks 10,000 operations of 10 clients on 4 keys in a few steps per operation", () => {
    const history = simulateClients(workload);
    const result = checkLinearizability(kvModel, history);
    expect(result.outcome).toBe("linearizable");
    expect(result.steps).toBeLessThan(10 * history.length);
  });

  it("finds a stale read at the end of 10,000 operations in a few steps per operation", () => {
    const history = simulateClients({ ...workload, unknownRate: 0 });
    const read = staleLastRead(history);
    const result = checkLinearizability(kvModel, history);
    expect(result.outcome).toBe("illegal");
    if (result.outcome === "illegal") expect(result.couldNotPlace).toContain(read);
    expect(result.steps).toBeLessThan(20 * history.length);
  });

  it("grows about linearly with the length of the history", () => {
    const steps = (operations: number) =>
      checkLinearizability(kvModel, simulateClients({ ...workload, operations })).steps;
    const ratio = steps(20_000) / steps(5_000);
    expect(ratio).toBeGreaterThan(2);
    expect(ratio).toBeLessThan(8);
  });
});
