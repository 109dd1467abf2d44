import { describe, expect, it } from "vitest";
import type { HeartbeatMessage, Message } from "../messages.js";
import { CoreNetwork, newCore, process, takeMessages } from "../test-support/core-harness.js";

const voters3 = ["n1", "n2", "n3"];

function cluster() {
  return new CoreNetwork(voters3.map((id) => newCore(id, { voters: voters3 })));
}

describe("ReadIndex (§8)", () => {
  it("a leader confirms a read with a quorum heartbeat round, then serves it at its commit index", () => {
    const net = cluster();
    net.elect("n1");
    const leader = net.core("n1");
    expect(leader.readIndex(7)).toBe(true);
    const heartbeats = takeMessages(leader).filter(
      (m) => m.type === "heartbeat",
    ) as HeartbeatMessage[];
    expect(heartbeats).toHaveLength(2);
    expect(heartbeats[0]?.context).toBeGreaterThan(0);
    for (const m of heartbeats) net.deliver(m);
    net.stabilize();
    expect(net.readStates.get("n1")).toEqual([{ context: 7, index: 2 }]);
  });

  it("a read is not served before a quorum acknowledges the round", () => {
    const net = cluster();
    net.elect("n1");
    const leader = net.core("n1");
    leader.readIndex(7);
    const { ready, messages } = process(leader);
    expect(ready.readStates).toEqual([]);
    const toN2 = messages.find((m) => m.to === "n2") as Message;
    net.deliver(toN2);
    const ack = takeMessages(net.core("n2"));
    for (const m of ack) leader.step(m);
    expect(process(leader).ready.readStates).toEqual([{ context: 7, index: 2 }]);
  });

  it("reads requested together share one heartbeat round", () => {
    const net = cluster();
    net.elect("n1");
    const leader = net.core("n1");
    leader.readIndex(1);
    leader.readIndex(2);
    leader.readIndex(3);
    const heartbeats = takeMessages(leader).filter((m) => m.type === "heartbeat");
    expect(heartbeats).toHaveLength(2);
    for (const m of heartbeats) net.deliver(m);
    for (const id of ["n2", "n3"]) for (const m of takeMessages(net.core(id))) net.deliver(m);
    expect(process(leader).ready.readStates.map((r) => r.context)).toEqual([1, 2, 3]);
  });

  it("a new leader does not serve reads before an entry of its own term is committed", () => {
    const net = cluster();
    const leader = net.core("n1");
    leader.campaign();
    for (const m of takeMessages(leader)) net.deliver(m);
    for (const id of ["n2", "n3"]) for (const m of takeMessages(net.core(id))) net.deliver(m);
    expect(leader.state).toBe("leader");
    expect(leader.committedInTerm()).toBe(false);
    leader.readIndex(9);
    const { ready, messages } = process(leader);
    expect(ready.readStates).toEqual([]);
    expect(messages.some((m) => m.type === "heartbeat" && m.context !== 0)).toBe(false);
    // The no-op commits; only then is the read confirmed and served, at the new commit index.
    for (const m of messages) net.deliver(m);
    net.stabilize();
    expect(leader.committedInTerm()).toBe(true);
    expect(net.readStates.get("n1")).toEqual([{ context: 9, index: 2 }]);
  });

  it("with the rule disabled, a new leader serves a read at its stale commit index", () => {
    const core = newCore("n1", { voters: voters3, unsafe: { readIndexBeforeTermCommit: true } });
    const net = new CoreNetwork([
      core,
      newCore("n2", { voters: voters3 }),
      newCore("n3", { voters: voters3 }),
    ]);
    core.campaign();
    for (const m of takeMessages(core)) net.deliver(m);
    for (const id of ["n2", "n3"]) for (const m of takeMessages(net.core(id))) net.deliver(m);
    core.readIndex(9);
    const hb = takeMessages(core).filter((m) => m.type === "heartbeat" && m.context !== 0);
    expect(hb).toHaveLength(2);
  });

  it("a follower forwards a read to the leader and receives the read index", () => {
    const net = cluster();
    net.elect("n1");
    const follower = net.core("n2");
    expect(follower.readIndex(42)).toBe(true);
    net.stabilize();
    expect(net.readStates.get("n2")).toEqual([{ context: 42, index: 2 }]);
  });

  it("a leader refuses a read forwarded in an earlier term, so the follower does not wait forever", () => {
    const leader = newCore("n1", { voters: voters3, hardState: { term: 5, vote: "" } });
    leader.step({ type: "readIndex", from: "n2", to: "n1", term: 4, context: 77 });
    expect(takeMessages(leader)).toMatchObject([
      { type: "readIndexResponse", to: "n2", term: 5, context: 77, success: false },
    ]);
  });

  it("a follower with no known leader cannot take a read", () => {
    const core = newCore("n2", { voters: voters3 });
    expect(core.readIndex(1)).toBe(false);
  });

  it("a leader that steps down fails its pending reads", () => {
    const net = cluster();
    net.elect("n1");
    const leader = net.core("n1");
    leader.readIndex(5);
    takeMessages(leader);
    leader.step({
      type: "heartbeat",
      from: "n2",
      to: "n1",
      term: leader.term + 1,
      commit: 0,
      context: 0,
    });
    expect(process(leader).ready.failedReads).toEqual([5]);
  });

  it("a stale leader's reads are never confirmed once a quorum follows a newer leader", () => {
    const net = new CoreNetwork(
      voters3.map((id, i) =>
        newCore(id, { voters: voters3, preVote: true, checkQuorum: true, random: () => i * 0.3 }),
      ),
    );
    net.elect("n1");
    // n1 is cut off and paused (it does not tick, so check-quorum cannot depose it); once their
    // lease on n1 runs out, n2 and n3 elect a new leader.
    net.isolate("n1");
    for (let i = 0; i < 60; i++) {
      net.core("n2").tick();
      net.core("n3").tick();
      net.stabilize();
    }
    expect(net.leader()?.id).not.toBe("n1");
    const stale = net.core("n1");
    expect(stale.state).toBe("leader");
    stale.readIndex(3);
    const heartbeats = takeMessages(stale).filter((m) => m.type === "heartbeat");
    net.heal();
    for (const m of heartbeats) net.deliver(m);
    for (const id of ["n2", "n3"]) for (const m of takeMessages(net.core(id))) net.deliver(m);
    const { ready } = process(stale);
    expect(ready.readStates).toEqual([]);
    expect(ready.failedReads).toEqual([3]);
    expect(stale.state).toBe("follower");
  });
});
