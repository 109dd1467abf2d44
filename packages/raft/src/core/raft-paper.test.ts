import { describe, expect, it } from "vitest";
import { createEntry } from "../checksum.js";
import { EntryType } from "../log-types.js";
import type { AppendMessage, AppendResponseMessage, Message, VoteMessage } from "../messages.js";
import {
  CoreNetwork,
  encode,
  newCore,
  process,
  proposeText,
  takeMessages,
  termsOf,
} from "../test-support/core-harness.js";

// One test per rule of the Raft paper (Ongaro & Ousterhout, §5), in the spirit of etcd's
// raft_paper_test.go: set up state, step messages, check what comes out.

const voters3 = ["n1", "n2", "n3"];
const voters5 = ["n1", "n2", "n3", "n4", "n5"];

function cluster(
  ids: readonly string[],
  options: { preVote?: boolean; checkQuorum?: boolean } = {},
) {
  return new CoreNetwork(ids.map((id) => newCore(id, { voters: ids, ...options })));
}

function ofType<T extends Message["type"]>(messages: Message[], type: T) {
  return messages.filter((m) => m.type === type) as Extract<Message, { type: T }>[];
}

describe("terms (§5.1)", () => {
  it("a node starts as a follower of no one", () => {
    const core = newCore("n1", { voters: voters3 });
    expect(core.state).toBe("follower");
    expect(core.leader).toBeUndefined();
  });

  for (const start of ["follower", "candidate", "leader"] as const) {
    it(`a ${start} that sees a higher term adopts it and becomes a follower`, () => {
      const net = cluster(voters3);
      const core = net.core("n1");
      if (start === "candidate") {
        core.campaign();
        takeMessages(core);
      } else if (start === "leader") {
        net.elect("n1");
      }
      expect(core.state).toBe(start);
      core.step({
        type: "append",
        from: "n2",
        to: "n1",
        term: 7,
        prevIndex: 0,
        prevTerm: 0,
        entries: [],
        commit: 0,
      });
      expect(core.term).toBe(7);
      expect(core.state).toBe("follower");
      expect(core.leader).toBe("n2");
      expect(core.vote).toBe("");
    });
  }

  it("a node ignores a request with a stale term and tells the sender its newer term", () => {
    const core = newCore("n1", { voters: voters3, terms: [1, 2], checkQuorum: true });
    core.step({
      type: "append",
      from: "n2",
      to: "n1",
      term: 1,
      prevIndex: 1,
      prevTerm: 1,
      entries: [createEntry(2, 1, EntryType.Normal, new Uint8Array(1))],
      commit: 2,
    });
    expect(termsOf(core)).toEqual([1, 2]);
    expect(core.log.committed).toBe(0);
    const [response] = ofType(takeMessages(core), "appendResponse");
    expect(response).toMatchObject({ to: "n2", term: 2, success: false });
  });
});

