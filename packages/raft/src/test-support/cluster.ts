import { MemoryLogStore } from "../runtime/memory-log-store.js";
import { MemorySnapshotStore } from "../runtime/memory-snapshot-store.js";
import { MemoryStableStore } from "../runtime/memory-stable-store.js";
import { createMemoryNetwork, type MemoryNetwork } from "../runtime/memory-transport.js";
import type { RaftNode } from "../runtime/node.js";
import { createRaftNode, inspectNode } from "../runtime/node.js";
import type { RaftNodeOptions } from "../runtime/options.js";
import { KvStateMachine } from "../testing/kv-fsm.js";

// A cluster of real nodes on real timers, wired with the in-memory stores and network, for the
// runtime tests. Timeouts are short (10 ms ticks) so elections take tens of milliseconds.

export interface Member {
  node: RaftNode;
  fsm: KvStateMachine;
  logStore: MemoryLogStore;
  stableStore: MemoryStableStore;
  snapshotStore: MemorySnapshotStore;
}

export type ClusterOptions = Partial<
  Omit<
    RaftNodeOptions,
    "id" | "voters" | "logStore" | "stableStore" | "snapshotStore" | "transport" | "fsm"
  >
>;

export class TestCluster {
  readonly network: MemoryNetwork = createMemoryNetwork();
  readonly members = new Map<string, Member>();
  readonly ids: string[];
  private readonly options: ClusterOptions;

  constructor(ids: string[], options: ClusterOptions = {}) {
    this.ids = ids;
    this.options = options;
    for (const id of ids) {
      const member: Member = {
        fsm: new KvStateMachine({ snapshotChunkSize: 64 }),
        logStore: new MemoryLogStore(),
        stableStore: new MemoryStableStore(),
        snapshotStore: new MemorySnapshotStore(),
        node: undefined as unknown as RaftNode,
      };
      member.node = this.create(id, member);
      this.members.set(id, member);
    }
  }

  private create(id: string, member: Omit<Member, "node">): RaftNode {
    return createRaftNode({
      id,
      voters: this.ids,
      logStore: member.logStore,
      stableStore: member.stableStore,
      snapshotStore: member.snapshotStore,
      transport: this.network.transport(id),
      fsm: member.fsm,
      tickIntervalMs: 10,
      electionTicks: 10,
      heartbeatTicks: 1,
      ...this.options,
    });
  }

  member(id: string): Member {
    const member = this.members.get(id);
    if (member === undefined) throw new Error(`no member ${id}`);
    return member;
  }

  node(id: string): RaftNode {
    return this.member(id).node;
  }

  async start(): Promise<void> {
    await Promise.all([...this.members.values()].map((m) => m.node.start()));
  }

  /** Waits until exactly one running node leads and all others follow it. */
  async leader(timeoutMs = 10_000): Promise<RaftNode> {
    let found: RaftNode | undefined;
    await waitFor(() => {
      const running = [...this.members.values()].map((m) => m.node).filter((n) => isRunning(n));
      const leaders = running.filter((n) => n.state === "leader");
      const leader = leaders[0];
      if (leaders.length !== 1 || leader === undefined) return false;
      found = leader;
      return running.every((n) => n.leader === leader.id);
    }, timeoutMs);
    return found as RaftNode;
  }

  followers(leader: RaftNode): RaftNode[] {
    return [...this.members.values()]
      .map((m) => m.node)
      .filter((n) => n !== leader && isRunning(n));
  }

  /** Restarts a member on its stores with a fresh state machine (a process restart). */
  async restart(id: string): Promise<Member> {
    const member = this.member(id);
    await member.node.shutdown();
    member.fsm = new KvStateMachine({ snapshotChunkSize: 64 });
    member.node = this.create(id, member);
    await member.node.start();
    return member;
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.members.values()].map((m) => m.node.shutdown()));
  }
}

export function isRunning(node: RaftNode): boolean {
  return inspectNode(node).lifecycle === "running";
}

/** Polls `condition` every few milliseconds until it holds; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs)
      throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
