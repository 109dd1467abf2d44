import { describe, expect, it } from "vitest";
import { describeFailure } from "../test-support/simulation.js";
import type { ScenarioOverrides } from "./scenario.js";
import { type LeaderDiskStall, runSimulation } from "./simulation.js";

// A leader whose disk stalls for about a second or two (hashicorp/raft#503), in the simulation:
// the leader notices its write stuck for diskStallTicks and hands over (or steps down); another
// node leads and takes writes while the stall lasts; every invariant and the clients'
// linearizability hold. Other crash, pause and partition faults are off, so that a failover can
// only be the stalled leader's doing; message loss, duplication and delays stay.

const electionTimeoutMs = 100;
const quiet: ScenarioOverrides = {
  leaderDiskStallRate: 0.05,
  crashRate: 0,
  pauseRate: 0,
  partitionRate: 0,
  diskStall: 0,
};

async function stallsOf(from: number, to: number, overrides: ScenarioOverrides) {
  const stalls: (LeaderDiskStall & { seed: number })[] = [];
  for (let seed = from; seed <= to; seed++) {
    const result = await runSimulation(seed, overrides);
    expect(result.ok, describeFailure(result)).toBe(true);
    // With the leader wedged, many calls end unknown and the checker may run out of budget.
    expect(result.stats.linearizability).not.toBe("illegal");
    for (const stall of result.stats.leaderDiskStalls) stalls.push({ ...stall, seed });
  }
  // Stalls long enough to matter (the simulation's healing cuts the late ones short).
  return stalls.filter((s) => s.forMs >= 3 * electionTimeoutMs);
}

describe("the simulation with stalled leader disks", () => {
  it("elects another leader within a few election timeouts, which serves writes during the stall", async () => {
    const stalls = await stallsOf(1, 30, quiet);
    expect(stalls.length).toBeGreaterThanOrEqual(15);
    for (const stall of stalls) {
      const where = `seed ${stall.seed}: ${JSON.stringify(stall)}`;
      expect(stall.failoverMs, where).toBeLessThan(8 * electionTimeoutMs);
      expect(stall.newLeaderWriteMs, where).toBeDefined();
    }
  }, 120_000);

  it("keeps the stalled leader in place when the bound is out of reach (what the bound prevents)", async () => {
    const stalls = await stallsOf(1, 30, { ...quiet, diskStallTicks: 1_000_000 });
    expect(stalls.length).toBeGreaterThanOrEqual(15);
    for (const stall of stalls) {
      const failover = stall.failoverMs ?? Number.POSITIVE_INFINITY;
      expect(failover, `seed ${stall.seed}`).toBeGreaterThanOrEqual(8 * electionTimeoutMs);
    }
  }, 120_000);
});
