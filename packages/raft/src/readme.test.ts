import { describe, expect, it } from "vitest";
import {
  createMemoryNetwork,
  createRaftNode,
  type Entry,
  type FSM,
  isNotLeaderError,
  MemoryLogStore,
  MemorySnapshotStore,
  MemoryStableStore,
  type RaftNode,
} from "./index.js";

// The examples of README.md, run as tests (tools/check-readme-examples.mjs checks that every
// example appears here line for line).

/** A replicated counter: each entry adds its number; a snapshot is the total. */
class Counter implements FSM {
  total = 0;

  apply(entry: Entry): number {
    this.total += Number(new TextDecoder().decode(entry.data));
    return this.total;
  }

  async *snapshot(): AsyncIterable<Uint8Array> {
    yield new TextEncoder().encode(String(this.total));
  }

  async restore(contents: AsyncIterable<Uint8Array>): Promise<void> {
    let text = "";
    for await (const chunk of contents) text += new TextDecoder().decode(chunk);
    this.total = Number(text);
  }
}

describe("README examples", () => {
  it("a three-node cluster applies a write and serves a linearizable read on a follower", async () => {
    const network = createMemoryNetwork();
    const voters = ["n1", "n2", "n3"];
    const counters = new Map<string, Counter>();
    const nodes = voters.map((id) => {
      const fsm = new Counter();
      counters.set(id, fsm);
      return createRaftNode({
        id,
        voters,
        logStore: new MemoryLogStore(),
        stableStore: new MemoryStableStore(),
        snapshotStore: new MemorySnapshotStore(),
        transport: network.transport(id),
        fsm,
        tickIntervalMs: 10,
      });
    });

    const elected = new Promise<RaftNode>((resolve) => {
      for (const node of nodes) {
        node.observe((event) => {
          if (event.type === "stateChange" && event.state === "leader") resolve(node);
        });
      }
    });
    await Promise.all(nodes.map((node) => node.start()));
    const leader = await elected;

    // apply resolves with what the state machine returned, once committed and applied here.
    const total = await leader.apply(new TextEncoder().encode("42"));
    expect(total).toBe(42);

    // A follower refuses proposals and names the leader.
    const follower = nodes.find((node) => node !== leader) as RaftNode;
    const error = await follower.apply(new TextEncoder().encode("1")).catch((e: unknown) => e);
    const retryOn = isNotLeaderError(error) ? error.leader : undefined;
    expect(retryOn).toBe(leader.id);

    // A linearizable read on a follower: once readIndex resolves, its local state is current.
    await follower.readIndex();
    const seen = counters.get(follower.id)?.total;
    expect(seen).toBe(42);

    async function* backup(): AsyncIterable<Uint8Array> {
      yield new TextEncoder().encode("1000");
    }
    const restoredAt = await leader.restore(backup());
    expect(restoredAt).toBeGreaterThan(2);
    await follower.readIndex();
    expect(counters.get(follower.id)?.total).toBe(1000);

    await Promise.all(nodes.map((node) => node.shutdown({ transferLeadership: true })));
  });
});
