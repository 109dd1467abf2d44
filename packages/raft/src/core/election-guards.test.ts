import { describe, expect, it } from "vitest";
import type { Message } from "../messages.js";
import { CoreNetwork, newCore, proposeText, takeMessages } from "../test-support/core-harness.js";

// Pre-vote and check-quorum, alone and together: the guards that keep a node that was cut off
// from disrupting a healthy leader (raft-engine.md §5 item 5), and the leader lease they give.

const voters3 = ["n1", "n2", "n3"];

function cluster(options: { preVote: boolean; checkQuorum: boolean }) {
  return new CoreNetwork(
    voters3.map((id, i) =>
      // Distinct randomized timeouts so the nodes do not campaign in lockstep.
      newCore(id, { voters: voters3, electionTicks: 10, random: () => i * 0.3, ...options }),
    ),
  );
}

describe("pre-vote and check-quorum", () => {
  it("a partitioned node rejoining does not disrupt a stable leader (pre-vote and check-quorum)", () => {
    const net = cluster({ preVote: true, checkQuorum: true });
    net.elect("n1");
    const term = net.core("n1").term;
    net.isolate("n3");
    net.tick(100);
    // Pre-vote kept n3 from inflating its term while it was alone.
    expect(net.core("n3").term).toBe(term);
    net.heal();
    net.tick(30);
    expect(net.core("n1").state).toBe("leader");
    for (const id of voters3) expect(net.core(id).term).toBe(term);
  });

  it("without pre-vote, a rejoining node with a higher term does depose the leader", () => {
    const net = cluster({ preVote: false, checkQuorum: false });
    net.elect("n1");
    const term = net.core("n1").term;
    net.isolate("n3");
    net.tick(100);
    expect(net.core("n3").term).toBeGreaterThan(term);
    net.heal();
    net.tick(30);
    expect(net.core("n1").term).toBeGreaterThan(term);
  });

  it("a voter in a live leader's lease ignores a vote request for a higher term (check-quorum)", () => {
    const net = cluster({ preVote: false, checkQuorum: true });
    net.elect("n1");
    const n2 = net.core("n2");
    n2.step({
      type: "vote",
      from: "n3",
      to: "n2",
      term: n2.term + 1,
      preVote: false,
      transfer: false,
      lastIndex: 100,
      lastTerm: 100,
    });
    expect(n2.term).toBe(net.core("n1").term);
    expect(takeMessages(n2)).toEqual([]);
  });

  it("a voter in a lease still honours a campaign started by leadership transfer", () => {
    const net = cluster({ preVote: true, checkQuorum: true });
    net.elect("n1");
    const n2 = net.core("n2");
    const term = n2.term;
    n2.step({
      type: "vote",
      from: "n3",
      to: "n2",
      term: term + 1,
      preVote: false,
      transfer: true,
      lastIndex: 100,
      lastTerm: 100,
    });
    expect(n2.term).toBe(term + 1);
    expect(n2.vote).toBe("n3");
  });

  it("a leader that hears from no quorum for an election timeout steps down (check-quorum)", () => {
    const net = cluster({ preVote: true, checkQuorum: true });
    net.elect("n1");
    net.isolate("n1");
    for (let i = 0; i < 20; i++) net.core("n1").tick();
    expect(net.core("n1").state).toBe("follower");
  });

  it("without check-quorum, an isolated leader keeps believing it leads", () => {
    const net = cluster({ preVote: true, checkQuorum: false });
    net.elect("n1");
    net.isolate("n1");
    for (let i = 0; i < 50; i++) net.core("n1").tick();
    expect(net.core("n1").state).toBe("leader");
  });

  it("a pre-vote does not change the voter's term, nor record a vote", () => {
    const core = newCore("n1", { voters: voters3, preVote: true });
    core.step({
      type: "vote",
      from: "n2",
      to: "n1",
      term: 5,
      preVote: true,
      transfer: false,
      lastIndex: 1,
      lastTerm: 1,
    });
    expect(core.term).toBe(1);
    expect(core.vote).toBe("");
    const [response] = takeMessages(core) as Extract<Message, { type: "voteResponse" }>[];
    expect(response).toMatchObject({ granted: true, preVote: true, term: 5 });
  });

  it("a pre-candidate that wins its pre-vote then campaigns for real in the next term", () => {
    const net = cluster({ preVote: true, checkQuorum: true });
    net.elect("n2");
    expect(net.core("n2").state).toBe("leader");
    expect(net.core("n2").term).toBe(2);
    const votes = net.delivered.filter((m) => m.type === "vote");
    expect(votes.filter((v) => v.type === "vote" && v.preVote)).toHaveLength(2);
    expect(votes.filter((v) => v.type === "vote" && !v.preVote)).toHaveLength(2);
  });

  it("a majority partition elects a new leader, and the old one follows it after healing", () => {
    const net = cluster({ preVote: true, checkQuorum: true });
    net.elect("n1");
    net.isolate("n1");
    net.tick(60);
    const leader = net.leader();
    expect(leader?.id).not.toBe("n1");
    net.heal();
    net.tick(5);
    expect(net.core("n1").state).toBe("follower");
    expect(net.core("n1").leader).toBe(leader?.id);
    proposeText(leader as never, "after heal");
    net.stabilize();
    expect(net.core("n1").log.lastIndex()).toBe(leader?.log.lastIndex());
  });
});
