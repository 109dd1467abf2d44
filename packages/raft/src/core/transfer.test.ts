import { describe, expect, it } from "vitest";
import { CoreNetwork, newCore, proposeText, takeMessages } from "../test-support/core-harness.js";

const voters3 = ["n1", "n2", "n3"];

function cluster() {
  return new CoreNetwork(
    voters3.map((id, i) =>
      newCore(id, { voters: voters3, preVote: true, checkQuorum: true, random: () => i * 0.3 }),
    ),
  );
}

describe("leadership transfer", () => {
  it("an up-to-date target gets TimeoutNow at once and wins the next term", () => {
    const net = cluster();
    net.elect("n1");
    const term = net.core("n1").term;
    expect(net.core("n1").transferLeadership("n2")).toBeUndefined();
    net.stabilize();
    expect(net.delivered.some((m) => m.type === "timeoutNow" && m.to === "n2")).toBe(true);
    expect(net.core("n2").state).toBe("leader");
    expect(net.core("n2").term).toBe(term + 1);
    expect(net.core("n1").state).toBe("follower");
    expect(net.core("n1").leader).toBe("n2");
  });

  it("a lagging target is caught up first, then told to campaign", () => {
    const net = cluster();
    net.elect("n1");
    net.isolate("n3");
    for (let i = 0; i < 5; i++) proposeText(net.core("n1"), `w${i}`);
    net.stabilize();
    net.heal();
    net.core("n1").transferLeadership("n3");
    net.stabilize();
    expect(net.core("n3").state).toBe("leader");
    expect(net.core("n3").log.lastIndex()).toBeGreaterThanOrEqual(7);
  });

  it("proposals are refused while a transfer is in progress", () => {
    const net = cluster();
    net.elect("n1");
    net.isolate("n2");
    net.core("n1").transferLeadership("n2");
    const result = proposeText(net.core("n1"), "x");
    expect(result).toMatchObject({
      ok: true,
      accepted: 0,
      refused: { reason: "leadership-transfer" },
    });
  });

  it("a transfer to an unreachable target is abandoned after an election timeout", () => {
    const net = cluster();
    net.elect("n1");
    net.isolate("n2");
    const leader = net.core("n1");
    leader.transferLeadership("n2");
    expect(leader.leadTransferee).toBe("n2");
    for (let i = 0; i < 10; i++) {
      leader.tick();
      takeMessages(leader);
    }
    expect(leader.leadTransferee).toBeUndefined();
    expect(leader.state).toBe("leader");
    expect(proposeText(leader, "accepted again")).toMatchObject({ accepted: 1 });
  });

  it("a transfer to a non-voter, to itself, or by a follower is refused with a reason", () => {
    const net = cluster();
    net.elect("n1");
    expect(net.core("n1").transferLeadership("n9")).toMatch(/not a voter/);
    expect(net.core("n1").transferLeadership("n1")).toMatch(/already the leader/);
    expect(net.core("n2").transferLeadership("n3")).toMatch(/not the leader/);
  });

  it("a leader that steps down follows no one in the same term, and another node is elected", () => {
    const net = cluster();
    net.elect("n1");
    const term = net.core("n1").term;
    net.core("n1").stepDown("its disk is stalled");
    expect(net.core("n1")).toMatchObject({ state: "follower", term, leader: undefined });
    expect(proposeText(net.core("n1"), "x")).toMatchObject({ ok: false, reason: "not-leader" });
    // Silence the old leader (as a stalled disk would) and let the others time out.
    net.isolate("n1");
    for (
      let i = 0;
      i < 40 && net.core("n2").state !== "leader" && net.core("n3").state !== "leader";
      i++
    ) {
      net.core("n2").tick();
      net.core("n3").tick();
      net.stabilize();
    }
    expect([net.core("n2").state, net.core("n3").state]).toContain("leader");
  });
});
