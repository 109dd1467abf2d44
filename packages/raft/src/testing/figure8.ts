import type { UnsafeSwitches } from "../core/core-config.js";
import type { Entry, NodeId } from "../log-types.js";
import type { Message } from "../messages.js";
import { createRaftNode, inspectNode, type RaftNode } from "../runtime/node.js";
import { type CheckedNode, InvariantChecker, isInvariantViolation } from "./invariants.js";
import { encodeCommand, KvStateMachine } from "./kv-fsm.js";
import { Prng } from "./prng.js";
import { Scheduler } from "./scheduler.js";
import { SimNetwork } from "./sim-network.js";
import { SimProcess } from "./sim-process.js";
import { type SimStorage, simDiskStorage } from "./sim-storage.js";

// Figure 8 of the Raft paper, as a scripted fault schedule run by the real runtime on virtual
// time, with the invariant checker watching every step. A leader must not commit an entry of
// an earlier term by counting its replicas: here one does (with the test-only switch
// `commitOldTermByCounting`) and applies it, and a later leader overwrites that entry.
// Random faults almost never produce this interleaving (600 seeds did not), so it is forced:
//
//   a. n1 leads term A and replicates X (index 3) to n2 only.
//   b. n1 crashes. n5 leads term B (votes of n3, n4, itself) and appends its first entry at
//      index 3 (term B), which reaches no one. n5 crashes.
//   c. n1 restarts and leads term C (votes of n2, n3, n4). Its own first entry (term C) is
//      lost on the way to everyone, but X reaches n3: X is on n1, n2, n3, a majority. Counting
//      replicas, n1 commits and applies X; followers never hear of the commit.
//   d. n1 crashes. n5 restarts and leads term D (its last term B beats the others' A) without
//      X, and overwrites index 3 on n2, n3, n4: leader completeness and committed entries
//      never changing are both broken.
//
// With the rule, n1 cannot commit X in step c (its own term's entry never replicates), so
// nothing committed is lost in step d; the cluster then heals and converges.

/** What the scripted run found. */
export interface ScriptedResult {
  readonly ok: boolean;
  readonly violation?: { readonly invariant: string; readonly message: string };
  /** Whether n1 committed X by counting replicas in step c. */
  readonly committedByCounting: boolean;
  readonly trace: readonly string[];
}

const ids = ["n1", "n2", "n3", "n4", "n5"];

/** Runs the Figure 8 schedule, with a safety rule switched off when `unsafe` says so. */
export async function runFigure8(unsafe?: UnsafeSwitches): Promise<ScriptedResult> {
  const script = new Figure8(unsafe);
  let violation: ScriptedResult["violation"];
  try {
    await script.play();
  } catch (error) {
    if (!isInvariantViolation(error)) throw error;
    violation = { invariant: error.invariant, message: error.message };
    script.trace(`VIOLATION ${error.message}`);
  }
  return {
    ok: violation === undefined,
    ...(violation === undefined ? {} : { violation }),
    committedByCounting: script.committedByCounting,
    trace: script.lines,
  };
}

interface Member {
  readonly process: SimProcess;
  readonly storage: SimStorage;
  node: RaftNode;
  fsm: KvStateMachine;
}

class Figure8 {
  readonly lines: string[] = [];
  committedByCounting = false;
  private readonly scheduler = new Scheduler();
  private readonly rng = new Prng(8);
  private readonly checker = new InvariantChecker({
    maxUncommittedBytes: 1 << 20,
    maxEntrySize: 1 << 16,
    maxInflightMessages: 64,
    maxInflightBytes: 1 << 20,
    maxBytesPerAppend: 1,
  });
  private readonly processes = new Map<NodeId, SimProcess>();
  private readonly members = new Map<NodeId, Member>();
  private readonly network: SimNetwork;
  private readonly unsafe: UnsafeSwitches | undefined;
  private pendingError: unknown;

