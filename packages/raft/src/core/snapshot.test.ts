import { describe, expect, it } from "vitest";
import { checksum } from "../checksum.js";
import type { SnapshotMeta } from "../log-types.js";
import {
  CoreNetwork,
  newCore,
  process,
  proposeText,
  takeMessages,
  termsOf,
} from "../test-support/core-harness.js";
import type { RaftCore } from "./raft.js";

const voters3 = ["n1", "n2", "n3"];
const config = { voters: voters3, learners: [] };

/** A 3-node cluster where n1 leads, n3 missed entries 3..7, and n1 compacted through 6. */
function compactedCluster() {
  const net = new CoreNetwork(voters3.map((id) => newCore(id, { voters: voters3 })));
  net.elect("n1");
  net.isolate("n3");
  const leader = net.core("n1");
  for (let i = 0; i < 5; i++) proposeText(leader, `w${i}`);
  net.stabilize();
  const snapshot: SnapshotMeta = { index: 6, term: leader.log.term(6) ?? 0, config };
  leader.snapshotTaken(snapshot, 6);
  return { net, leader, snapshot };
}

/** Heartbeat rounds until the leader notices n3 needs a snapshot; returns what it asked to send. */
function untilSnapshotNeeded(net: CoreNetwork, leader: RaftCore) {
  const requested: { to: string; snapshot: SnapshotMeta }[] = [];
  for (let round = 0; round < 5 && requested.length === 0; round++) {
    leader.tick();
    for (let i = 0; i < 10; i++) {
      for (const core of net.cores.values()) {
        while (core.hasReady()) {
          const { ready, messages } = process(core);
          requested.push(...ready.snapshotsToSend);
          for (const m of messages) net.deliver(m);
        }
      }
    }
  }
  return requested;
}

