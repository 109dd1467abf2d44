import type { Logger } from "../logger.js";
import { MemoryLogStore } from "../runtime/memory-log-store.js";
import { MemorySnapshotStore } from "../runtime/memory-snapshot-store.js";
import { MemoryStableStore } from "../runtime/memory-stable-store.js";
import { createRaftNode, inspectNode, type RaftNode } from "../runtime/node.js";
import type { RaftNodeOptions } from "../runtime/options.js";
import { KvStateMachine } from "../testing/kv-fsm.js";
import { Prng } from "../testing/prng.js";
import { Scheduler } from "../testing/scheduler.js";
import { SimNetwork } from "../testing/sim-network.js";
import { SimProcess } from "../testing/sim-process.js";
import { DiskGate } from "./disk-gate.js";

// Real nodes on virtual time: the simulation's scheduler, processes and network (without
// faults) and the in-memory stores. Runtime tests that compare durations use it, so they
// measure in ticks of a virtual clock and never depend on how busy the machine is.

export const virtualTickMs = 10;
export const virtualElectionTicks = 10;

export interface VirtualMember {
  readonly id: string;
  node: RaftNode;
  fsm: KvStateMachine;
  readonly logStore: MemoryLogStore;
  readonly stableStore: MemoryStableStore;
  readonly snapshotStore: MemorySnapshotStore;
  readonly process: SimProcess;
  /** Stalls this member's log and stable store writes on command. */
  readonly disk: DiskGate;
}

export type VirtualClusterOptions = Partial<
  Omit<
    RaftNodeOptions,
    "id" | "voters" | "logStore" | "stableStore" | "snapshotStore" | "transport" | "fsm" | "clock"
  >
>;

export class VirtualCluster {
  readonly scheduler = new Scheduler();
  readonly members = new Map<string, VirtualMember>();
  readonly network: SimNetwork;
  /** Every message logged at warn or error level, as "id: message". */
  readonly warnings: string[] = [];
  readonly infos: string[] = [];
  private readonly rng: Prng;
  private readonly ids: readonly string[];
  private readonly options: VirtualClusterOptions;
  private readonly optionsFor: Readonly<Record<string, VirtualClusterOptions>>;

  /** `optionsFor` adds options for single members, over `options`. */
  constructor(
    ids: readonly string[],
    seed: number,
    options: VirtualClusterOptions = {},
    optionsFor: Readonly<Record<string, VirtualClusterOptions>> = {},
  ) {
    this.rng = new Prng(seed);
    const processes = new Map<string, SimProcess>();
    for (const id of ids) processes.set(id, new SimProcess(id, this.scheduler, 1, 0));
    this.network = new SimNetwork(
      this.scheduler,
      this.rng.fork(),
      processes,
      { loss: 0, duplicate: 0, longDelay: 0, corrupt: 0, minLatencyMs: 0.5, maxLatencyMs: 1.5 },
      () => {},
    );
    this.ids = ids;
    this.options = options;
    this.optionsFor = optionsFor;
    for (const id of ids) {
      const member: VirtualMember = {
        id,
        node: undefined as unknown as RaftNode,
        fsm: new KvStateMachine(),
        logStore: new MemoryLogStore(),
        stableStore: new MemoryStableStore(),
        snapshotStore: new MemorySnapshotStore(),
        process: processes.get(id) as SimProcess,
        disk: new DiskGate(),
      };
      member.node = this.createNode(member);
      this.members.set(id, member);
    }
  }

  private createNode(member: VirtualMember): RaftNode {
    const random = this.rng.fork();
    return createRaftNode({
      id: member.id,
      voters: this.ids,
      logStore: member.disk.log(member.logStore),
      stableStore: member.disk.stable(member.stableStore),
      snapshotStore: member.snapshotStore,
      transport: this.network.transport(member.id),
      fsm: member.fsm,
      tickIntervalMs: virtualTickMs,
      electionTicks: virtualElectionTicks,
      heartbeatTicks: 1,
      clock: member.process.clock(),
      random: () => random.next(),
      logger: this.logger(member.id),
      ...this.options,
      ...this.optionsFor[member.id],
    });
  }

