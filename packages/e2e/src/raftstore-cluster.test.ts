import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isChildExitedError } from "./errors.js";
import { startRaftstoreCluster } from "./raftstore-cluster.js";

// The cluster's life under faults is what fault-tolerance.test.ts and leader-failover.test.ts
// exercise; here, a cluster that cannot start, and one whose node dies under a benchmark.
describe("startRaftstoreCluster", () => {
  it("fails with the node's own explanation when a node refuses its settings", async () => {
    const dir = await mkdtemp(join(tmpdir(), "e2e-bad-cluster-"));
    try {
      const error = await startRaftstoreCluster({
        size: 1,
        dir,
        settings: { electionTicks: 1 },
      }).catch((e: unknown) => e);
      expect(isChildExitedError(error)).toBe(true);
      expect(String(error)).toMatch(
        /expected n1 to print 'ready <url>', but it exited with exit code 1/,
      );
      expect(String(error)).toMatch(/expected an integer ≥ 2, got "1"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("says which member died, and why, to a benchmark racing failOnExit", async () => {
    const cluster = await startRaftstoreCluster({ size: 1 });
    try {
      const exits = cluster.failOnExit("keep running through the benchmark");
      // Never awaited: members exiting at close() must not make an unhandled rejection.
      cluster.failOnExit("keep running until close");
      const pid = cluster.members[0]?.pid as number;
      process.kill(pid, "SIGKILL");
      const error = await exits.catch((e: unknown) => e);
      expect(isChildExitedError(error)).toBe(true);
      expect(String(error)).toMatch(
        /expected n1 to keep running through the benchmark, but it exited with signal SIGKILL/,
      );
    } finally {
      await cluster.close();
    }
    // The directory of a cluster whose member died is kept: its log says why.
    expect(existsSync(cluster.members[0]?.logFile as string)).toBe(true);
    await rm(cluster.dir, { recursive: true, force: true });
    // A cluster whose members all exited has nothing left to watch: it never settles.
    const none = await Promise.race([
      cluster.failOnExit("run").then(
        () => "settled",
        () => "settled",
      ),
      new Promise((resolve) => setTimeout(resolve, 50, "pending")),
    ]);
    expect(none).toBe("pending");
  }, 60_000);
});
