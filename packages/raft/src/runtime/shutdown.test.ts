import { describe, expect, it } from "vitest";
import {
  VirtualCluster,
  virtualElectionTicks,
  virtualTickMs,
} from "../test-support/virtual-cluster.js";
import { encodeCommand } from "../testing/kv-fsm.js";

// Shutting a leader down, on virtual time: durations are measured in ticks of the virtual clock,
// so the comparison with an election timeout does not depend on the machine's load.

const electionTimeoutMs = virtualElectionTicks * virtualTickMs;
const ids = ["n1", "n2", "n3"];

/**
 * Shuts the leader of a fresh cluster down and measures the virtual time until the survivors
 * have a stable leader again.
 */
async function timeToNextLeader(seed: number, transferLeadership: boolean) {
  const cluster = new VirtualCluster(ids, seed);
  await cluster.start();
  const leader = await cluster.leader();
  await cluster.settle(leader.apply(encodeCommand({ op: "put", key: "k", value: "v" })));
  const started = cluster.now;
  const stopped = leader.shutdown({ transferLeadership });
  const next = await cluster.leader(20 * electionTimeoutMs, leader.id);
  const elapsedMs = cluster.now - started;
  await cluster.settle(stopped);
  const warnings = cluster.warnings.filter((w) => w.startsWith(`${leader.id}:`));
  const result = { old: leader.id, next: next.id, elapsedMs, warnings, cluster };
  return result;
}

describe("shutdown with leadership transfer", () => {
  it("hands leadership over before stopping: the next leader is in place well within one election timeout", async () => {
    for (const seed of [1, 2, 3]) {
      const handover = await timeToNextLeader(seed, true);
      const election = await timeToNextLeader(seed, false);
      expect(handover.next).not.toBe(handover.old);
      expect(handover.warnings).toEqual([]);
      expect(handover.cluster.infos).toContain(
        `${handover.old}: handed leadership over to ${handover.next} before shutting down`,
      );
      // Without a handover the survivors wait out their election timeout ([10, 20) ticks).
      expect(election.elapsedMs).toBeGreaterThanOrEqual(electionTimeoutMs);
      // With it, the target campaigns at once: a few message latencies, not a timeout.
      expect(handover.elapsedMs).toBeLessThan(electionTimeoutMs / 2);
      expect(handover.elapsedMs / election.elapsedMs).toBeLessThan(0.25);
      // The new leader has the old leader's writes and takes new ones.
      const next = handover.cluster.member(handover.next);
      await handover.cluster.settle(
        next.node.apply(encodeCommand({ op: "put", key: "after", value: "1" })),
      );
      expect(next.fsm.get("k")).toBe("v");
      await handover.cluster.shutdown();
      await election.cluster.shutdown();
    }
  });

  it("refuses new calls while it hands over, and settles calls made before with their outcome", async () => {
    const cluster = new VirtualCluster(ids, 4);
    await cluster.start();
    const leader = await cluster.leader();
    const before = leader.apply(encodeCommand({ op: "put", key: "k", value: "v" }));
    const stopped = leader.shutdown({ transferLeadership: true });
    const during = leader.apply(encodeCommand({ op: "put", key: "k", value: "w" }));
    await expect(cluster.settle(during)).rejects.toMatchObject({ name: "ShutdownError" });
    expect(await cluster.settle(before)).toEqual({ ok: true });
    await cluster.settle(stopped);
    expect(leader.shutdown()).toBe(stopped);
    const next = await cluster.leader(5000, leader.id);
    expect(next.state).toBe("leader");
    await cluster.shutdown();
  });

  it("stops anyway, with a logged warning, when no follower can take over in time", async () => {
    const cluster = new VirtualCluster(ids, 5, { checkQuorum: false });
    await cluster.start();
    const leader = await cluster.leader();
    for (const id of ids) {
      if (id === leader.id) continue;
      cluster.network.cut(leader.id, id);
      cluster.network.cut(id, leader.id);
    }
    const started = cluster.now;
    await cluster.settle(leader.shutdown({ transferLeadership: true }), 20 * electionTimeoutMs);
    // Bounded: the transfer is given up after about two election timeouts.
    expect(cluster.now - started).toBeLessThanOrEqual(3 * electionTimeoutMs);
    expect(cluster.warnings).toContain(`${leader.id}: leadership transfer on shutdown failed`);
    await cluster.shutdown();
  });
});