  constructor(unsafe: UnsafeSwitches | undefined) {
    this.unsafe = unsafe;
    for (const id of ids) this.processes.set(id, new SimProcess(id, this.scheduler, 1, 0));
    this.network = new SimNetwork(
      this.scheduler,
      this.rng.fork(),
      this.processes,
      { loss: 0, duplicate: 0, longDelay: 0, corrupt: 0, minLatencyMs: 0.5, maxLatencyMs: 1 },
      (m) => this.checker.onSend(m),
    );
  }

  trace(line: string): void {
    this.lines.push(`${this.scheduler.now.toFixed(1).padStart(8)} ms  ${line}`);
  }

  async play(): Promise<void> {
    for (const id of ids) this.start(id);
    await this.until("every node runs", () => ids.every((id) => this.running(id)));

    this.trace("a. n1 leads, and replicates X to n2 only");
    const termA = await this.elect("n1");
    await this.until("every node holds n1's first entry", () =>
      ids.every((id) => this.core(id).log.persisted >= 2),
    );
    for (const id of ["n3", "n4", "n5"]) this.network.cut("n1", id);
    this.node("n1")
      .apply(encodeCommand({ op: "put", key: "x", value: "X" }))
      .catch(() => undefined);
    await this.until("n2 holds X", () => this.core("n2").log.persisted >= 3);

    this.trace("b. n1 crashes; n5 leads a new term, appends at index 3 alone, and crashes");
    this.crash("n1");
    this.network.heal();
    this.network.tamper = (m) => (m.type === "append" && m.from === "n5" ? undefined : m);
    const termB = await this.elect("n5");
    await this.until("n5's first entry is durable", () => this.core("n5").log.persisted >= 3);
    this.crash("n5");
    this.network.tamper = undefined;

    this.trace("c. n1 restarts and leads; X reaches a majority, n1's own entry reaches no one");
    this.start("n1");
    await this.until("n1 runs", () => this.running("n1"));
    // n1's entries of its own (new) term are cut out of what it sends, and so is any commit
    // index past X's predecessor: only n1 itself can learn that X committed.
    this.network.tamper = (m) => (m.from === "n1" ? withoutTerm(m, m.term) : m);
    const termC = await this.elect("n1");
    this.trace(`terms: A ${termA}, B ${termB}, C ${termC}`);
    this.committedByCounting = await this.until(
      "n1 commits X",
      () => this.core("n1").log.committed >= 3,
      500,
    );
    this.trace(
      `n1 ${this.committedByCounting ? "committed X by counting its replicas" : "could not commit X"}`,
    );

    this.trace("d. n1 crashes; n5 restarts and leads without X");
    this.crash("n1");
    this.network.tamper = undefined;
    this.start("n5");
    await this.until("n5 runs", () => this.running("n5"));
    await this.elect("n5");
    await this.until("n5 commits its term's first entry", () => {
      const core = this.core("n5");
      return core.committedInTerm();
    });

    this.trace("the cluster heals");
    this.start("n1");
    await this.until("the five logs converge", () => this.converged(), 5000);
    this.checker.deep(this.views());
  }

  // ---- the script's moves -------------------------------------------------------------------

