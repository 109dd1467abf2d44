import { describe, expect, it } from "vitest";
import {
  isLeadershipLostError,
  isNotCommittedError,
  isNotLeaderError,
  isProposalDroppedError,
  isShutdownError,
  isTimeoutError,
  type NotLeaderError,
  type ProposalDroppedError,
} from "../errors.js";
import { EntryType } from "../log-types.js";
import type { Message, ProposeMessage } from "../messages.js";
import {
  VirtualCluster,
  type VirtualClusterOptions,
  type VirtualMember,
  virtualElectionTicks,
  virtualTickMs,
} from "../test-support/virtual-cluster.js";
import { decodeCommand, encodeCommand, KvStateMachine } from "../testing/kv-fsm.js";
import { inspectNode } from "./node.js";

// Proposals made on a follower with `forwardProposals`: the follower forwards them to its
// leader (etcd's MsgProp) and resolves each caller once the entry is applied on the follower
// itself. On virtual time, with the simulation's network (no random faults; the tests tamper
// with it on purpose).

const ids = ["n1", "n2", "n3"];
const electionTimeoutMs = virtualElectionTicks * virtualTickMs;
const put = (key: string, value: string) => encodeCommand({ op: "put", key, value });
const get = (key: string) => encodeCommand({ op: "get", key });
const keyOf = (data: Uint8Array): string => decodeCommand(data).key;

async function forwarding(seed: number, options: VirtualClusterOptions = {}) {
  const c = new VirtualCluster(ids, seed, { forwardProposals: true, ...options });
  await c.start();
  const leader = await c.leader();
  const followers = ids.filter((id) => id !== leader.id).map((id) => c.member(id));
  return { c, leader, f: followers[0] as VirtualMember, g: followers[1] as VirtualMember };
}