describe("leader election (§5.2)", () => {
  it("a follower whose election timeout elapses campaigns in the next term and votes for itself", () => {
    const core = newCore("n1", { voters: voters3, terms: [1], electionTicks: 10 });
    for (let i = 0; i < 9; i++) core.tick();
    expect(core.state).toBe("follower");
    core.tick();
    expect(core.state).toBe("candidate");
    expect(core.term).toBe(2);
    expect(core.vote).toBe("n1");
    const votes = ofType(takeMessages(core), "vote");
    expect(votes.map((v) => v.to).sort()).toEqual(["n2", "n3"]);
    for (const v of votes)
      expect(v).toMatchObject({ term: 2, lastIndex: 1, lastTerm: 1, preVote: false });
  });

  it("a candidate that wins a majority becomes leader and asserts it with an append at once", () => {
    const core = newCore("n1", { voters: voters5 });
    core.campaign();
    takeMessages(core);
    core.step({
      type: "voteResponse",
      from: "n2",
      to: "n1",
      term: 2,
      preVote: false,
      granted: true,
    });
    expect(core.state).toBe("candidate");
    core.step({
      type: "voteResponse",
      from: "n3",
      to: "n1",
      term: 2,
      preVote: false,
      granted: true,
    });
    expect(core.state).toBe("leader");
    const appends = ofType(takeMessages(core), "append");
    expect(appends.map((a) => a.to).sort()).toEqual(["n2", "n3", "n4", "n5"]);
    expect(appends[0]?.entries.map((e) => [e.index, e.term, e.type])).toEqual([
      [2, 2, EntryType.NoOp],
    ]);
  });

  it("a candidate that a majority rejects falls back to follower", () => {
    const core = newCore("n1", { voters: voters3 });
    core.campaign();
    takeMessages(core);
    core.step({
      type: "voteResponse",
      from: "n2",
      to: "n1",
      term: 2,
      preVote: false,
      granted: false,
    });
    expect(core.state).toBe("candidate");
    core.step({
      type: "voteResponse",
      from: "n3",
      to: "n1",
      term: 2,
      preVote: false,
      granted: false,
    });
    expect(core.state).toBe("follower");
  });

  it("a candidate that hears from a leader of its term becomes its follower", () => {
    const core = newCore("n1", { voters: voters3 });
    core.campaign();
    takeMessages(core);
    core.step({ type: "heartbeat", from: "n2", to: "n1", term: 2, commit: 0, context: 0 });
    expect(core.state).toBe("follower");
    expect(core.leader).toBe("n2");
  });

  it("a node votes at most once per term, and repeats the same vote to the same candidate", () => {
    const core = newCore("n1", { voters: voters3 });
    const ask = (from: string): boolean => {
      core.step({
        type: "vote",
        from,
        to: "n1",
        term: 2,
        preVote: false,
        transfer: false,
        lastIndex: 1,
        lastTerm: 1,
      });
      const [response] = ofType(takeMessages(core), "voteResponse");
      return response?.granted ?? false;
    };
    expect(ask("n2")).toBe(true);
    expect(core.vote).toBe("n2");
    expect(ask("n3")).toBe(false);
    expect(ask("n2")).toBe(true);
  });

  // Voter's log: [1, 2, 2] (last index 3, last term 2).
  const upToDate: [lastTerm: number, lastIndex: number, granted: boolean][] = [
    [1, 5, false], // older last term loses however long the log
    [2, 2, false], // same last term, shorter log
    [2, 3, true], // same last term, same length
    [2, 4, true], // same last term, longer
    [3, 1, true], // newer last term wins however short the log
  ];
  for (const [lastTerm, lastIndex, granted] of upToDate) {
    it(`a voter ${granted ? "grants" : "refuses"} a candidate whose log ends at (term ${lastTerm}, index ${lastIndex}) against its own (term 2, index 3)`, () => {
      const core = newCore("n1", { voters: voters3, terms: [1, 2, 2] });
      core.step({
        type: "vote",
        from: "n2",
        to: "n1",
        term: 3,
        preVote: false,
        transfer: false,
        lastIndex,
        lastTerm,
      });
      const [response] = ofType(takeMessages(core), "voteResponse");
      expect(response?.granted).toBe(granted);
    });
  }

  it("election timeouts are randomized between one and two election timeouts", () => {
    const seen = new Set<number>();
    for (const r of [0, 0.25, 0.5, 0.99]) {
      const core = newCore("n1", { voters: voters3, electionTicks: 10, random: () => r });
      let ticks = 0;
      while (core.state === "follower") {
        core.tick();
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      seen.add(ticks);
    }
    expect(seen.size).toBe(4);
  });

  it("a vote request and a vote grant wait for the hard state to be persisted", () => {
    const core = newCore("n1", { voters: voters3 });
    core.campaign();
    const rd = core.ready();
    expect(rd.hardState).toEqual({ term: 2, vote: "n1" });
    expect(rd.messages).toEqual([]);
    expect(ofType([...rd.messagesAfterPersist], "vote")).toHaveLength(2);
  });
});

describe("log replication (§5.3)", () => {
  it("a leader replicates a proposal, commits it once a majority holds it, and tells followers", () => {
    const net = cluster(voters3);
    net.elect("n1");
    const leader = net.core("n1");
    const result = proposeText(leader, "x");
    expect(result).toMatchObject({ ok: true, firstIndex: 3, accepted: 1 });
    const appends = ofType(takeMessages(leader), "append");
    expect(appends.map((a) => [a.to, a.prevIndex, a.entries.length])).toEqual([
      ["n2", 2, 1],
      ["n3", 2, 1],
    ]);
    expect(leader.log.committed).toBe(2);
    // One follower's acknowledgement makes a majority with the leader.
    net.deliver(appends[0] as Message);
    for (const m of takeMessages(net.core("n2"))) net.deliver(m);
    expect(leader.log.committed).toBe(3);
    net.stabilize();
    for (const id of voters3) expect(net.core(id).log.committed).toBe(3);
  });

  it("a follower commits up to the leader's commit index, but never past the entries it was sent", () => {
    const core = newCore("n2", { voters: voters3, terms: [1, 1, 1, 1] });
    core.step({
      type: "append",
      from: "n1",
      to: "n2",
      term: 2,
      prevIndex: 1,
      prevTerm: 1,
      entries: [],
      commit: 4,
    });
    expect(core.log.committed).toBe(1);
  });

  it("a follower rejects an append whose previous entry it does not hold, with a hint", () => {
    const core = newCore("n2", { voters: voters3, terms: [1, 1, 2, 2] });
    core.step({
      type: "append",
      from: "n1",
      to: "n2",
      term: 4,
      prevIndex: 6,
      prevTerm: 3,
      entries: [],
      commit: 0,
    });
    const [response] = ofType(takeMessages(core), "appendResponse");
    expect(response).toMatchObject({ success: false, index: 6, hintIndex: 4, hintTerm: 2 });
  });

  it("a follower deletes a conflicting entry and everything after it, then appends the leader's", () => {
    const core = newCore("n2", { voters: voters3, terms: [1, 1, 2, 2, 2] });
    const entries = [createEntry(3, 3, EntryType.Normal, new Uint8Array([3]))];
    core.step({
      type: "append",
      from: "n1",
      to: "n2",
      term: 3,
      prevIndex: 2,
      prevTerm: 1,
      entries,
      commit: 0,
    });
    expect(termsOf(core)).toEqual([1, 1, 3]);
    const [response] = ofType(takeMessages(core), "appendResponse");
    expect(response).toMatchObject({ success: true, index: 3 });
  });

  it("a stale or reordered append never shortens the log of a follower that already holds it", () => {
    const net = cluster(voters3);
    net.elect("n1");
    const leader = net.core("n1");
    proposeText(leader, "a");
    const first = ofType(takeMessages(leader), "append").find(
      (m) => m.to === "n2",
    ) as AppendMessage;
    net.deliver(first);
    proposeText(leader, "b");
    proposeText(leader, "c");
    for (const m of ofType(takeMessages(leader), "append")) if (m.to === "n2") net.deliver(m);
    const n2 = net.core("n2");
    expect(termsOf(n2)).toEqual([1, 2, 2, 2, 2]);
    // The first append arrives again, long after (a duplicate, or delayed in the network): it
    // carries a prefix of what n2 holds and must not cut entries 4 and 5.
    net.deliver(first);
    expect(termsOf(n2)).toEqual([1, 2, 2, 2, 2]);
    const acks = ofType(takeMessages(n2), "appendResponse");
    expect(acks.map((a) => [a.success, a.index])).toEqual([
      [true, 3],
      [true, 4],
      [true, 5],
      [true, 3],
    ]);
  });

  // Figure 7 of the paper: followers with missing, extra and conflicting entries.
  const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followerLogs: [string, number[]][] = [
    ["(a) missing entries", [1, 1, 1, 4, 4, 5, 5, 6, 6]],
    ["(b) many missing", [1, 1, 1, 4]],
    ["(c) one extra", [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]],
    ["(d) extra entries of a later term", [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]],
    ["(e) conflicting term 4 entries", [1, 1, 1, 4, 4, 4, 4]],
    ["(f) conflicting entries of terms 2 and 3", [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]],
  ];
  for (const [name, terms] of followerLogs) {
    it(`a new leader brings a follower with ${name} in line with its log (Figure 7)`, () => {
      const leader = newCore("n1", {
        voters: voters3,
        terms: leaderTerms,
        hardState: { term: 8, vote: "" },
      });
      const follower = newCore("n2", { voters: voters3, terms, hardState: { term: 8, vote: "" } });
      // n3 votes for the leader (its log is short), so n1 wins term 9.
      const voter = newCore("n3", {
        voters: voters3,
        terms: [1],
        hardState: { term: 8, vote: "" },
      });
      const net = new CoreNetwork([leader, follower, voter]);
      net.elect("n1");
      expect(leader.state).toBe("leader");
      net.stabilize();
      expect(termsOf(follower)).toEqual([...leaderTerms, 9]);
      expect(follower.log.committed).toBe(11);
    });
  }

  it("a leader skips a whole conflicting term per round trip using the follower's hint", () => {
    const leader = newCore("n1", {
      voters: voters3,
      terms: [1, 2, 2, 2, 2, 2, 2, 2, 2],
      hardState: { term: 9, vote: "" },
    });
    const follower = newCore("n2", {
      voters: voters3,
      terms: [1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3],
      hardState: { term: 9, vote: "" },
    });
    const voter = newCore("n3", { voters: voters3, terms: [1], hardState: { term: 9, vote: "" } });
    const net = new CoreNetwork([leader, follower, voter]);
    net.elect("n1");
    net.stabilize();
    const rejections = net.delivered.filter(
      (m): m is AppendResponseMessage =>
        m.type === "appendResponse" && m.from === "n2" && !m.success,
    );
    expect(rejections.length).toBeLessThanOrEqual(2);
    expect(termsOf(follower)).toEqual([1, 2, 2, 2, 2, 2, 2, 2, 2, 10]);
  });

  it("a leader never commits an entry of an earlier term by counting replicas (Figure 8)", () => {
    // n1 holds an entry of term 2 at index 2 that n2 lacks; n1 becomes leader of term 4.
    const n1 = newCore("n1", { voters: voters3, terms: [1, 2], hardState: { term: 3, vote: "" } });
    const n2 = newCore("n2", { voters: voters3, terms: [1], hardState: { term: 3, vote: "" } });
    const n3 = newCore("n3", { voters: voters3, terms: [1], hardState: { term: 3, vote: "" } });
    const net = new CoreNetwork([n1, n2, n3]);
    n1.campaign();
    for (const m of takeMessages(n1)) net.deliver(m);
    for (const m of [...takeMessages(n2), ...takeMessages(n3)]) net.deliver(m);
    expect(n1.state).toBe("leader");
    takeMessages(n1);
    // n2 acknowledges index 2 (term 2): replicated on a majority, yet not committable.
    n1.step({
      type: "appendResponse",
      from: "n2",
      to: "n1",
      term: 4,
      success: true,
      index: 2,
      hintIndex: 0,
      hintTerm: 0,
    });
    expect(n1.log.committed).toBe(0);
    // Once the term-4 no-op at index 3 is on a majority, both commit together.
    n1.step({
      type: "appendResponse",
      from: "n2",
      to: "n1",
      term: 4,
      success: true,
      index: 3,
      hintIndex: 0,
      hintTerm: 0,
    });
    expect(n1.log.committed).toBe(3);
  });

  it("the Figure 8 rule is what stops the commit: with it disabled the old entry commits", () => {
    const n1 = newCore("n1", {
      voters: voters3,
      terms: [1, 2],
      hardState: { term: 3, vote: "" },
      unsafe: { commitOldTermByCounting: true },
    });
    n1.campaign();
    takeMessages(n1);
    n1.step({ type: "voteResponse", from: "n2", to: "n1", term: 4, preVote: false, granted: true });
    takeMessages(n1);
    n1.step({
      type: "appendResponse",
      from: "n2",
      to: "n1",
      term: 4,
      success: true,
      index: 2,
      hintIndex: 0,
      hintTerm: 0,
    });
    expect(n1.log.committed).toBe(2);
  });

  it("a leader's own entries count toward commit only once they are durable on its disk", () => {
    const net = cluster(voters3);
    net.elect("n1");
    const leader = net.core("n1");
    proposeText(leader, "x");
    const rd = leader.ready(); // taken, but not yet reported persisted
    for (const m of rd.messages) net.deliver(m);
    // n2 acknowledges: with the leader's own write still in flight that is 1 of 3 voters.
    const n2 = net.core("n2");
    for (const m of takeMessages(n2)) if (m.to === "n1") leader.step(m);
    expect(leader.log.committed).toBe(2);
    const last = rd.entries[rd.entries.length - 1];
    leader.persisted(last?.index ?? 0, last?.term ?? 0);
    expect(leader.log.committed).toBe(3);
  });
});

describe("safety of leader changes (§5.4)", () => {
  it("a new leader holds every committed entry (leader completeness), since voters refuse stale logs", () => {
    const net = cluster(voters3);
    net.elect("n1");
    proposeText(net.core("n1"), "committed");
    net.stabilize();
    expect(net.core("n1").log.committed).toBe(3);
    // n3 misses everything from now on; n1 and n2 commit more.
    net.isolate("n3");
    proposeText(net.core("n1"), "also committed");
    net.stabilize();
    // n3 cannot win: n2's log is newer than n3's.
    net.heal();
    net.isolate("n1");
    net.elect("n3");
    expect(net.core("n3").state).not.toBe("leader");
    net.elect("n2");
    expect(net.core("n2").state).toBe("leader");
    expect(net.core("n2").log.lastIndex()).toBeGreaterThanOrEqual(4);
  });
});

describe("a leader's work is batched into Ready", () => {
  it("proposals made together are written together and sent in one append per follower", () => {
    const net = cluster(voters3);
    net.elect("n1");
    const leader = net.core("n1");
    const data = [encode("a"), encode("b")];
    leader.propose(data.map((d) => ({ type: EntryType.Normal, data: d })));
    const { ready } = process(leader);
    expect(ready.entries.map((e) => e.index)).toEqual([3, 4]);
    const appends = ofType([...ready.messages], "append");
    expect(appends.map((a) => [a.to, a.entries.length])).toEqual([
      ["n2", 2],
      ["n3", 2],
    ]);
  });

  it("a vote request names the candidate's last entry", () => {
    const core = newCore("n1", { voters: voters3, terms: [1, 1, 3] });
    core.campaign();
    const [vote] = takeMessages(core) as VoteMessage[];
    expect(vote).toMatchObject({ lastIndex: 3, lastTerm: 3 });
  });
});