  private start(id: NodeId): void {
    const process = this.processes.get(id) as SimProcess;
    let member = this.members.get(id);
    if (member === undefined) {
      const storage = simDiskStorage({
        id,
        process,
        scheduler: this.scheduler,
        rng: this.rng.fork(),
        observer: this.checker,
        violation: (error) => {
          this.pendingError ??= error;
        },
        stallRate: 0,
        trace: (line) => this.trace(`${id} ${line}`),
      });
      member = {
        process,
        storage,
        node: undefined as unknown as RaftNode,
        fsm: new KvStateMachine(),
      };
      this.members.set(id, member);
    } else {
      process.restart();
    }
    const m = member;
    m.fsm = new KvStateMachine({ onApply: (index, hash) => this.checker.onApply(id, index, hash) });
    const stores = m.storage.open();
    if (stores instanceof Promise) throw new Error("expected the simulation's own stores");
    const random = this.rng.fork();
    m.node = createRaftNode({
      id,
      voters: ids,
      ...stores,
      transport: this.network.transport(id),
      fsm: m.fsm,
      tickIntervalMs: 10,
      // Elections happen only when the script says so.
      electionTicks: 100_000,
      heartbeatTicks: 1,
      preVote: false,
      checkQuorum: false,
      // One entry with data per append message, so X can travel alone.
      maxBytesPerAppend: 1,
      clock: process.clock(),
      random: () => random.next(),
      logger: {
        debug: () => {},
        info: (_fields, message) => this.trace(`${id} ${message ?? ""}`),
        warn: (_fields, message) => this.trace(`${id} warn ${message ?? ""}`),
        error: (_fields, message) => this.trace(`${id} error ${message ?? ""}`),
      },
      unsafe: this.unsafe,
    });
    void m.node.start().catch((error: unknown) => {
      this.pendingError ??= error;
    });
  }

  private crash(id: NodeId): void {
    const m = this.members.get(id) as Member;
    this.trace(`crash ${id}`);
    m.process.crash();
    m.storage.crash();
    this.checker.forget(id);
  }

  /** Makes `id` campaign until it leads; returns its term. */
  private async elect(id: NodeId): Promise<number> {
    for (let attempt = 0; attempt < 5; attempt++) {
      inspectNode(this.node(id)).campaign();
      if (await this.until(`${id} leads`, () => this.node(id).state === "leader", 200)) {
        return this.node(id).term;
      }
    }
    throw new Error(`${id} could not be elected`);
  }

  // ---- driving --------------------------------------------------------------------------------

  /** Runs virtual time until `condition` or `maxMs`; whether it held. */
  private async until(what: string, condition: () => boolean, maxMs = 2000): Promise<boolean> {
    const deadline = this.scheduler.now + maxMs;
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.pendingError !== undefined) throw this.pendingError;
      this.checker.step(this.views());
      if (condition()) return true;
      const next = this.scheduler.peekTime();
      if (next === undefined || next > deadline) {
        this.scheduler.now = Math.max(this.scheduler.now, deadline);
        const held = condition();
        if (!held) this.trace(`gave up waiting: ${what}`);
        return held;
      }
      this.scheduler.step();
    }
  }

  private views(): CheckedNode[] {
    return ids.map((id) => {
      const m = this.members.get(id) as Member;
      return { id, alive: m.process.alive && inspectNode(m.node).core !== undefined, node: m.node };
    });
  }

  private converged(): boolean {
    const stats = ids.map((id) => this.node(id).stats());
    const first = stats[0];
    return (
      first !== undefined &&
      ids.every((id) => this.running(id)) &&
      stats.every((s) => s.commitIndex === first.lastIndex && s.appliedIndex === first.lastIndex)
    );
  }

  private node(id: NodeId): RaftNode {
    return (this.members.get(id) as Member).node;
  }

  private core(id: NodeId) {
    const core = inspectNode(this.node(id)).core;
    if (core === undefined) throw new Error(`${id} has not started`);
    return core;
  }

  private running(id: NodeId): boolean {
    const m = this.members.get(id);
    return m?.process.alive === true && inspectNode(m.node).lifecycle === "running";
  }
}

/**
 * The message without entries of `term` (an append keeps the older ones before them) and
 * without a commit index past 2, so no follower learns of a commit.
 */
function withoutTerm(m: Message, term: number): Message {
  if (m.type === "append") {
    const kept: Entry[] = [];
    for (const e of m.entries) {
      if (e.term === term) break;
      kept.push(e);
    }
    return { ...m, entries: kept, commit: Math.min(m.commit, 2) };
  }
  if (m.type === "heartbeat") return { ...m, commit: Math.min(m.commit, 2) };
  return m;
}