/** The settled outcome of a call: its value, or the error it rejected with. */
function outcome(promise: Promise<unknown>): Promise<{ value?: unknown; error?: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

/** The Normal entries (key-value commands) of a member's log store. */
async function commands(member: VirtualMember) {
  const { entries } = await member.logStore.load();
  return entries.filter((e) => e.type === EntryType.Normal);
}

/** Every entry of a member's log store whose data is the key-value command for `key`. */
async function entriesFor(member: VirtualMember, key: string) {
  return (await commands(member)).filter((e) => keyOf(e.data) === key);
}

/** Whether an error says the outcome is unknown (the write may or may not have happened). */
const unknownOutcome = (error: unknown) => isLeadershipLostError(error) || isTimeoutError(error);

describe("forwarding proposals from followers", () => {
  it("apply on a follower resolves with its own state machine's result, which holds the write by then", async () => {
    const { c, leader, f } = await forwarding(1);
    let seenAtResolve: string | undefined;
    let appliedAtResolve = 0;
    const written = f.node.apply(put("k", "v")).then((result) => {
      seenAtResolve = f.fsm.get("k");
      appliedAtResolve = f.fsm.lastIndex;
      return result;
    });
    expect(await c.settle(written)).toEqual({ ok: true });
    expect(seenAtResolve).toBe("v");
    const [entry] = await entriesFor(c.member(leader.id), "k");
    expect(entry?.term).toBe(leader.term);
    expect(appliedAtResolve).toBeGreaterThanOrEqual(entry?.index ?? Number.POSITIVE_INFINITY);
    // The leader appended it once, and every member applies it.
    expect(await entriesFor(c.member(leader.id), "k")).toHaveLength(1);
    expect(await c.runUntil(() => ids.every((id) => c.member(id).fsm.get("k") === "v"), 1000)).toBe(
      true,
    );
    // The results are the state machine's: a read through the log, and a failed compare-and-set.
    expect(await c.settle(f.node.apply(get("k")))).toEqual({ ok: true, value: "v" });
    expect(
      await c.settle(
        f.node.apply(encodeCommand({ op: "cas", key: "k", expected: "nope", value: "w" })),
      ),
    ).toEqual({ ok: false });
    expect(f.node.stats().pendingProposals).toBe(0);
    await c.shutdown();
  });

  it("each caller of a batch gets the result of its own entry", async () => {
    const { c, f } = await forwarding(2);
    // Made together, so forwarded in one propose message: put, read, put, read, …
    const calls = [];
    for (let i = 0; i < 5; i++) {
      calls.push(f.node.apply(put("x", `v${i}`)));
      calls.push(f.node.apply(get("x")));
    }
    const results = await c.settle(Promise.all(calls));
    const expected = [];
    for (let i = 0; i < 5; i++) expected.push({ ok: true }, { ok: true, value: `v${i}` });
    expect(results).toEqual(expected);
    await c.shutdown();
  });

  it("many concurrent applies on both followers (and the leader) all resolve, once each, at distinct increasing indexes", async () => {
    const { c, leader, f, g } = await forwarding(3);
    const lm = c.member(leader.id);
    const resolvedOrder = new Map<string, string[]>([
      [f.id, []],
      [g.id, []],
      [lm.id, []],
    ]);
    const stale: string[] = [];
    const calls: Promise<unknown>[] = [];
    const call = (m: VirtualMember, key: string) => {
      calls.push(
        m.node.apply(put(key, `value of ${key}`)).then((result) => {
          if (m.fsm.get(key) !== `value of ${key}`) stale.push(`${m.id} ${key}`);
          resolvedOrder.get(m.id)?.push(key);
          return result;
        }),
      );
    };
    // Three waves, a few milliseconds apart, so that several batches are in flight at once.
    for (let wave = 0; wave < 3; wave++) {
      for (let i = 0; i < 15; i++) {
        call(f, `${f.id}-${wave}-${i}`);
        call(g, `${g.id}-${wave}-${i}`);
        if (i % 3 === 0) call(lm, `${lm.id}-${wave}-${i}`);
      }
      await c.runUntil(() => false, 2);
    }
    const results = await c.settle(Promise.all(calls));
    expect(results.every((r) => (r as { ok: boolean }).ok)).toBe(true);
    expect(stale).toEqual([]);
    // In the leader's log every write appears once, each at its own index.
    const indexOf = new Map<string, number>();
    for (const e of await commands(lm)) {
      const key = keyOf(e.data);
      expect(indexOf.has(key), `${key} appended twice`).toBe(false);
      indexOf.set(key, e.index);
    }
    expect(indexOf.size).toBe(calls.length);
    // Each node's callers resolve in index order (the order it applies them).
    for (const [id, keys] of resolvedOrder) {
      expect(keys.length).toBeGreaterThan(0);
      const indexes = keys.map((k) => indexOf.get(k) ?? -1);
      expect(
        indexes.every((x, i) => i === 0 || x > (indexes[i - 1] as number)),
        id,
      ).toBe(true);
    }
    for (const m of [f, g]) expect(m.node.stats().pendingProposals).toBe(0);
    // Every member ends in the same state.
    expect(
      await c.runUntil(() => new Set(ids.map((id) => c.member(id).fsm.stateHash)).size === 1, 1000),
    ).toBe(true);
    await c.shutdown();
  });

  it("without the option a follower refuses apply with NotLeaderError naming the leader, and nothing is appended", async () => {
    const c = new VirtualCluster(ids, 4);
    await c.start();
    const leader = await c.leader();
    const f = c.member(ids.find((id) => id !== leader.id) as string);
    const lastIndex = leader.stats().lastIndex;
    const error = await c.settle(f.node.apply(put("k", "v")).catch((e: unknown) => e));
    expect(isNotLeaderError(error)).toBe(true);
    expect((error as NotLeaderError).leader).toBe(leader.id);
    await c.runUntil(() => false, 50);
    expect(leader.stats().lastIndex).toBe(lastIndex);
    expect(await entriesFor(c.member(leader.id), "k")).toEqual([]);
    await c.shutdown();
  });

  it("with the option, a follower still refuses what it cannot forward: a barrier, or any call without a known leader", async () => {
    const { c, f } = await forwarding(5);
    const barrier = await c.settle(f.node.barrier().catch((e: unknown) => e));
    expect(isNotLeaderError(barrier)).toBe(true);
    // Cut off, it gives up on its leader at its election timeout.
    c.isolate(f.id);
    expect(await c.runUntil(() => f.node.leader === undefined, 5 * electionTimeoutMs)).toBe(true);
    const error = await c.settle(f.node.apply(put("k", "v")).catch((e: unknown) => e));
    expect(isNotLeaderError(error)).toBe(true);
    expect((error as NotLeaderError).leader).toBeUndefined();
    c.network.heal();
    await c.shutdown();
  });

  it("entries the leader refuses under maxUncommittedBytes fail with ProposalDroppedError; the accepted prefix resolves", async () => {
    const key = (i: number) => `k${i}`;
    const value = "x".repeat(100);
    const size = put(key(0), value).byteLength;
    // Room for two entries (always one when nothing is uncommitted), not three.
    const { c, f } = await forwarding(6, { maxUncommittedBytes: Math.floor(2.5 * size) });
    const calls = [0, 1, 2, 3, 4].map((i) => outcome(f.node.apply(put(key(i), value))));
    const outcomes = await c.settle(Promise.all(calls));
    expect(outcomes.slice(0, 2)).toEqual([{ value: { ok: true } }, { value: { ok: true } }]);
    for (const o of outcomes.slice(2)) {
      expect(isProposalDroppedError(o.error)).toBe(true);
      expect((o.error as ProposalDroppedError).reason).toBe("uncommitted-limit");
    }
    expect(f.fsm.get(key(1))).toBe(value);
    await c.runUntil(() => false, 50);
    for (const id of ids) expect(c.member(id).fsm.get(key(2))).toBeUndefined();
    await c.shutdown();
  });

  it("while the leader transfers leadership, a forwarded proposal fails with ProposalDroppedError (leadership-transfer)", async () => {
    const { c, leader, f, g } = await forwarding(7);
    // The target never hears that it should take over: the transfer stays in progress.
    c.network.tamper = (m) => (m.type === "timeoutNow" ? undefined : m);
    const transfer = leader.transferLeadership(g.id).catch((e: unknown) => e);
    const error = await c.settle(f.node.apply(put("k", "v")).catch((e: unknown) => e));
    expect(isProposalDroppedError(error)).toBe(true);
    expect((error as ProposalDroppedError).reason).toBe("leadership-transfer");
    c.network.tamper = undefined;
    await c.settle(transfer, 10 * electionTimeoutMs);
    await c.shutdown();
  });

  it("while the leader restores a snapshot, a forwarded proposal fails with ProposalDroppedError (restore), and works after", async () => {
    const { c, leader, f } = await forwarding(8);
    const snapshot = KvStateMachine.encodeSnapshot(new Map([["restored", "yes"]]));
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* contents() {
      yield snapshot.subarray(0, 10);
      await gate;
      yield snapshot.subarray(10);
    }
    const restoring = leader.restore(contents());
    expect(leader.stats().restoreInProgress).toBe(true);
    const error = await c.settle(f.node.apply(put("k", "v")).catch((e: unknown) => e));
    expect(isProposalDroppedError(error)).toBe(true);
    expect((error as ProposalDroppedError).reason).toBe("restore");
    expect((error as Error).message).toMatch(/restore/);
    release();
    const index = await c.settle(restoring);
    expect(await c.settle(f.node.apply(put("k", "after")))).toEqual({ ok: true });
    expect(f.fsm.get("restored")).toBe("yes");
    expect(f.fsm.get("k")).toBe("after");
    expect(f.fsm.lastIndex).toBeGreaterThan(index);
    await c.shutdown();
  });

  it("a duplicated propose message is appended once, and its caller resolves once", async () => {
    const { c, leader, f } = await forwarding(9);
    let duplicated = 0;
    c.network.tamper = (m) => {
      if (m.type === "propose" && duplicated === 0) {
        duplicated++;
        const copy = structuredClone(m);
        // The copy arrives twice: soon after the original, and once the first is committed.
        c.scheduler.after(0.1, () => c.network.transport(m.from).send(copy));
        c.scheduler.after(50, () => c.network.transport(m.from).send(copy));
      }
      return m;
    };
    let resolutions = 0;
    const result = await c.settle(
      f.node.apply(put("dup", "1")).then((r) => {
        resolutions++;
        return r;
      }),
    );
    expect(result).toEqual({ ok: true });
    await c.runUntil(() => false, 100);
    expect(duplicated).toBe(1);
    expect(resolutions).toBe(1);
    for (const id of ids) expect(await entriesFor(c.member(id), "dup"), id).toHaveLength(1);
    expect(c.member(leader.id).fsm.applied).toBe(f.fsm.applied);
    c.network.tamper = undefined;
    await c.shutdown();
  });

  it("proposals of several followers handled in one leader Ready: each follower's callers get their own entries' results", async () => {
    const cas = (key: string, expected: string | undefined, value: string) =>
      encodeCommand({ op: "cas", key, expected, value });
    // f: [swaps, fails]; g: [fails, (refused)] — distinct results, so a misplaced entry shows.
    const fData = [cas("fk", undefined, "1"), cas("fk", "no", "2")];
    const gData = [cas("gk", "no", "1"), cas("gk", undefined, "2")];
    const [s1, s2, s3] = [...fData, ...gData].map((d) => d.byteLength) as [number, number, number];
    const { c, leader, f, g } = await forwarding(23, { maxUncommittedBytes: s1 + s2 + s3 });
    const held: ProposeMessage[] = [];
    c.network.tamper = (m) => {
      if (m.type !== "propose") return m;
      held.push(m);
      return undefined;
    };
    const fCalls = fData.map((d) => outcome(f.node.apply(d)));
    const gCalls = gData.map((d) => outcome(g.node.apply(d)));
    expect(await c.runUntil(() => held.length === 2, 100)).toBe(true);
    c.network.tamper = undefined;
    // Both reach the leader's core before its runtime looks: one Ready holds both.
    const internals = inspectNode(leader);
    const fromF = held.find((m) => m.from === f.id) as ProposeMessage;
    const fromG = held.find((m) => m.from === g.id) as ProposeMessage;
    internals.core?.step(fromF);
    internals.core?.step(fromG);
    internals.campaign(); // a no-op on a leader, but it runs the node's Ready loop
    const fOut = await c.settle(Promise.all(fCalls));
    const gOut = await c.settle(Promise.all(gCalls));
    expect(fOut).toEqual([{ value: { ok: true } }, { value: { ok: false } }]);
    expect(gOut[0]).toEqual({ value: { ok: false } });
    const refused = gOut[1]?.error;
    expect(isProposalDroppedError(refused), String(refused)).toBe(true);
    expect((refused as ProposalDroppedError).reason).toBe("uncommitted-limit");
    expect(await entriesFor(c.member(leader.id), "fk")).toHaveLength(2);
    expect(await entriesFor(c.member(leader.id), "gk")).toHaveLength(1);
    await c.shutdown();
  });

  it("the same propose stepped twice into the leader's core is appended once", async () => {
    const { c, leader, f } = await forwarding(24);
    let held: ProposeMessage | undefined;
    c.network.tamper = (m) => {
      if (m.type !== "propose") return m;
      held = m;
      return undefined;
    };
    const call = f.node.apply(put("once", "1"));
    expect(await c.runUntil(() => held !== undefined, 100)).toBe(true);
    c.network.tamper = undefined;
    const internals = inspectNode(leader);
    internals.core?.step(held);
    internals.core?.step(structuredClone(held));
    internals.campaign(); // runs the leader's Ready loop: both copies in one Ready
    expect(await c.settle(call)).toEqual({ ok: true });
    // And once more, in a later Ready.
    internals.core?.step(structuredClone(held));
    internals.campaign();
    await c.runUntil(() => false, 50);
    for (const id of ids) expect(await entriesFor(c.member(id), "once"), id).toHaveLength(1);
    await c.shutdown();
  });

  it("an answer that never comes fails the caller with TimeoutError after about two election timeouts (the write happened)", async () => {
    const { c, leader, f } = await forwarding(10);
    c.network.tamper = (m) => (m.type === "proposeResponse" ? undefined : m);
    const started = c.now;
    const error = await c.settle(f.node.apply(put("k", "v")).catch((e: unknown) => e));
    const elapsed = c.now - started;
    expect(isTimeoutError(error)).toBe(true);
    expect((error as Error).message).toMatch(/outcome is unknown/);
    expect(elapsed).toBeGreaterThanOrEqual(2 * electionTimeoutMs);
    expect(elapsed).toBeLessThanOrEqual(3 * electionTimeoutMs);
    // Outcome unknown indeed: the leader appended it, and it was applied everywhere.
    expect(f.fsm.get("k")).toBe("v");
    expect(await entriesFor(c.member(leader.id), "k")).toHaveLength(1);
    expect(f.node.stats().pendingProposals).toBe(0);
    await c.shutdown();
  });

  it("a lost propose message fails the caller with TimeoutError; nothing was appended", async () => {
    const { c, leader, f } = await forwarding(11);
    c.network.tamper = (m) => (m.type === "propose" ? undefined : m);
    const error = await c.settle(f.node.apply(put("k", "v")).catch((e: unknown) => e));
    expect(isTimeoutError(error)).toBe(true);
    expect(await entriesFor(c.member(leader.id), "k")).toEqual([]);
    expect(leader.state).toBe("leader");
    await c.shutdown();
  });

  it("a leader that crashes on receiving the proposal: once the next leader commits, the caller learns it was not committed, within a few election timeouts", async () => {
    for (const seed of [12, 13, 14]) {
      const { c, leader, f, g } = await forwarding(seed);
      c.network.tamper = (m) => {
        if (m.type !== "propose") return m;
        c.member(leader.id).process.crash();
        return undefined;
      };
      const started = c.now;
      const error = await c.settle(
        f.node.apply(put("k", "v")).catch((e: unknown) => e),
        10 * electionTimeoutMs,
      );
      // Certain, not merely unknown: the caller may retry it.
      expect(isNotCommittedError(error), String(error)).toBe(true);
      expect(c.now - started).toBeLessThanOrEqual(4 * electionTimeoutMs);
      expect(await entriesFor(f, "k")).toEqual([]);
      expect(await entriesFor(g, "k")).toEqual([]);
      c.network.tamper = undefined;
      // The survivors go on (the crashed node, which still believes it leads, is left out),
      // and the follower's next write succeeds, forwarded or not.
      c.members.delete(leader.id);
      await c.leader(20 * electionTimeoutMs);
      expect(await c.settle(f.node.apply(put("k", "w")))).toEqual({ ok: true });
      expect(f.fsm.get("k")).toBe("w");
      await c.shutdown();
    }
  });

  it("a leader partitioned away before its answer: the entry it appended is never committed, and the caller learns so once the next leader commits", async () => {
    for (const seed of [15, 16, 17]) {
      const { c, leader, f, g } = await forwarding(seed);
      c.network.tamper = (m) => {
        // The proposal reaches the leader, which appends it; nothing it sends gets out.
        if (m.type === "propose") c.isolate(leader.id);
        return m;
      };
      const error = await c.settle(
        f.node.apply(put("k", "v")).catch((e: unknown) => e),
        10 * electionTimeoutMs,
      );
      expect(isNotCommittedError(error), String(error)).toBe(true);
      expect(await entriesFor(c.member(leader.id), "k")).toHaveLength(1);
      c.network.tamper = undefined;
      c.network.heal();
      // Healed, the old leader's entry is replaced, and nobody ever applies it.
      const next = await c.leader(20 * electionTimeoutMs);
      await c.settle(next.apply(put("after", "heal")), 20 * electionTimeoutMs);
      await c.runUntil(() => ids.every((id) => c.member(id).fsm.get("after") === "heal"), 5000);
      for (const m of [c.member(leader.id), f, g]) expect(m.fsm.get("k")).toBeUndefined();
      await c.shutdown();
    }
  });

  it("an entry placed by a leader whose term ends before it replicates: the new leader's entry replaces it, and the caller learns so", async () => {
    const { c, leader, f, g } = await forwarding(18);
    let cut = false;
    c.network.tamper = (m) => {
      if (m.type === "propose") cut = true;
      // From the proposal on, the old leader hears it, and the proposer hears its answer;
      // nothing else reaches the old leader or leaves it.
      const involved = m.from === leader.id || m.to === leader.id;
      if (cut && involved && m.type !== "propose" && m.type !== "proposeResponse") {
        return undefined;
      }
      return m;
    };
    const started = c.now;
    const error = await c.settle(
      f.node.apply(put("lost", "v")).catch((e: unknown) => e),
      10 * electionTimeoutMs,
    );
    expect(isNotCommittedError(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/a newer leader committed another entry at index/);
    // Well before the deadline of a placed proposal: as soon as the replacement was applied.
    expect(c.now - started).toBeLessThan(10 * electionTimeoutMs);
    expect(f.fsm.get("lost")).toBeUndefined();
    expect(g.fsm.get("lost")).toBeUndefined();
    expect(await entriesFor(c.member(leader.id), "lost")).toHaveLength(1);
    c.network.tamper = undefined;
    await c.shutdown();
  });

  it("an entry placed but never applied on the follower fails with TimeoutError after ten election timeouts", async () => {
    const { c, f } = await forwarding(19);
    let frozen = false;
    c.network.tamper = (m) => {
      if (m.type === "propose") frozen = true;
      // From the proposal on, only the proposal and its answer cross the network: the entry is
      // placed, but never replicated, and no election can succeed.
      return !frozen || m.type === "propose" || m.type === "proposeResponse" ? m : undefined;
    };
    const started = c.now;
    const answered = f.node.apply(put("k", "v")).catch((e: unknown) => e);
    // The answer arrives: the proposal waits for its entry, not for an answer.
    await c.runUntil(() => false, 3 * electionTimeoutMs);
    expect(f.node.stats().pendingProposals).toBe(1);
    const error = await c.settle(answered, 20 * electionTimeoutMs);
    const elapsed = c.now - started;
    expect(isTimeoutError(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/proposal waiting on another leader did not complete/);
    expect(elapsed).toBeGreaterThanOrEqual(10 * electionTimeoutMs);
    expect(elapsed).toBeLessThanOrEqual(11 * electionTimeoutMs);
    expect(f.fsm.get("k")).toBeUndefined();
    expect(f.node.stats().pendingProposals).toBe(0);
    c.network.tamper = undefined;
    await c.shutdown();
  });

  it("a follower's shutdown fails its forwarded proposals with ShutdownError", async () => {
    const { c, f } = await forwarding(20);
    c.network.tamper = (m) => (m.type === "propose" ? undefined : m);
    const pending = f.node.apply(put("k", "v")).catch((e: unknown) => e);
    await c.runUntil(() => false, 10);
    expect(f.node.stats().pendingProposals).toBe(1);
    await c.settle(f.node.shutdown());
    expect(isShutdownError(await c.settle(pending))).toBe(true);
    c.network.tamper = undefined;
    await c.shutdown();
  });

  it("an answer that arrives after the entry was applied here still settles the caller, with an unknown outcome", async () => {
    const { c, f } = await forwarding(21);
    // The leader's answer is held back until the entry is applied everywhere.
    c.network.tamper = (m) => {
      if (m.type !== "proposeResponse" || (m as { late?: boolean }).late) return m;
      const copy = { ...structuredClone(m), late: true } as Message;
      c.scheduler.after(50, () => c.network.transport(m.from).send(copy));
      return undefined;
    };
    const started = c.now;
    const result = await c.settle(outcome(f.node.apply(put("late", "v"))));
    expect(f.fsm.get("late")).toBe("v");
    if (result.error !== undefined) expect(unknownOutcome(result.error)).toBe(true);
    else expect(result.value).toEqual({ ok: true });
    // Settled when the answer came, not at a timeout.
    expect(c.now - started).toBeLessThan(1.5 * electionTimeoutMs);
    c.network.tamper = undefined;
    await c.shutdown();
  });

  it("a duplicated propose reaching a leader that has since stepped down (same term) must not be reported as not appended", async () => {
    // The first copy is appended (and committed); its answer is lost. The leader then steps
    // down without a new term (as check-quorum or a stalled disk make it do), and the duplicate
    // arrives: the ex-leader answers "not-leader" in the same term. NotLeaderError tells the
    // caller the write was not appended (clients retry it elsewhere) — yet it was applied.
    const { c, leader, f } = await forwarding(22);
    let held: ProposeMessage | undefined;
    c.network.tamper = (m) => {
      if (m.type === "propose" && held === undefined) held = structuredClone(m);
      if (m.type === "proposeResponse" && m.refused === "") return undefined;
      return m;
    };
    const call = outcome(f.node.apply(put("twice", "v")));
    expect(
      await c.runUntil(() => ids.every((id) => c.member(id).fsm.get("twice") === "v"), 1000),
    ).toBe(true);
    const core = inspectNode(leader).core;
    core?.stepDown("test: as check-quorum would");
    expect(core?.state).toBe("follower");
    c.network.transport(f.id).send(held as ProposeMessage);
    const result = await c.settle(call, 10 * electionTimeoutMs);
    expect(f.fsm.get("twice")).toBe("v");
    // Applied here: the caller must get its result or an unknown outcome, not a refusal.
    if (result.error !== undefined) {
      expect(isNotLeaderError(result.error), String(result.error)).toBe(false);
      expect(unknownOutcome(result.error), String(result.error)).toBe(true);
    }
    c.network.tamper = undefined;
    await c.shutdown();
  });

  it("an unanswered proposal the old leader replicated before stepping down is committed by the next leader: its caller is never told it was not committed", async () => {
    for (const seed of [23, 24, 25]) {
      const { c, leader, f, g } = await forwarding(seed);
      const term = leader.term;
      c.network.tamper = (m) => {
        // Every answer to the proposal is lost, and while the old leader leads its term it
        // hears no follower: it replicates the entry but cannot commit it, and check-quorum
        // makes it step down.
        if (m.type === "proposeResponse") return undefined;
        const deaf = leader.state === "leader" && leader.term === term;
        return deaf && m.to === leader.id && m.type !== "propose" ? undefined : m;
      };
      const result = await c.settle(outcome(f.node.apply(put("k", "v"))), 20 * electionTimeoutMs);

      expect(leader.term).toBeGreaterThan(term);
      // The entry of the old term was committed by the next leader: applied everywhere.
      await c.runUntil(() => ids.every((id) => c.member(id).fsm.get("k") === "v"), 5000);
      for (const m of [c.member(leader.id), f, g]) expect(m.fsm.get("k")).toBe("v");
      // So its caller must not hear "not committed": only that the outcome is unknown.
      expect(unknownOutcome(result.error), String(result.error)).toBe(true);
      c.network.tamper = undefined;
      await c.shutdown();
    }
  });

  it('an unanswered proposal already applied here when the leader changes: unknown at once, never "not committed"', async () => {
    const { c, leader, f, g } = await forwarding(26);
    c.network.tamper = (m) => (m.type === "proposeResponse" ? undefined : m);
    const call = outcome(f.node.apply(put("k", "v")));
    // The answer is lost, but the entry is committed and applied here before anything else.
    expect(await c.runUntil(() => f.fsm.get("k") === "v", 1000)).toBe(true);
    const started = c.now;
    await c.settle(leader.transferLeadership(g.id));
    const result = await c.settle(call, 10 * electionTimeoutMs);
    // This node applied entries of the leader's term after sending the proposal, one of which
    // may be it: nothing applied later can decide it, so it is unknown, when the leader changed.
    expect(unknownOutcome(result.error), String(result.error)).toBe(true);
    expect(isLeadershipLostError(result.error), String(result.error)).toBe(true);
    expect(c.now - started).toBeLessThan(electionTimeoutMs);
    c.network.tamper = undefined;
    await c.shutdown();
  });

  it("a leader refuses a forwarded entry above its own maxEntrySize; the others of the batch go again and are applied", async () => {
    // n3 takes entries up to 4,000 bytes, the leader (n1) only up to 2,000.
    const c = new VirtualCluster(
      ids,
      11,
      { forwardProposals: true, maxEntrySize: 4000 },
      { n1: { maxEntrySize: 2000 } },
    );
    await c.start();
    let leader = await c.leader();
    if (leader.id !== "n1") {
      await c.settle(leader.transferLeadership("n1"));
      leader = await c.leader();
    }
    expect(leader.id).toBe("n1");
    const f = c.member("n3");
    const big = put("big", "x".repeat(3000));
    const [large, small] = await c.settle(
      Promise.all([outcome(f.node.apply(big)), outcome(f.node.apply(put("small", "v")))]),
    );
    expect(large.error).toMatchObject({
      name: "ProposalTooLargeError",
      size: big.byteLength,
      maxSize: 2000,
    });
    expect(small).toEqual({ value: { ok: true } });
    expect(f.fsm.get("small")).toBe("v");
    // Nothing of the large one reached any log.
    for (const id of ids) expect(await entriesFor(c.member(id), "big")).toEqual([]);
    expect(await entriesFor(c.member("n1"), "small")).toHaveLength(1);
  });
});
