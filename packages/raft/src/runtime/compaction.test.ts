import { describe, expect, it } from "vitest";
import { VirtualCluster } from "../test-support/virtual-cluster.js";
import { encodeCommand } from "../testing/kv-fsm.js";
import type { RaftEvent } from "./events.js";

// What the leader keeps when it compacts its log behind a snapshot, on virtual time.

const put = (key: string, value: string) => encodeCommand({ op: "put", key, value });

/**
 * A follower of `leader`, once caught up, cut off: its appends are lost, and the leader's view of
 * it stays at `match`. Its events from then on are in `events`.
 */
async function cutOffFollower(
  c: VirtualCluster,
  leader: Awaited<ReturnType<VirtualCluster["leader"]>>,
) {
  const behind = [...c.members.values()].find((m) => m.id !== leader.id);
  if (behind === undefined) throw new Error("no follower");
  await c.runUntil(() => behind.node.stats().appliedIndex === leader.stats().commitIndex, 1000);
  const events: RaftEvent[] = [];
  behind.node.observe((e) => events.push(e));
  const match = leader.stats().peers[behind.id]?.match ?? 0;
  c.isolate(behind.id);
  return { behind, events, match };
}

describe("log compaction on the leader", () => {
  it("keeps the entry a follower replicating normally holds last, so it is caught up from the log and not sent a snapshot", async () => {
    const c = new VirtualCluster(["n1", "n2", "n3"], 3, {
      snapshotThreshold: 10,
      trailingEntries: 0,
    });
    await c.start();
    const leader = await c.leader();
    for (let i = 0; i < 5; i++) await c.settle(leader.apply(put("k", `a${i}`)));
    const { behind, events, match } = await cutOffFollower(c, leader);
    for (let i = 0; i < 8; i++) {
      await c.settle(leader.apply(put("k", `b${i}`)));
    }
    await c.settle(leader.snapshot());
    expect(leader.stats().snapshotIndex).toBeGreaterThan(match);
    expect(leader.stats().firstIndex).toBeLessThanOrEqual(match);
    c.network.heal();
    await c.runUntil(() => behind.fsm.get("k") === "b7", 2000);
    expect(behind.fsm.get("k")).toBe("b7");
    expect(events.filter((e) => e.type === "snapshotInstalled")).toEqual([]);
    await c.shutdown();
  });

  it("keeps no more trailing entries than trailingBytes hold, however many trailingEntries allows", async () => {
    const command = put("k", "x".repeat(100));
    const c = new VirtualCluster(["n1", "n2", "n3"], 3, {
      snapshotThreshold: 1000,
      trailingEntries: 1000,
      trailingBytes: command.byteLength * 5,
    });
    await c.start();
    const leader = await c.leader();
    for (let i = 0; i < 20; i++) await c.settle(leader.apply(command));
    const last = leader.stats().commitIndex;
    await c.runUntil(
      () => [...c.members.values()].every((m) => m.node.stats().appliedIndex === last),
      1000,
    );
    await c.settle(leader.snapshot());
    const { snapshotIndex, firstIndex } = leader.stats();
    expect(snapshotIndex).toBe(last);
    // The five entries up to the snapshot's, and nothing before them.
    expect(snapshotIndex - firstIndex + 1).toBe(5);
    await c.shutdown();
  });

  it("lets a follower more than snapshotThresholdBytes behind go, and catches it up by snapshot", async () => {
    const command = put("k", "y".repeat(100));
    const c = new VirtualCluster(["n1", "n2", "n3"], 3, {
      snapshotThreshold: 1000,
      snapshotThresholdBytes: command.byteLength * 4,
      trailingEntries: 0,
    });
    await c.start();
    const leader = await c.leader();
    await c.settle(leader.apply(put("k", "start")));
    const { behind, events, match } = await cutOffFollower(c, leader);
    // Eight entries: far fewer than snapshotThreshold, twice snapshotThresholdBytes.
    for (let i = 0; i < 8; i++) await c.settle(leader.apply(command));
    await c.settle(leader.snapshot());
    expect(leader.stats().peers[behind.id]?.match).toBe(match);
    expect(leader.stats().firstIndex).toBeGreaterThan(match + 1);
    c.network.heal();
    await c.runUntil(() => behind.fsm.get("k") === "y".repeat(100), 3000);
    expect(behind.fsm.get("k")).toBe("y".repeat(100));
    expect(events.filter((e) => e.type === "snapshotInstalled")).toHaveLength(1);
    await c.shutdown();
  });
});

