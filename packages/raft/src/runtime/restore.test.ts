import { describe, expect, it } from "vitest";
import {
  isNotLeaderError,
  isProposalDroppedError,
  isRestoreInProgressError,
  isRestoreRejectedError,
  type NotLeaderError,
  type ProposalDroppedError,
  type RestoreRejectedError,
} from "../errors.js";
import { VirtualCluster, type VirtualClusterOptions } from "../test-support/virtual-cluster.js";
import { encodeCommand, KvStateMachine } from "../testing/kv-fsm.js";
import type { RaftEvent } from "./events.js";
import { inspectNode } from "./node.js";

// Restoring a user snapshot onto a live cluster (RaftNode.restore), on virtual time.

const ids = ["n1", "n2", "n3"];
const put = (key: string, value: string) => encodeCommand({ op: "put", key, value });

async function* bytes(data: Uint8Array, pieceSize = 1000): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.byteLength; at += pieceSize) yield data.subarray(at, at + pieceSize);
}

/** A snapshot of a key-value state with `keys` entries (values padded to make it larger). */
function snapshotOf(keys: number, prefix = "restored", padding = 0): Uint8Array {
  const data = new Map<string, string>();
  for (let i = 0; i < keys; i++) data.set(`key${i}`, `${prefix}${i}${"x".repeat(padding)}`);
  return KvStateMachine.encodeSnapshot(data, 7);
}

async function cluster(seed: number, options: VirtualClusterOptions = {}) {
  const c = new VirtualCluster(ids, seed, options);
  await c.start();
  const leader = await c.leader();
  for (let i = 0; i < 5; i++) await c.settle(leader.apply(put(`key${i}`, `before${i}`)));
  await c.settle(leader.apply(put("other", "gone after the restore")));
  return { c, leader };
}

/** Runs until every member applied `index` and reached the same state. */
async function converged(c: VirtualCluster, index: number) {
  const done = await c.runUntil(() => {
    const members = [...c.members.values()];
    return members.every(
      (m) =>
        m.node.stats().appliedIndex >= index &&
        m.fsm.stateHash === (members[0]?.fsm.stateHash ?? -1) &&
        m.node.stats().appliedIndex === members[0]?.node.stats().appliedIndex,
    );
  }, 5000);
  expect(done, "members did not converge").toBe(true);
}

