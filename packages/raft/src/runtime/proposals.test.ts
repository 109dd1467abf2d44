import { describe, expect, it } from "vitest";
import { type Pending, ProposalTracker } from "./proposals.js";

// The tracker of proposals waiting to be applied: a leader's own (in index order, no deadline)
// and those a follower forwarded (possibly out of order, several callers on one index, each
// with its term and a deadline).

interface Outcome {
  readonly name: string;
  readonly kind: "resolved" | "rejected" | "replaced";
  readonly value: unknown;
}

/** Pending proposals that record how they were settled, in order, in `log`. */
function recorder() {
  const log: Outcome[] = [];
  const pending = (name: string, index: number, term: number, deadline = 0): Pending => ({
    index,
    term,
    deadline,
    resolve: (value) => log.push({ name, kind: "resolved", value }),
    reject: (error) => log.push({ name, kind: "rejected", value: error.message }),
  });
  const replaced = (p: Pending) =>
    log.push({ name: `${p.index}@${p.term}`, kind: "replaced", value: undefined });
  return { log, pending, replaced };
}

describe("ProposalTracker", () => {
  it("resolves proposals added in index order as their entries are applied", () => {
    const t = new ProposalTracker();
    const { log, pending, replaced } = recorder();
    t.add(pending("a", 3, 1));
    t.add(pending("b", 4, 1));
    t.add(pending("c", 5, 1));
    expect(t.size).toBe(3);
    t.applied(3, 1, "r3", replaced);
    expect(log).toEqual([{ name: "a", kind: "resolved", value: "r3" }]);
    expect(t.size).toBe(2);
    t.applied(4, 1, "r4", replaced);
    t.applied(5, 1, "r5", replaced);
    expect(log.map((o) => `${o.name}:${o.value}`)).toEqual(["a:r3", "b:r4", "c:r5"]);
    expect(t.size).toBe(0);
  });

  it("ignores applied entries that nobody waits for", () => {
    const t = new ProposalTracker();
    const { log, pending, replaced } = recorder();
    t.add(pending("a", 7, 2));
    t.applied(5, 2, "r5", replaced);
    t.applied(6, 2, "r6", replaced);
    expect(log).toEqual([]);
    expect(t.size).toBe(1);
    t.applied(7, 2, "r7", replaced);
    expect(log).toEqual([{ name: "a", kind: "resolved", value: "r7" }]);
  });

  it("inserts a proposal with a lower index than the last in order", () => {
    const t = new ProposalTracker();
    const { log, pending, replaced } = recorder();
    t.add(pending("at9", 9, 3));
    t.add(pending("at12", 12, 3));
    t.add(pending("at10", 10, 3));
    t.add(pending("at5", 5, 3));
    t.add(pending("at11", 11, 3));
    for (let i = 5; i <= 12; i++) t.applied(i, 3, i, replaced);
    expect(log.map((o) => o.name)).toEqual(["at5", "at9", "at10", "at11", "at12"]);
    expect(log.every((o) => o.kind === "resolved")).toBe(true);
    expect(log.map((o) => o.value)).toEqual([5, 9, 10, 11, 12]);
    expect(t.size).toBe(0);
  });

  it("inserts below every waiting proposal after some were settled", () => {
    const t = new ProposalTracker();
    const { log, pending, replaced } = recorder();
    t.add(pending("at3", 3, 1));
    t.add(pending("at8", 8, 1));
    t.applied(3, 1, "r3", replaced);
    // A new leader placed a forwarded proposal below the one still waiting.
    t.add(pending("at6", 6, 2));
    expect(t.size).toBe(2);
    t.applied(6, 2, "r6", replaced);
    t.applied(8, 1, "r8", replaced);
    expect(log.map((o) => `${o.name}:${o.value}`)).toEqual(["at3:r3", "at6:r6", "at8:r8"]);
  });

  it("holds two callers on one index: the one with the applied term resolves, the other is replaced", () => {
    for (const order of [
      ["old", "new"],
      ["new", "old"],
    ]) {
      const t = new ProposalTracker();
      const { log, pending, replaced } = recorder();
      // A first leader (term 2) placed one proposal at 10; it was lost, and the next leader
      // (term 3) placed another one at the same index.
      for (const name of order) t.add(pending(name, 10, name === "old" ? 2 : 3));
      t.add(pending("after", 11, 3));
      expect(t.size).toBe(3);
      t.applied(10, 3, "r10", replaced);
      expect(log).toContainEqual({ name: "new", kind: "resolved", value: "r10" });
      expect(log).toContainEqual({ name: "10@2", kind: "replaced", value: undefined });
      expect(log).toHaveLength(2);
      expect(t.size).toBe(1);
      t.applied(11, 3, "r11", replaced);
      expect(log[2]).toEqual({ name: "after", kind: "resolved", value: "r11" });
    }
  });

  it("hands a caller whose index was applied with another term to `replaced`", () => {
    const t = new ProposalTracker();
    const { log, pending, replaced } = recorder();
    t.add(pending("a", 4, 2));
    t.applied(4, 3, "someone else's", replaced);
    expect(log).toEqual([{ name: "4@2", kind: "replaced", value: undefined }]);
    expect(t.size).toBe(0);
  });

  it("never leaves a caller below the applied index waiting", () => {
    const t = new ProposalTracker();
    const { log, pending, replaced } = recorder();
    t.add(pending("a", 4, 2));
    t.add(pending("b", 6, 2));
    t.applied(5, 2, "r5", replaced);
    expect(log).toEqual([{ name: "4@2", kind: "replaced", value: undefined }]);
    expect(t.size).toBe(1);
  });

  it("failRange fails exactly the proposals in (from, to] and keeps the others", () => {
    const t = new ProposalTracker();
    const { log, pending, replaced } = recorder();
    for (const i of [2, 3, 4, 5, 6]) t.add(pending(`at${i}`, i, 1));
    t.failRange(3, 5, () => new Error("lost"));
    expect(log).toEqual([
      { name: "at4", kind: "rejected", value: "lost" },
      { name: "at5", kind: "rejected", value: "lost" },
    ]);
    expect(t.size).toBe(3);
    for (const i of [2, 3, 4, 5, 6]) t.applied(i, 1, i, replaced);
    expect(log.slice(2).map((o) => `${o.name}:${o.kind}`)).toEqual([
      "at2:resolved",
      "at3:resolved",
      "at6:resolved",
    ]);
  });

  it("failRange up to infinity fails everything above `from`, including callers sharing an index", () => {
    const t = new ProposalTracker();
    const { log, pending } = recorder();
    t.add(pending("a", 5, 1));
    t.add(pending("b", 7, 1));
    t.add(pending("c", 7, 2));
    t.failRange(5, Number.POSITIVE_INFINITY, () => new Error("term ended"));
    expect(log.map((o) => o.name)).toEqual(["b", "c"]);
    expect(t.size).toBe(1);
    t.failRange(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, () => new Error("stop"));
    expect(log.map((o) => `${o.name}:${o.value}`)).toEqual([
      "b:term ended",
      "c:term ended",
      "a:stop",
    ]);
    expect(t.size).toBe(0);
  });

  it("expire fails the proposals whose deadline is before now, and only those", () => {
    const t = new ProposalTracker();
    const { log, pending, replaced } = recorder();
    t.add(pending("due10", 3, 1, 10));
    t.add(pending("due20", 4, 1, 20));
    t.add(pending("due15", 5, 1, 15));
    t.expire(10, () => new Error("timeout"));
    expect(log).toEqual([]);
    t.expire(11, () => new Error("timeout"));
    expect(log).toEqual([{ name: "due10", kind: "rejected", value: "timeout" }]);
    t.expire(16, () => new Error("timeout"));
    expect(log.map((o) => o.name)).toEqual(["due10", "due15"]);
    expect(t.size).toBe(1);
    // The one left is still settled by its apply.
    t.applied(4, 1, "r4", replaced);
    expect(log[2]).toEqual({ name: "due20", kind: "resolved", value: "r4" });
    expect(t.size).toBe(0);
  });

  it("expire ignores proposals without a deadline (0), however late it is", () => {
    const t = new ProposalTracker();
    const { log, pending, replaced } = recorder();
    t.add(pending("leader's own", 3, 1));
    t.add(pending("forwarded", 4, 1, 5));
    t.add(pending("leader's too", 5, 1));
    t.expire(Number.MAX_SAFE_INTEGER, () => new Error("timeout"));
    expect(log).toEqual([{ name: "forwarded", kind: "rejected", value: "timeout" }]);
    expect(t.size).toBe(2);
    t.expire(Number.MAX_SAFE_INTEGER, () => new Error("timeout"));
    expect(log).toHaveLength(1);
    t.applied(3, 1, "r3", replaced);
    t.applied(5, 1, "r5", replaced);
    expect(log.slice(1).map((o) => `${o.name}:${o.kind}`)).toEqual([
      "leader's own:resolved",
      "leader's too:resolved",
    ]);
  });

  it("expire still finds deadlines after proposals with deadlines were settled otherwise", () => {
    // The tracker counts proposals with a deadline to skip the scan when there are none: the
    // count must follow every way a proposal leaves (applied, replaced, failRange, expire).
    const t = new ProposalTracker();
    const { log, pending, replaced } = recorder();
    t.add(pending("applied", 1, 1, 10));
    t.add(pending("replaced", 2, 1, 10));
    t.add(pending("failed", 3, 1, 10));
    t.add(pending("expiring", 4, 1, 20));
    t.applied(1, 1, "r1", replaced);
    t.applied(2, 2, "r2", replaced);
    t.failRange(2, 3, () => new Error("failed"));
    expect(log.map((o) => o.kind)).toEqual(["resolved", "replaced", "rejected"]);
    t.expire(100, () => new Error("timeout"));
    expect(log[3]).toEqual({ name: "expiring", kind: "rejected", value: "timeout" });
    t.add(pending("late", 5, 1, 50));
    t.expire(51, () => new Error("timeout"));
    expect(log[4]).toEqual({ name: "late", kind: "rejected", value: "timeout" });
    expect(t.size).toBe(0);
  });

  it("expire finds the one proposal with a deadline left after another was applied", () => {
    const t = new ProposalTracker();
    const { log, pending, replaced } = recorder();
    t.add(pending("applied", 1, 1, 10));
    t.add(pending("waiting", 2, 1, 10));
    t.applied(1, 1, "r1", replaced);
    t.expire(11, () => new Error("timeout"));
    expect(log).toEqual([
      { name: "applied", kind: "resolved", value: "r1" },
      { name: "waiting", kind: "rejected", value: "timeout" },
    ]);
    expect(t.size).toBe(0);
  });

  it("keeps working across many settled proposals (its queue compacts)", () => {
    const t = new ProposalTracker();
    const { log, pending, replaced } = recorder();
    for (let i = 1; i <= 3000; i++) t.add(pending(`p${i}`, i, 1));
    for (let i = 1; i <= 2500; i++) t.applied(i, 1, i, replaced);
    t.add(pending("low", 2600, 2));
    expect(t.size).toBe(501);
    for (let i = 2501; i <= 3000; i++) t.applied(i, i === 2600 ? 2 : 1, i, replaced);
    expect(log).toHaveLength(3001);
    expect(log.filter((o) => o.kind === "resolved")).toHaveLength(3000);
    expect(log).toContainEqual({ name: "low", kind: "resolved", value: 2600 });
    expect(log).toContainEqual({ name: "2600@1", kind: "replaced", value: undefined });
    expect(t.size).toBe(0);
  });
});
