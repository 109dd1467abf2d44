import { afterEach, describe, expect, it } from "vitest";
import { createEntry } from "../checksum.js";
import {
  isCorruptEntryError,
  isInvalidOptionsError,
  isNotCommittedError,
  isNotLeaderError,
  isProposalDroppedError,
  isProposalTooLargeError,
  isShutdownError,
  isTimeoutError,
  type NotLeaderError,
} from "../errors.js";
import { EntryType, type SnapshotMeta } from "../log-types.js";
import { TestCluster, waitFor } from "../test-support/cluster.js";
import { damageSnapshots } from "../test-support/damaged-snapshots.js";
import { encodeCommand, KvStateMachine } from "../testing/kv-fsm.js";
import type { RaftEvent } from "./events.js";
import { MemoryLogStore } from "./memory-log-store.js";
import { MemorySnapshotStore } from "./memory-snapshot-store.js";
import { MemoryStableStore } from "./memory-stable-store.js";
import { createMemoryNetwork } from "./memory-transport.js";
import { createRaftNode } from "./node.js";

// The runtime on real timers with the in-memory stores and network: 10 ms ticks, elections in
// tens of milliseconds. Assertions are about outcomes, never about how long things took.

const put = (key: string, value: string) => encodeCommand({ op: "put", key, value });

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

async function threeNodes(options: ConstructorParameters<typeof TestCluster>[1] = {}) {
  cluster = new TestCluster(["n1", "n2", "n3"], options);
  await cluster.start();
  return cluster;
}