  /** Stops a member and starts it again on its stores, with a fresh state machine. */
  async restart(id: string): Promise<VirtualMember> {
    const member = this.member(id);
    await this.settle(member.node.shutdown());
    member.process.crash();
    member.process.restart();
    member.logStore.reopen();
    member.fsm = new KvStateMachine();
    member.node = this.createNode(member);
    await this.settle(member.node.start());
    return member;
  }

  /** Cuts every link between `id` and the others (both ways). */
  isolate(id: string): void {
    for (const other of this.ids) {
      if (other === id) continue;
      this.network.cut(id, other);
      this.network.cut(other, id);
    }
  }

  get now(): number {
    return this.scheduler.now;
  }

  member(id: string): VirtualMember {
    const member = this.members.get(id);
    if (member === undefined) throw new Error(`no member ${id}`);
    return member;
  }

  async start(): Promise<void> {
    const started = Promise.all([...this.members.values()].map((m) => m.node.start()));
    let done = false;
    void started.then(() => {
      done = true;
    });
    await this.runUntil(() => done, 1000);
    await started;
  }

  /** Runs virtual time until `condition` holds or `maxMs` pass; returns whether it held. */
  async runUntil(condition: () => boolean, maxMs: number): Promise<boolean> {
    const deadline = this.scheduler.now + maxMs;
    for (;;) {
      // Let promise continuations and pending immediates of the last event run first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (condition()) return true;
      const next = this.scheduler.peekTime();
      if (next === undefined || next > deadline) {
        this.scheduler.now = Math.max(this.scheduler.now, deadline);
        return condition();
      }
      this.scheduler.step();
    }
  }

  /** The one running leader that every other running node follows, if there is one. */
  stableLeader(): RaftNode | undefined {
    const running = [...this.members.values()]
      .map((m) => m.node)
      .filter((n) => inspectNode(n).lifecycle === "running");
    const leaders = running.filter((n) => n.state === "leader");
    const leader = leaders[0];
    if (leaders.length !== 1 || leader === undefined) return undefined;
    return running.every((n) => n.leader === leader.id) ? leader : undefined;
  }

  /**
   * Runs until there is a stable leader (other than `except`, when given) for at most `maxMs` of
   * virtual time.
   */
  async leader(maxMs = 5000, except?: string): Promise<RaftNode> {
    const found = () => {
      const leader = this.stableLeader();
      return leader !== undefined && leader.id !== except ? leader : undefined;
    };
    if (!(await this.runUntil(() => found() !== undefined, maxMs))) {
      throw new Error(`no stable leader within ${maxMs} virtual ms`);
    }
    return found() as RaftNode;
  }

  /** Settles `promise` while running virtual time (at most `maxMs`). */
  async settle<T>(promise: Promise<T>, maxMs = 5000): Promise<T> {
    let done = false;
    const watched = promise.finally(() => {
      done = true;
    });
    watched.catch(() => undefined);
    if (!(await this.runUntil(() => done, maxMs))) {
      throw new Error(`the call did not settle within ${maxMs} virtual ms`);
    }
    return watched;
  }

  async shutdown(): Promise<void> {
    const all = Promise.all([...this.members.values()].map((m) => m.node.shutdown()));
    await this.settle(all);
  }

  private logger(id: string): Logger {
    return {
      debug: () => {},
      info: (_fields, message) => this.infos.push(`${id}: ${message ?? ""}`),
      warn: (_fields, message) => this.warnings.push(`${id}: ${message ?? ""}`),
      error: (_fields, message) => this.warnings.push(`${id}: ${message ?? ""}`),
    };
  }
}