/** The indexes each member of `c` takes its snapshots at, from now on, by member id. */
function recordSnapshots(c: VirtualCluster): Map<string, number[]> {
  const taken = new Map<string, number[]>();
  for (const m of c.members.values()) {
    const indexes: number[] = [];
    taken.set(m.id, indexes);
    m.node.observe((e) => {
      if (e.type === "snapshotTaken") indexes.push(e.snapshot.index);
    });
  }
  return taken;
}

describe("snapshot jitter", () => {
  /** The indexes each member snapshots at while the leader applies `count` entries. */
  async function snapshotIndexes(snapshotJitter: number, count: number) {
    const c = new VirtualCluster(["n1", "n2", "n3"], 11, {
      snapshotThreshold: 40,
      snapshotJitter,
      trailingEntries: 0,
    });
    await c.start();
    const taken = recordSnapshots(c);
    const leader = await c.leader();
    for (let i = 0; i < count; i++) await c.settle(leader.apply(put("k", String(i))));
    const last = leader.stats().commitIndex;
    await c.runUntil(
      () => [...c.members.values()].every((m) => m.node.stats().appliedIndex === last),
      2000,
    );
    await c.shutdown();
    return [...taken.values()];
  }

  it("staggers the members' snapshots, each within the threshold of the one before", async () => {
    const members = await snapshotIndexes(0.5, 400);
    for (const indexes of members) {
      expect(indexes.length).toBeGreaterThanOrEqual(8);
      indexes.forEach((index, i) => {
        const gap = index - (indexes[i - 1] ?? 0);
        expect(gap).toBeGreaterThanOrEqual(20);
        expect(gap).toBeLessThanOrEqual(40);
      });
    }
    // Not in step: at most a few snapshots fall on the same index on two members.
    const [a, b, c] = members.map((indexes) => new Set(indexes));
    const shared = [...(a as Set<number>)].filter((i) => b?.has(i) && c?.has(i));
    expect(shared.length).toBeLessThanOrEqual(1);
  });

  it("staggers them too when the interval, not the threshold, holds them back", async () => {
    // A steady stream of writes reaches the threshold long before the interval ends, so the
    // interval decides when each member snapshots: it must be drawn with jitter as well.
    const c = new VirtualCluster(["n1", "n2", "n3"], 11, {
      snapshotThreshold: 5,
      snapshotIntervalMs: 500,
      snapshotJitter: 0.5,
      trailingEntries: 0,
    });
    await c.start();
    const taken = recordSnapshots(c);
    const leader = await c.leader();
    for (let i = 0; i < 120; i++) {
      await c.settle(leader.apply(put("k", String(i))));
      await c.runUntil(() => false, 50);
    }
    await c.shutdown();
    const members = [...taken.values()];
    for (const indexes of members) expect(indexes.length).toBeGreaterThanOrEqual(8);
    const [a, b, d] = members.map((indexes) => new Set(indexes));
    const shared = [...(a as Set<number>)].filter((i) => b?.has(i) && d?.has(i));
    expect(shared.length).toBeLessThanOrEqual(2);
  });

  it("without it, every member snapshots at the same indexes", async () => {
    const members = await snapshotIndexes(0, 200);
    expect(members[0]?.length).toBeGreaterThanOrEqual(4);
    expect(members[1]).toEqual(members[0]);
    expect(members[2]).toEqual(members[0]);
  });
});

describe("the snapshot interval", () => {
  async function leaderSnapshots(options: { snapshotThresholdBytes?: number }) {
    const c = new VirtualCluster(["n1", "n2", "n3"], 5, {
      snapshotThreshold: 10,
      snapshotIntervalMs: 60_000,
      trailingEntries: 0,
      ...options,
    });
    await c.start();
    const leader = await c.leader();
    const taken: number[] = [];
    leader.observe((e) => {
      if (e.type === "snapshotTaken") taken.push(e.snapshot.index);
    });
    const apply = async (n: number) => {
      for (let i = 0; i < n; i++) await c.settle(leader.apply(put("k", "x".repeat(20))));
      await c.runUntil(() => false, 100);
    };
    return { c, taken, apply };
  }

  it("holds back threshold snapshots until the interval passed since the last one", async () => {
    const { c, taken, apply } = await leaderSnapshots({});
    await apply(50);
    expect(taken).toEqual([]);
    await c.runUntil(() => false, 60_000);
    await apply(1);
    expect(taken).toHaveLength(1);
    await apply(30);
    expect(taken).toHaveLength(1);
    await c.shutdown();
  });

  it("does not hold back a snapshot the bytes threshold asks for", async () => {
    const { c, taken, apply } = await leaderSnapshots({ snapshotThresholdBytes: 300 });
    await apply(50);
    expect(taken.length).toBeGreaterThanOrEqual(2);
    await c.shutdown();
  });
});