describe("restoring a snapshot onto a live cluster", () => {
  it("replaces the state of every member at one index, and later writes apply on top", async () => {
    const { c, leader } = await cluster(1);
    const events = new Map<string, RaftEvent[]>();
    for (const m of c.members.values()) {
      const seen: RaftEvent[] = [];
      events.set(m.id, seen);
      m.node.observe((e) => seen.push(e));
    }
    const index = await c.settle(leader.restore(bytes(snapshotOf(3))));
    // After the configuration, the term's first entry and six writes: chunks, then the commit.
    expect(index).toBeGreaterThan(9);
    await c.settle(leader.apply(put("key1", "after")));
    await converged(c, index + 1);
    for (const m of c.members.values()) {
      expect([m.fsm.get("key0"), m.fsm.get("key1"), m.fsm.get("key2")]).toEqual([
        "restored0",
        "after",
        "restored2",
      ]);
      expect(m.fsm.get("key3")).toBeUndefined();
      expect(m.fsm.get("other")).toBeUndefined();
      expect(events.get(m.id)?.filter((e) => e.type === "restored")).toEqual([
        { type: "restored", index, term: leader.term, size: snapshotOf(3).byteLength },
      ]);
    }
    await c.shutdown();
  });

  it("takes a snapshot at the restore, and the contents leave the log once every member has them", async () => {
    const { c, leader } = await cluster(2);
    const index = await c.settle(leader.restore(bytes(snapshotOf(50, "r", 100))));
    await converged(c, index);
    for (const m of c.members.values()) {
      expect(m.node.stats().snapshotIndex).toBeGreaterThanOrEqual(index);
    }
    // The leader keeps the contents while a follower replicating normally may still need them;
    // its next snapshot lets them go, whatever trailingEntries says (default 4096).
    await c.settle(leader.apply(put("after", "1")));
    await converged(c, index + 1);
    await c.runUntil(
      () => Object.values(leader.stats().peers).every((p) => p.match >= index + 1),
      1000,
    );
    await c.settle(leader.snapshot());
    for (const m of c.members.values()) {
      expect(m.node.stats().firstIndex, m.id).toBeGreaterThan(index);
    }
    await c.shutdown();
  });

  it("refuses other proposals while it runs, with ProposalDroppedError naming the restore", async () => {
    const { c, leader } = await cluster(3);
    const restoring = leader.restore(bytes(snapshotOf(3)));
    expect(leader.stats().restoreInProgress).toBe(true);
    const refused = await c.settle(leader.apply(put("k", "v")).catch((e: unknown) => e));
    expect(isProposalDroppedError(refused)).toBe(true);
    expect((refused as ProposalDroppedError).reason).toBe("restore");
    expect((refused as Error).message).toMatch(/retry once the restore is over/);
    await c.settle(restoring);
    expect(leader.stats().restoreInProgress).toBe(false);
    expect(await c.settle(leader.apply(put("k", "v")))).toEqual({ ok: true });
    await c.shutdown();
  });

  it("rejects a second restore on the same leader with RestoreInProgressError", async () => {
    const { c, leader } = await cluster(4);
    const first = leader.restore(bytes(snapshotOf(3)));
    const second = await c.settle(leader.restore(bytes(snapshotOf(4))).catch((e: unknown) => e));
    expect(isRestoreInProgressError(second)).toBe(true);
    expect((second as Error).message).toMatch(/already in progress/);
    await c.settle(first);
    await c.shutdown();
  });

  it("rejects a restore on a follower with NotLeaderError naming the leader", async () => {
    const { c, leader } = await cluster(5);
    const follower = [...c.members.values()].find((m) => m.id !== leader.id)?.node;
    const error = await c.settle(
      (follower?.restore(bytes(snapshotOf(3))) ?? Promise.resolve()).catch((e: unknown) => e),
    );
    expect(isNotLeaderError(error)).toBe(true);
    expect((error as NotLeaderError).leader).toBe(leader.id);
    await c.shutdown();
  });

  it("contents the state machine refuses: RestoreRejectedError, the state unchanged everywhere", async () => {
    const { c, leader } = await cluster(6);
    const hashBefore = c.member(leader.id).fsm.stateHash;
    const garbage = new TextEncoder().encode("this is not a snapshot");
    const error = await c.settle(leader.restore(bytes(garbage)).catch((e: unknown) => e));
    expect(isRestoreRejectedError(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /state machine rejected the restored snapshot \(entry \d+\): expected a key-value snapshot/,
    );
    const index = (error as RestoreRejectedError).index;
    await c.settle(leader.apply(put("still", "working")));
    await converged(c, index + 1);
    for (const m of c.members.values()) {
      expect(m.fsm.get("key0")).toBe("before0");
      expect(m.fsm.get("still")).toBe("working");
    }
    expect(c.member(leader.id).fsm.stateHash).not.toBe(hashBefore);
    await c.shutdown();
  });

  it("passes a restore many times larger than the uncommitted-bytes bound, a window at a time", async () => {
    const { c, leader } = await cluster(7, { maxUncommittedBytes: 2000, restoreChunkSize: 250 });
    let maxUncommitted = 0;
    const contents = snapshotOf(100, "big", 200);
    expect(contents.byteLength).toBeGreaterThan(10 * 2000);
    const restoring = leader.restore(bytes(contents));
    await c.runUntil(() => {
      maxUncommitted = Math.max(maxUncommitted, leader.stats().uncommittedBytes);
      return !leader.stats().restoreInProgress;
    }, 20_000);
    const index = await c.settle(restoring);
    expect(maxUncommitted).toBeLessThanOrEqual(2000);
    await converged(c, index);
    expect(c.member(leader.id).fsm.get("key99")).toBe(`big99${"x".repeat(200)}`);
    await c.shutdown();
  });

  it("a leader cut off halfway through never half-applies it: nobody restores, the new leader serves the old state", async () => {
    const { c, leader } = await cluster(8, { maxUncommittedBytes: 800, restoreChunkSize: 100 });
    const restored: string[] = [];
    for (const m of c.members.values()) {
      m.node.observe((e) => {
        if (e.type === "restored") restored.push(m.id);
      });
    }
    const startIndex = leader.stats().lastIndex;
    const restoring = leader.restore(bytes(snapshotOf(60, "half", 20))).catch((e: unknown) => e);
    await c.runUntil(() => leader.stats().lastIndex > startIndex + 10, 2000);
    c.isolate(leader.id);
    const error = await c.settle(restoring, 10_000);
    expect(isNotLeaderError(error), String(error)).toBe(true);
    // The old leader, cut off, does not know it yet: wait for the two others to agree.
    const others = [...c.members.values()].filter((m) => m.id !== leader.id).map((m) => m.node);
    const agreed = () => {
      const next = others.find((n) => n.state === "leader");
      return next !== undefined && others.every((n) => n.leader === next.id) ? next : undefined;
    };
    await c.runUntil(() => agreed() !== undefined, 5000);
    const next = agreed();
    if (next === undefined) throw new Error("no new leader among the others");
    await c.settle(next.apply(put("key0", "new leader")));
    c.network.heal();
    await converged(c, next.stats().commitIndex);
    expect(restored).toEqual([]);
    for (const m of c.members.values()) {
      expect(m.fsm.get("key0")).toBe("new leader");
      expect(m.fsm.get("key1")).toBe("before1");
      expect(m.fsm.get("other")).toBe("gone after the restore");
    }
    await c.shutdown();
  });

  it("brings a follower that missed the restore up to date with the snapshot taken at it", async () => {
    const { c, leader } = await cluster(9, { trailingEntries: 0, snapshotThreshold: 10 });
    const lagging = [...c.members.values()].find((m) => m.id !== leader.id);
    if (lagging === undefined) throw new Error("no follower");
    const installed: RaftEvent[] = [];
    lagging.node.observe((e) => {
      if (e.type === "snapshotInstalled" || e.type === "restored") installed.push(e);
    });
    c.isolate(lagging.id);
    for (let i = 0; i < 30; i++) await c.settle(leader.apply(put("filler", String(i))));
    const index = await c.settle(leader.restore(bytes(snapshotOf(20))));
    await c.settle(leader.apply(put("after", "1")));
    // The entries the cut-off follower lacks are gone from the leader's log.
    expect(leader.stats().firstIndex).toBeGreaterThan(lagging.node.stats().lastIndex + 1);
    c.network.heal();
    await converged(c, index + 1);
    expect(installed.map((e) => e.type)).toEqual(["snapshotInstalled"]);
    expect(lagging.fsm.get("key19")).toBe("restored19");
    expect(lagging.fsm.get("after")).toBe("1");
    expect(lagging.fsm.get("filler")).toBeUndefined();
    await c.shutdown();
  });

  it("a member restarted after a restore comes back with the restored state", async () => {
    const { c, leader } = await cluster(10, { snapshotThreshold: 1000 });
    const index = await c.settle(leader.restore(bytes(snapshotOf(5))));
    await c.settle(leader.apply(put("after", "1")));
    const follower = [...c.members.values()].find((m) => m.id !== leader.id)?.id ?? "";
    await converged(c, index + 1);
    const restarted = await c.restart(follower);
    await c.settle(leader.apply(put("after", "2")));
    await converged(c, index + 2);
    expect(restarted.fsm.get("key4")).toBe("restored4");
    expect(restarted.fsm.get("after")).toBe("2");
    expect(restarted.fsm.get("other")).toBeUndefined();
    expect(inspectNode(restarted.node).lifecycle).toBe("running");
    await c.shutdown();
  });

  it("rejects with the error of contents that fail while being read, and writes nothing", async () => {
    const { c, leader } = await cluster(11);
    const lastIndex = leader.stats().lastIndex;
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array([1, 2, 3]);
      throw new Error("the snapshot file is unreadable");
    }
    const error = await c.settle(leader.restore(failing()).catch((e: unknown) => e));
    expect((error as Error).message).toBe("the snapshot file is unreadable");
    expect(leader.stats().lastIndex).toBe(lastIndex);
    expect(await c.settle(leader.apply(put("k", "v")))).toEqual({ ok: true });
    await c.shutdown();
  });
});
