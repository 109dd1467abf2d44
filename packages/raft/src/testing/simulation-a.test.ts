import { describe, expect, it } from "vitest";
import { describeFailure, firstFailure } from "../test-support/simulation.js";
import { runSimulation } from "./simulation.js";

// The deterministic simulation, first half of the CI seed budget (the second half runs in
// simulation-b.test.ts, in parallel). Each seed runs a 3- or 5-node cluster through seconds of
// partitions, loss, duplication, reordering, crashes that lose unsynced writes, pauses, clock
// drift, slow applies, snapshots and transfers, checking every invariant after every step; then
// heals everything and requires a stable leader, convergence and service; then checks the
// clients' history for linearizability.

const chunks = [
  [1, 30],
  [31, 60],
  [61, 90],
  [91, 120],
] as const;

describe("deterministic simulation", () => {
  for (const [from, to] of chunks) {
    it(`keeps every invariant, recovers and stays linearizable for seeds ${from} to ${to}`, async () => {
      const failure = await firstFailure(from, to);
      expect(failure, describeFailure(failure)).toBeUndefined();
    }, 240_000);
  }

  it("replays a seed bit for bit", async () => {
    const first = await runSimulation(7);
    const second = await runSimulation(7);
    expect(second.stats).toEqual(first.stats);
    expect(second.trace).toEqual(first.trace);
  }, 60_000);
});
