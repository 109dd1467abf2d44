import { runSimulation, type SimulationResult } from "@raftstore/raft/testing";
import { describe, expect, it } from "vitest";
import { type WalSimCounts, walSimStorage } from "./test-support/engine-sim-storage.js";

// The engine's deterministic simulation (@raftstore/raft/testing) on this package's stores,
// each node on its own simulated disk: syncs take virtual time, and a crash keeps of what was
// not synced only what randomCrash decides (a prefix of each file's writes, the next one maybe
// torn and zero-filled to its sector, a prefix of each directory's entries). Every restart
// reopens the data directory through recovery. The engine's invariants are checked after every
// step, and the clients' history for linearizability at the end. More seeds:
//   npm run sim -w @raftstore/raft-wal -- --seeds 500

function describeFailure(result: SimulationResult): string {
  return [
    `seed ${result.seed}: ${result.violation?.message}`,
    `replay: ${result.replay}`,
    ...result.trace.slice(-30),
  ].join("\n");
}

async function runSeeds(from: number, to: number, overrides = {}, counts?: WalSimCounts) {
  const storage = walSimStorage(counts);
  for (let seed = from; seed <= to; seed++) {
    const result = await runSimulation(seed, overrides, {
      storage,
      workspace: "@raftstore/raft-wal",
    });
    expect(result.ok, describeFailure(result)).toBe(true);
    expect(result.stats.linearizability, describeFailure(result)).not.toBe("illegal");
  }
}

describe("the engine's simulation on the write-ahead log and the simulated disk", () => {
  it("keeps every invariant and stays linearizable through the default fault mix, seeds 1 to 40", async () => {
    await runSeeds(1, 40);
  }, 240_000);

  it("recovers every data directory after frequent crashes that lose unsynced and tear writes, seeds 101 to 130", async () => {
    const counts: WalSimCounts = { reopened: 0, tornTails: 0 };
    await runSeeds(101, 130, { crashRate: 0.3 }, counts);
    // The crash model is at work: many reboots, and some of them found a torn log tail.
    expect(counts.reopened).toBeGreaterThan(50);
    expect(counts.tornTails).toBeGreaterThan(0);
  }, 240_000);

  it("restores snapshots onto the cluster and survives stalled leader disks on these stores, seeds 201 to 220", async () => {
    await runSeeds(201, 220, { restoreRate: 0.15, leaderDiskStallRate: 0.05, crashRate: 0.1 });
  }, 240_000);

  it("replays a seed bit for bit", async () => {
    const run = () =>
      runSimulation(
        105,
        { crashRate: 0.3 },
        { storage: walSimStorage(), workspace: "@raftstore/raft-wal" },
      );
    const first = await run();
    const second = await run();
    expect(second.stats).toEqual(first.stats);
    expect(second.trace).toEqual(first.trace);
    expect(first.replay).toBe("npm run sim -w @raftstore/raft-wal -- --seed 105 --crashRate 0.3");
  }, 60_000);
});
