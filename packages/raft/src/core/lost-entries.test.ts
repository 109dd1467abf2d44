import { describe, expect, it } from "vitest";
import { isInconsistentStateError } from "../errors.js";
import { CoreNetwork, newCore, proposeText } from "../test-support/core-harness.js";

// A follower whose data directory was replaced (or truncated, or restored from an old copy)
// under the same id has lost entries it acknowledged, and maybe its vote: the leader's
// heartbeat, which carries the commit index only as far as that follower acknowledged, is how
// it finds out, and it must stop (etcd's "tocommit is out of range" panic).

const voters = ["n1", "n2", "n3"];

describe("a follower that lost entries it acknowledged", () => {
  it("stops at the leader's first heartbeat, and takes no message after it", () => {
    // n3 has only the bootstrap entry, but the leader holds it acknowledged up to index 5.
    const follower = newCore("n3", { voters, terms: [1], hardState: { term: 2, vote: "" } });
    follower.step({ type: "heartbeat", from: "n1", to: "n3", term: 2, commit: 5, context: 1 });
    const lost = follower.lostAcknowledgedEntries;
    expect(isInconsistentStateError(lost)).toBe(true);
    expect(lost?.message).toContain("log ends at index 1");
    expect(lost?.message).toContain("acknowledged up to index 5");
    expect(follower.log.committed).toBe(0);
    // It does not answer that heartbeat, nor vote afterwards.
    expect(follower.ready().messages).toEqual([]);
    follower.step({
      type: "vote",
      from: "n2",
      to: "n3",
      term: 3,
      lastIndex: 9,
      lastTerm: 2,
      preVote: false,
      transfer: false,
    });
    expect(follower.ready().messages).toEqual([]);
    expect(follower.term).toBe(2);
  });

  it("is never suspected in a healthy cluster, behind or not", () => {
    const net = new CoreNetwork(voters.map((id) => newCore(id, { voters })));
    net.elect("n1");
    net.isolate("n3");
    for (let i = 0; i < 5; i++) proposeText(net.core("n1"), `w${i}`);
    net.stabilize();
    net.heal();
    // n3 is behind the commit index, which the leader's heartbeats bound by what n3 holds.
    net.tick(5);
    net.stabilize();
    for (const id of voters) expect(net.core(id).lostAcknowledgedEntries).toBeUndefined();
    expect(net.core("n3").log.committed).toBe(net.core("n1").log.committed);
  });
});