describe("a three-node cluster", () => {
  it("elects one leader, applies a write on every node, and returns the state machine's result", async () => {
    const c = await threeNodes();
    const leader = await c.leader();
    const result = await leader.apply(put("k", "v"));
    expect(result).toEqual({ ok: true });
    await waitFor(() => c.ids.every((id) => c.member(id).fsm.get("k") === "v"));
    const cas = await leader.apply(
      encodeCommand({ op: "cas", key: "k", expected: "v", value: "w" }),
    );
    expect(cas).toEqual({ ok: true });
  });

  it("refuses apply on a follower with NotLeaderError naming the leader", async () => {
    const c = await threeNodes();
    const leader = await c.leader();
    const [follower] = c.followers(leader);
    const error = await follower?.apply(put("k", "v")).catch((e: unknown) => e);
    expect(isNotLeaderError(error)).toBe(true);
    expect((error as NotLeaderError).leader).toBe(leader.id);
    expect((error as Error).message).toContain(leader.id);
  });

  it("serves a linearizable read on a follower that reflects every write acknowledged before it", async () => {
    const c = await threeNodes();
    const leader = await c.leader();
    const follower = c.followers(leader)[0] ?? leader;
    for (let i = 0; i < 20; i++) await leader.apply(put("counter", String(i)));
    const committedBefore = leader.stats().commitIndex;
    const index = await follower.readIndex();
    expect(index).toBeGreaterThanOrEqual(committedBefore);
    expect(c.member(follower.id).fsm.get("counter")).toBe("19");
  });

  it("survives the leader's shutdown with leadership transfer and keeps taking writes", async () => {
    const c = await threeNodes();
    const leader = await c.leader();
    await leader.apply(put("before", "1"));
    await leader.shutdown({ transferLeadership: true });
    const next = await c.leader();
    expect(next.id).not.toBe(leader.id);
    await next.apply(put("after", "2"));
    await waitFor(() => c.followers(next).every((f) => c.member(f.id).fsm.get("after") === "2"));
    expect(c.member(next.id).fsm.get("before")).toBe("1");
  });

  it("transfers leadership to a chosen follower on request", async () => {
    const c = await threeNodes();
    const leader = await c.leader();
    const target = c.followers(leader)[1]?.id ?? "";
    expect(await leader.transferLeadership(target)).toBe(target);
    expect((await c.leader()).id).toBe(target);
  });

  it("pushes back with ProposalDroppedError when uncommitted bytes exceed the bound", async () => {
    const c = await threeNodes({ maxUncommittedBytes: 1000 });
    const leader = await c.leader();
    c.network.isolate(leader.id, c.ids);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        leader.apply(put(`k${i}`, "x".repeat(100)), { timeoutMs: 500 }),
      ),
    );
    const dropped = outcomes.filter(
      (o) => o.status === "rejected" && isProposalDroppedError(o.reason),
    );
    expect(dropped.length).toBeGreaterThan(20);
    expect((dropped[0] as PromiseRejectedResult).reason.message).toMatch(
      /exceed the limit of 1000/,
    );
  });

  it("group-commits concurrent proposals: a hundred applies share a few log store appends", async () => {
    const c = await threeNodes();
    const leader = await c.leader();
    const store = c.member(leader.id).logStore;
    let appends = 0;
    const append = store.append.bind(store);
    store.append = (entries) => {
      appends++;
      return append(entries);
    };
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => leader.apply(put(`k${i}`, "v"))),
    );
    expect(results).toHaveLength(100);
    expect(appends).toBeLessThanOrEqual(3);
  });

  it("refuses a proposal larger than the maximum entry size", async () => {
    const c = await threeNodes({ maxEntrySize: 1024 });
    const leader = await c.leader();
    const error = await leader.apply(new Uint8Array(1025)).catch((e: unknown) => e);
    expect(isProposalTooLargeError(error)).toBe(true);
    expect((error as Error).message).toBe(
      "proposal of 1025 bytes exceeds the maximum entry size of 1024 bytes",
    );
  });

  it("snapshots, compacts, and brings a lagging follower up to date with a chunked snapshot", async () => {
    const c = await threeNodes({
      snapshotThreshold: 20,
      trailingEntries: 5,
      snapshotChunkSize: 100,
      snapshotWindow: 2,
    });
    const leader = await c.leader();
    const lagging = c.followers(leader)[0]?.id ?? "";
    const events: RaftEvent[] = [];
    c.node(lagging).observe((e) => events.push(e));
    c.network.isolate(lagging, c.ids);
    for (let i = 0; i < 100; i++) await leader.apply(put(`key${i % 10}`, `v${i}`));
    await waitFor(() => leader.stats().firstIndex > 10);
    c.network.heal();
    await waitFor(() => c.member(lagging).fsm.get("key9") === "v99");
    expect(events.some((e) => e.type === "snapshotInstalled")).toBe(true);
    expect(c.member(lagging).fsm.stateHash).toBe(c.member(leader.id).fsm.stateHash);
  });

  it("replaces a damaged snapshot it finds when sending it, and brings the follower up to date", async () => {
    const c = await threeNodes({
      snapshotThreshold: 20,
      trailingEntries: 5,
      snapshotChunkSize: 100,
    });
    const leader = await c.leader();
    const lagging = c.followers(leader)[0]?.id ?? "";
    c.network.isolate(lagging, c.ids);
    for (let i = 0; i < 100; i++) await leader.apply(put(`key${i % 10}`, `v${i}`));
    await waitFor(() => leader.stats().firstIndex > 10);
    // Every snapshot the leader holds now is damaged on its disk; its state is intact.
    const store = c.member(leader.id).snapshotStore;
    const damaged = new Set<SnapshotMeta>();
    for (const s of await store.list()) {
      const source = await store.open(s);
      if (source !== undefined) damaged.add(source.meta);
    }
    damageSnapshots(store, (meta) => damaged.has(meta));
    c.network.heal();
    await waitFor(() => c.member(lagging).fsm.get("key9") === "v99");
    expect(c.member(lagging).fsm.stateHash).toBe(c.member(leader.id).fsm.stateHash);
    // The one it tried to send was set aside for a new one (perhaps of the same index and term).
    const newest = (await store.open())?.meta;
    expect(newest !== undefined && !damaged.has(newest)).toBe(true);
  });

  it("restarts a node from its stores and catches it up", async () => {
    const c = await threeNodes({ snapshotThreshold: 10, trailingEntries: 2 });
    const leader = await c.leader();
    for (let i = 0; i < 30; i++) await leader.apply(put("k", String(i)));
    const follower = c.followers(leader)[0]?.id ?? "";
    await waitFor(() => c.member(follower).fsm.get("k") === "29");
    const restarted = await c.restart(follower);
    await leader.apply(put("k", "after restart"));
    await waitFor(() => restarted.fsm.get("k") === "after restart");
    expect(restarted.node.stats().snapshotIndex).toBeGreaterThan(0);
  });

  it("confirms leadership with verifyLeader and orders earlier writes with barrier", async () => {
    const c = await threeNodes();
    const leader = await c.leader();
    await leader.verifyLeader();
    const pending = leader.apply(put("a", "1"));
    await leader.barrier();
    expect(c.member(leader.id).fsm.get("a")).toBe("1");
    await pending;
    const follower = c.followers(leader)[0];
    await expect(follower?.verifyLeader()).rejects.toThrow(/not the leader/);
  });

  it("times out an apply that cannot commit, with an unknown outcome", async () => {
    const c = await threeNodes({ checkQuorum: false });
    const leader = await c.leader();
    c.network.isolate(leader.id, c.ids);
    const error = await leader.apply(put("k", "v"), { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(isTimeoutError(error)).toBe(true);
    expect((error as Error).message).toMatch(/outcome is unknown/);
  });

  it("rejects an apply with the reason of its abort signal", async () => {
    const c = await threeNodes({ checkQuorum: false });
    const leader = await c.leader();
    c.network.isolate(leader.id, c.ids);
    const controller = new AbortController();
    const pending = leader.apply(put("k", "v"), { signal: controller.signal });
    controller.abort(new Error("caller gave up"));
    await expect(pending).rejects.toThrow("caller gave up");
  });

  it("a proposal of a leader cut off before it commits fails with NotCommittedError once the next leader's entry takes its place", async () => {
    const c = await threeNodes();
    const leader = await c.leader();
    c.network.isolate(leader.id, c.ids);
    let settled = false;
    const pending = leader.apply(put("k", "v")).catch((e: unknown) => e);
    void pending.then(() => {
      settled = true;
    });
    await waitFor(() => leader.state !== "leader");
    await waitFor(() =>
      c.ids.some((id) => id !== leader.id && c.member(id).node.state === "leader"),
    );
    // Stepped down, it cannot know yet whether the next leader will commit the entry.
    expect(settled).toBe(false);
    c.network.heal();
    const error = await pending;
    expect(isNotCommittedError(error), String(error)).toBe(true);
    for (const id of c.ids) expect(c.member(id).fsm.get("k")).toBeUndefined();
  });

  it("rejects calls pending at shutdown with ShutdownError, and calls after it", async () => {
    const c = await threeNodes({ checkQuorum: false });
    const leader = await c.leader();
    c.network.isolate(leader.id, c.ids);
    const pending = leader.apply(put("k", "v"));
    await leader.shutdown();
    expect(isShutdownError(await pending.catch((e: unknown) => e))).toBe(true);
    expect(isShutdownError(await leader.readIndex().catch((e: unknown) => e))).toBe(true);
  });

  it("reports leader changes to observers", async () => {
    const c = await threeNodes();
    const leader = await c.leader();
    const follower = c.followers(leader)[0];
    const events: RaftEvent[] = [];
    follower?.observe((e) => events.push(e));
    await leader.transferLeadership(follower?.id);
    await c.leader();
    expect(events.filter((e) => e.type === "leaderChange").at(-1)).toMatchObject({
      type: "leaderChange",
      leader: follower?.id,
    });
  });

  it("reports per-peer replication state in the leader's stats", async () => {
    const c = await threeNodes();
    const leader = await c.leader();
    await leader.apply(put("k", "v"));
    await waitFor(() =>
      Object.values(leader.stats().peers).every((p) => p.match === leader.stats().lastIndex),
    );
    const stats = leader.stats();
    expect(stats).toMatchObject({ state: "leader", leader: leader.id, pendingProposals: 0 });
    expect(Object.keys(stats.peers).sort()).toEqual(
      c
        .followers(leader)
        .map((f) => f.id)
        .sort(),
    );
  });
});

