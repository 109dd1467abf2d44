import { describe, expect, it } from "vitest";
import { describeFailure } from "../test-support/simulation.js";
import type { ScenarioOverrides } from "./scenario.js";
import { runSimulation } from "./simulation.js";

// Every seed that once failed stays here, with what it found. They run in addition to the
// seed ranges of simulation-a/b.test.ts, whatever those ranges become.

const heavyRestores: ScenarioOverrides = { restoreRate: 0.2, crashRate: 0.15, partitionRate: 0.3 };

// Limits the scenario draws since these seeds were found, at the values the seeds ran with then.
const asFound: ScenarioOverrides = { trailingBytes: 64 << 20, snapshotThresholdBytes: 64 << 20 };

const regressions: [seed: number, found: string, overrides?: ScenarioOverrides][] = [
  [20, "harness: the final write raced a leadership transfer started just before healing"],
  [
    258,
    "engine: with no trailing entries, compaction outran followers a few entries behind, which then chased ever newer snapshots (etcd#4055); compaction now keeps what replicating followers need",
  ],
  [
    1226,
    "checker: a leader of an older term that won late (it was paused mid-election) was held to entries committed in a later term; leader completeness now binds only later terms",
  ],
  [
    24,
    "harness: dozens of timed-out CAS operations on one key made the linearizability search give up; clients now back off and keys rotate",
  ],
  [
    5071,
    "engine: a snapshot transfer losing a chunk waited a whole timeout per lost chunk, so a follower never caught up on a lossy link; a repeated offset now resends at once",
    heavyRestores,
  ],
  [
    5231,
    "engine: compaction kept the entries after a follower's match but not the one at it, whose term the next append names, so the follower was sent snapshot after snapshot",
    heavyRestores,
  ],
  [
    5947,
    "engine: a follower that campaigned while a received snapshot was being stored refused to install it, was reported installed, dismissed every later copy as already stored, and was sent the snapshot forever; any non-leader now installs it",
  ],
];

describe("regression seeds", () => {
  for (const [seed, found, overrides] of regressions) {
    it(`seed ${seed} passes (${found.split(":")[0]}: ${found.slice(found.indexOf(":") + 2, found.indexOf(":") + 60)}…)`, async () => {
      const result = await runSimulation(seed, { ...asFound, ...overrides });
      expect(result.ok, describeFailure(result)).toBe(true);
      expect(result.stats.linearizability).toBe("linearizable");
    }, 60_000);
  }
});