describe("snapshots in the core", () => {
  it("a leader sends a snapshot to a follower that needs compacted entries, and pauses it", () => {
    const { net, leader, snapshot } = compactedCluster();
    net.heal();
    expect(untilSnapshotNeeded(net, leader)).toEqual([{ to: "n3", snapshot }]);
    expect(leader.peerStatus().get("n3")?.state).toBe("snapshot");
    // Paused: new proposals are not sent to it meanwhile.
    proposeText(leader, "later");
    expect(takeMessages(leader).some((m) => m.type === "append" && m.to === "n3")).toBe(false);
  });

  it("a follower installs a snapshot whose last entry it lacks, discarding its whole log", () => {
    const follower = newCore("n3", { voters: voters3, terms: [1, 1, 3, 3] });
    follower.step({ type: "heartbeat", from: "n1", to: "n3", term: 4, commit: 0, context: 0 });
    takeMessages(follower);
    const snapshot: SnapshotMeta = { index: 6, term: 4, config };
    expect(follower.restoreSnapshot(snapshot)).toBe(true);
    const { ready } = process(follower);
    expect(ready.snapshot).toEqual(snapshot);
    expect(follower.log.lastIndex()).toBe(6);
    expect(follower.log.committed).toBe(6);
    expect(termsOf(follower)).toEqual([]);
    expect(ready.messagesAfterPersist).toMatchObject([
      { type: "appendResponse", success: true, index: 6 },
    ]);
  });

  it("a follower whose log conflicts at the snapshot's index discards its log (no livelock)", () => {
    // The follower holds index 6 with term 3 while the snapshot's entry 6 has term 4.
    const follower = newCore("n3", { voters: voters3, terms: [1, 1, 3, 3, 3, 3, 3, 3] });
    follower.step({ type: "heartbeat", from: "n1", to: "n3", term: 4, commit: 0, context: 0 });
    expect(follower.restoreSnapshot({ index: 6, term: 4, config })).toBe(true);
    expect(follower.log.lastIndex()).toBe(6);
  });

  // Storing a received snapshot takes time (the runtime writes it to the snapshot store before
  // asking the core to install it); a follower that hears nothing from its leader meanwhile
  // campaigns. The snapshot is in its store by then: it must be installed all the same, or the
  // runtime reports it installed while the log stays behind, and the leader sends it forever
  // (simulation seed 5947).
  it.each([
    { preVote: true, role: "pre-candidate" },
    { preVote: false, role: "candidate" },
  ])(
    "a follower that became a $role while the snapshot was stored still installs it",
    ({ preVote, role }) => {
      const follower = newCore("n3", { voters: voters3, terms: [1, 1], preVote });
      follower.step({ type: "heartbeat", from: "n1", to: "n3", term: 2, commit: 0, context: 0 });
      takeMessages(follower);
      for (let i = 0; i < 30 && follower.state === "follower"; i++) follower.tick();
      expect(follower.state).toBe(role);
      const snapshot: SnapshotMeta = { index: 6, term: 2, config };
      expect(follower.restoreSnapshot(snapshot)).toBe(true);
      expect(process(follower).ready.snapshot).toEqual(snapshot);
      expect(follower.log.lastIndex()).toBe(6);
      expect(follower.log.committed).toBe(6);
    },
  );

  it("a leader never installs a snapshot: it holds every committed entry", () => {
    const { leader } = compactedCluster();
    const lastIndex = leader.log.lastIndex();
    expect(leader.restoreSnapshot({ index: lastIndex, term: leader.term, config })).toBe(false);
    expect(leader.log.lastIndex()).toBe(lastIndex);
    expect(process(leader).ready.snapshot).toBeUndefined();
  });

  it("a follower that already holds the snapshot's last entry only advances its commit index", () => {
    const follower = newCore("n3", { voters: voters3, terms: [1, 1, 2, 2, 2, 2, 2] });
    follower.step({ type: "heartbeat", from: "n1", to: "n3", term: 2, commit: 0, context: 0 });
    expect(follower.restoreSnapshot({ index: 5, term: 2, config })).toBe(false);
    expect(follower.log.committed).toBe(5);
    expect(follower.log.lastIndex()).toBe(7);
    expect(process(follower).ready.snapshot).toBeUndefined();
  });

  it("a follower ignores a snapshot older than its commit index", () => {
    const follower = newCore("n3", { voters: voters3, terms: [1, 1, 2, 2] });
    follower.step({
      type: "append",
      from: "n1",
      to: "n3",
      term: 2,
      prevIndex: 4,
      prevTerm: 2,
      entries: [],
      commit: 4,
    });
    expect(follower.restoreSnapshot({ index: 3, term: 1, config })).toBe(false);
    expect(follower.log.lastIndex()).toBe(4);
  });

  it("after a reported install the leader replicates from just past the snapshot", () => {
    const { net, leader } = compactedCluster();
    const n3 = net.core("n3");
    net.heal();
    expect(untilSnapshotNeeded(net, leader)).toHaveLength(1);
    expect(leader.peerStatus().get("n3")?.state).toBe("snapshot");
    n3.restoreSnapshot({ index: 6, term: leader.log.term(6) ?? 0, config });
    leader.reportSnapshot("n3", true);
    net.tick(2);
    expect(n3.log.lastIndex()).toBe(leader.log.lastIndex());
    expect(termsOf(n3)).toEqual([2]);
  });

  it("a failed transfer sends the follower back to probing, and a snapshot is offered again", () => {
    const { net, leader } = compactedCluster();
    net.heal();
    expect(untilSnapshotNeeded(net, leader)).toHaveLength(1);
    leader.reportSnapshot("n3", false);
    expect(leader.peerStatus().get("n3")?.state).toBe("probe");
    expect(untilSnapshotNeeded(net, leader)).toHaveLength(1);
    expect(leader.peerStatus().get("n3")?.state).toBe("snapshot");
  });

  it("chunks from the leader reach the runtime and keep the follower from campaigning", () => {
    const follower = newCore("n3", { voters: voters3, electionTicks: 10 });
    const data = new Uint8Array([1, 2, 3]);
    const chunk = {
      type: "snapshotChunk" as const,
      from: "n1",
      to: "n3",
      term: 2,
      snapshot: { index: 9, term: 2, config },
      offset: 0,
      size: 3,
      data,
      checksum: checksum(data),
      last: true,
    };
    for (let i = 0; i < 30; i++) {
      follower.tick();
      if (i % 5 === 0) follower.step(chunk);
    }
    expect(follower.state).toBe("follower");
    expect(process(follower).ready.snapshotChunks.length).toBeGreaterThan(0);
  });
});