describe("bad input over the transport", () => {
  it("a running cluster drops garbage, intruders and corrupt entries with logged reasons, and keeps working", async () => {
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn: (_fields: object, message?: string) => warnings.push(message ?? ""),
    };
    const c = await threeNodes({ logger });
    const leader = await c.leader();
    const follower = c.followers(leader)[0]?.id ?? "";
    const intruder = c.network.transport("intruder");
    intruder.start({ onMessage() {}, onUnreachable() {} });
    const corrupt = {
      ...createEntry(999, 99, EntryType.Normal, new Uint8Array([1])),
      data: new Uint8Array([2]),
    };
    const garbage: unknown[] = [
      { type: "append", from: leader.id, to: follower, term: "x" },
      { type: "heartbeat", from: leader.id, to: follower, term: 1e300, commit: 0, context: 0 },
      {
        type: "vote",
        from: "intruder",
        to: follower,
        term: 99,
        preVote: false,
        transfer: true,
        lastIndex: 9e9,
        lastTerm: 99,
      },
      {
        type: "append",
        from: leader.id,
        to: follower,
        term: leader.term,
        prevIndex: 998,
        prevTerm: 99,
        entries: [corrupt],
        commit: 0,
      },
      { type: "nonsense", from: leader.id, to: follower, term: 1 },
    ];
    for (const m of garbage) intruder.send(m as never);
    expect(await leader.apply(put("still", "working"))).toEqual({ ok: true });
    await waitFor(() => c.member(follower).fsm.get("still") === "working");
    expect(c.node(follower).leader).toBe(leader.id);
    const joined = warnings.join("\n");
    expect(joined).toMatch(/malformed/);
    expect(joined).toMatch(/outside the configuration/);
  });
});

