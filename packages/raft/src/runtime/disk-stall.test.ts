import { describe, expect, it } from "vitest";
import {
  VirtualCluster,
  type VirtualClusterOptions,
  virtualElectionTicks,
  virtualTickMs,
} from "../test-support/virtual-cluster.js";
import { encodeCommand } from "../testing/kv-fsm.js";
import type { RaftEvent } from "./events.js";
import type { RaftNode } from "./raft-node.js";

// A leader whose disk stalls (hashicorp/raft#503), on virtual time.

const electionTimeoutMs = virtualElectionTicks * virtualTickMs;
const ids = ["n1", "n2", "n3"];
const put = (key: string, value: string) => encodeCommand({ op: "put", key, value });

/** Stalls the leader's disk and runs until another node leads (or `maxMs` pass). */
async function stallLeader(seed: number, options: VirtualClusterOptions = {}, maxMs = 10_000) {
  const c = new VirtualCluster(ids, seed, options);
  await c.start();
  const leader = await c.leader();
  await c.settle(leader.apply(put("k", "before")));
  const events: RaftEvent[] = [];
  leader.observe((e) => {
    if (e.type === "diskStall") events.push(e);
  });
  const stalledAt = c.now;
  c.member(leader.id).disk.stall();
  // A write the stalled leader cannot make durable (it may still commit through the others).
  const stuck = leader.apply(put("k", "during the stall"));
  stuck.catch(() => undefined);
  const others = ids.filter((id) => id !== leader.id).map((id) => c.member(id).node);
  const newLeader = () => {
    const next = others.find((n) => n.state === "leader");
    return next !== undefined && others.every((n) => n.leader === next.id) ? next : undefined;
  };
  await c.runUntil(() => newLeader() !== undefined, maxMs);
  return { c, leader, events, stalledAt, next: newLeader(), elapsedMs: c.now - stalledAt, stuck };
}

describe("a leader on a stalled disk", () => {
  it("hands leadership over once a write is stuck for the bound; the new leader serves writes; the old one rejoins when its disk recovers", async () => {
    for (const seed of [1, 2, 3]) {
      const { c, leader, events, next, elapsedMs, stuck } = await stallLeader(seed);
      expect(next, `seed ${seed}: no new leader`).toBeDefined();
      const nextLeader = next as RaftNode;
      // Noticed after the bound (diskStallTicks defaults to electionTicks; the write went out
      // within the tick before), handed over at once.
      expect(elapsedMs).toBeGreaterThanOrEqual(electionTimeoutMs - virtualTickMs);
      expect(elapsedMs).toBeLessThan(2 * electionTimeoutMs);
      expect(events).toEqual([
        { type: "diskStall", elapsedMs: expect.any(Number), completed: false },
      ]);
      expect(leader.state).not.toBe("leader");
      expect(leader.stats()).toMatchObject({ diskStalls: 1 });
      expect(leader.stats().oldestWriteMs).toBeGreaterThanOrEqual(
        electionTimeoutMs - virtualTickMs,
      );
      expect(await c.settle(nextLeader.apply(put("k", "new leader")))).toEqual({ ok: true });

      c.member(leader.id).disk.resume();
      await c.runUntil(() => events.length === 2, 1000);
      expect(events[1]).toMatchObject({ type: "diskStall", completed: true });
      await c.settle(stuck.catch(() => undefined));
      await c.settle(nextLeader.apply(put("after", "recovery")));
      await c.runUntil(() => c.member(leader.id).fsm.get("after") === "recovery", 2000);
      expect(c.member(leader.id).fsm.get("k")).toBe("new leader");
      expect(leader.leader).toBe(nextLeader.id);
      expect(leader.stats().oldestWriteMs).toBe(0);
      await c.shutdown();
    }
  });

  it("keeps its leadership while the disk hangs when the bound is out of reach (the failure the bound prevents)", async () => {
    const { c, leader, next } = await stallLeader(
      1,
      { diskStallTicks: 1_000_000 },
      20 * electionTimeoutMs,
    );
    expect(next).toBeUndefined();
    expect(leader.state).toBe("leader");
    c.member(leader.id).disk.resume();
    await c.shutdown();
  });
});
