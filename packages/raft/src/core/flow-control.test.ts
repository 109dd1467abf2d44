import { describe, expect, it } from "vitest";
import { EntryType } from "../log-types.js";
import type { AppendMessage } from "../messages.js";
import { CoreNetwork, newCore, proposeText, takeMessages } from "../test-support/core-harness.js";

const voters3 = ["n1", "n2", "n3"];

describe("flow control", () => {
  it("a leader pipelines appends to a replicating follower up to the inflight limit, then waits", () => {
    const net = new CoreNetwork(
      voters3.map((id) => newCore(id, { voters: voters3, maxInflightMessages: 3 })),
    );
    net.elect("n1");
    const leader = net.core("n1");
    for (let i = 0; i < 10; i++) proposeText(leader, `w${i}`);
    const sent = takeMessages(leader);
    expect(sent.filter((m) => m.type === "append" && m.to === "n2")).toHaveLength(3);
    expect(leader.peerStatus().get("n2")).toMatchObject({
      state: "replicate",
      inflightMessages: 3,
    });
    // Acknowledgements free room; the rest follows, batched.
    for (const m of sent) net.deliver(m);
    net.stabilize();
    expect(net.core("n2").log.lastIndex()).toBe(12);
    expect(leader.peerStatus().get("n2")?.inflightMessages).toBe(0);
  });

  it("a leader refuses proposals beyond the uncommitted byte limit with a reason, and takes them again after commit", () => {
    const net = new CoreNetwork(
      voters3.map((id) => newCore(id, { voters: voters3, maxUncommittedBytes: 100 })),
    );
    net.elect("n1");
    net.isolate("n1");
    const leader = net.core("n1");
    const big = { type: EntryType.Normal, data: new Uint8Array(60) };
    expect(leader.propose([big])).toMatchObject({ accepted: 1 });
    const refused = leader.propose([big, big]);
    expect(refused).toMatchObject({ accepted: 0, refused: { reason: "uncommitted-limit" } });
    net.heal();
    net.stabilize();
    expect(leader.uncommittedBytes).toBe(0);
    expect(leader.propose([big])).toMatchObject({ accepted: 1 });
  });

  it("a single proposal larger than the limit passes when nothing else is uncommitted", () => {
    const leader = newCore("n1", { voters: ["n1"], maxUncommittedBytes: 10 });
    leader.campaign();
    takeMessages(leader);
    expect(leader.propose([{ type: EntryType.Normal, data: new Uint8Array(50) }])).toMatchObject({
      accepted: 1,
    });
  });

  it("a replicating follower whose appends were all lost is caught up after a heartbeat round or two", () => {
    const net = new CoreNetwork(voters3.map((id) => newCore(id, { voters: voters3 })));
    net.elect("n1");
    const leader = net.core("n1");
    net.cut("n1", "n2");
    for (let i = 0; i < 3; i++) proposeText(leader, `w${i}`);
    net.stabilize();
    net.heal();
    for (let i = 0; i < 3 && net.core("n2").log.lastIndex() < leader.log.lastIndex(); i++) {
      net.tick(1);
    }
    expect(net.core("n2").log.lastIndex()).toBe(leader.log.lastIndex());
  });

  it("read rounds in quick succession leave a healthy replicating follower replicating", () => {
    const net = new CoreNetwork(
      voters3.map((id) => newCore(id, { voters: voters3, maxInflightMessages: 2 })),
    );
    net.elect("n1");
    const leader = net.core("n1");
    for (let i = 0; i < 6; i++) proposeText(leader, `w${i}`);
    const sent = takeMessages(leader); // appends: the inflight window is full
    leader.readIndex(1);
    sent.push(...takeMessages(leader)); // a read round: heartbeats
    leader.readIndex(2);
    sent.push(...takeMessages(leader)); // another one
    // n2 answers everything in order: its append answers arrive, then both heartbeat answers,
    // back to back. Nothing was lost, so nothing must be resent from scratch.
    for (const m of sent.filter((m) => m.to === "n2")) net.deliver(m);
    const answers = net.collect(net.core("n2"));
    expect(answers.map((m) => m.type)).toEqual([
      "appendResponse",
      "appendResponse",
      "heartbeatResponse",
      "heartbeatResponse",
    ]);
    for (const m of answers) net.deliver(m);
    expect(leader.peerStatus().get("n2")?.state).toBe("replicate");
  });

  it("a follower that stops answering gets one probe at a time, and catches up after", () => {
    const net = new CoreNetwork(voters3.map((id) => newCore(id, { voters: voters3 })));
    net.elect("n1");
    const leader = net.core("n1");
    leader.reportUnreachable("n2");
    expect(leader.peerStatus().get("n2")?.state).toBe("probe");
    net.cut("n1", "n2");
    for (let i = 0; i < 5; i++) proposeText(leader, `w${i}`);
    const probes = takeMessages(leader).filter(
      (m): m is AppendMessage => m.type === "append" && m.to === "n2",
    );
    expect(probes).toHaveLength(1);
    net.heal();
    leader.tick();
    net.stabilize();
    expect(net.core("n2").log.lastIndex()).toBe(leader.log.lastIndex());
  });

  it("an append message carries at most the configured bytes, but always one entry", () => {
    const net = new CoreNetwork(
      voters3.map((id) => newCore(id, { voters: voters3, maxBytesPerAppend: 100 })),
    );
    net.elect("n1");
    net.isolate("n2");
    const leader = net.core("n1");
    const sizes = [40, 40, 40, 500, 10];
    for (const size of sizes)
      leader.propose([{ type: EntryType.Normal, data: new Uint8Array(size) }]);
    net.stabilize();
    net.heal();
    for (let i = 0; i < 3 && net.core("n2").log.lastIndex() < leader.log.lastIndex(); i++) {
      net.tick(1);
    }
    const batches = net.delivered
      .filter(
        (m): m is AppendMessage => m.type === "append" && m.to === "n2" && m.entries.length > 0,
      )
      .map((m) => m.entries.map((e) => e.data.byteLength));
    expect(batches.slice(-4)).toEqual([[40, 40], [40], [500], [10]]);
    for (const batch of batches) {
      expect(batch.length === 1 || batch.reduce((a, b) => a + b, 0) <= 100).toBe(true);
    }
    expect(net.core("n2").log.lastIndex()).toBe(leader.log.lastIndex());
  });
});