describe("a single node", () => {
  it("elects itself and applies writes", async () => {
    cluster = new TestCluster(["solo"]);
    await cluster.start();
    const node = await cluster.leader();
    expect(await node.apply(put("k", "v"))).toEqual({ ok: true });
    expect(await node.readIndex()).toBeGreaterThanOrEqual(2);
  });
});

describe("startup", () => {
  function options(logStore = new MemoryLogStore()) {
    return {
      id: "n1",
      voters: ["n1"],
      logStore,
      stableStore: new MemoryStableStore(),
      snapshotStore: new MemorySnapshotStore(),
      transport: createMemoryNetwork().transport("n1"),
      fsm: new KvStateMachine(),
    };
  }

  it("refuses to start on a log entry that fails its checksum, naming the index", async () => {
    const logStore = new MemoryLogStore();
    const good = createEntry(1, 1, EntryType.Normal, new Uint8Array([1]));
    await logStore.append([
      good,
      { ...createEntry(2, 1, EntryType.Normal, new Uint8Array([2])), data: new Uint8Array([3]) },
    ]);
    const node = createRaftNode(options(logStore));
    const error = await node.start().catch((e: unknown) => e);
    expect(isCorruptEntryError(error)).toBe(true);
    expect((error as Error).message).toMatch(/log entry 2 fails its checksum/);
  });

  it("rejects invalid options with InvalidOptionsError saying what was expected", () => {
    let error: unknown;
    try {
      createRaftNode({ ...options(), heartbeatTicks: 10, electionTicks: 5 });
    } catch (e) {
      error = e;
    }
    expect(isInvalidOptionsError(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /heartbeatTicks \(10\) to be less than electionTicks \(5\)/,
    );
  });

  it("rejects a trailingEntries that is not an integer of 0 or more, instead of compacting by NaN", () => {
    for (const trailingEntries of [Number.NaN, -1, 2.5]) {
      expect(() => createRaftNode({ ...options(), trailingEntries })).toThrow(
        /trailingEntries to be an integer of 0 or more/,
      );
    }
    expect(() => createRaftNode({ ...options(), trailingEntries: 0 })).not.toThrow();
  });

  it("rejects a snapshotJitter outside [0, 1)", () => {
    for (const snapshotJitter of [Number.NaN, -0.1, 1, 2]) {
      expect(() => createRaftNode({ ...options(), snapshotJitter })).toThrow(
        /snapshotJitter to be a number from 0 to below 1/,
      );
    }
    expect(() => createRaftNode({ ...options(), snapshotJitter: 0.99 })).not.toThrow();
  });

  it("rejects calls before start with ShutdownError", async () => {
    const node = createRaftNode(options());
    expect(isShutdownError(await node.apply(new Uint8Array()).catch((e: unknown) => e))).toBe(true);
  });

  it("reports a follower's apply as NotLeaderError without a leader when none is known", async () => {
    const node = createRaftNode({ ...options(), voters: ["n1", "n2", "n3"] });
    await node.start();
    const error = await node.apply(new Uint8Array()).catch((e: unknown) => e);
    expect(isNotLeaderError(error)).toBe(true);
    expect((error as NotLeaderError).leader).toBeUndefined();
    await node.shutdown();
  });
});
