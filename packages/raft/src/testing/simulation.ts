import {
  checkLinearizability,
  type KvInput,
  type KvOutput,
  kvModel,
  type Operation,
} from "@raftstore/linearizability";
import type { NodeId } from "../log-types.js";
import type { Logger } from "../logger.js";
import { sleep } from "../runtime/clock.js";
import { createRaftNode, inspectNode, type RaftNode } from "../runtime/node.js";
import type { FSM } from "../stores.js";
import {
  type CheckedNode,
  InvariantChecker,
  InvariantViolation,
  isInvariantViolation,
} from "./invariants.js";
import { encodeCommand, KvStateMachine } from "./kv-fsm.js";
import { type LeaderDiskStall, LeaderStalls } from "./leader-stalls.js";
import { Prng } from "./prng.js";
import { type Scenario, type ScenarioOverrides, scenarioFor } from "./scenario.js";
import { Scheduler } from "./scheduler.js";
import { SimNetwork } from "./sim-network.js";
import { SimProcess } from "./sim-process.js";
import {
  type SimStorage,
  type SimStorageFactory,
  type SimStores,
  simDiskStorage,
} from "./sim-storage.js";
import { Workload, type WorkloadStats } from "./workload.js";

/** The outcome of one simulation run. */
export interface SimulationResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violation?: {
    readonly invariant: string;
    readonly message: string;
    readonly atMs: number;
  };
  /** The command that replays this run exactly. */
  readonly replay: string;
  readonly stats: SimulationStats;
  /** The last lines of the run's trace (node logs and fault injections), oldest first. */
  readonly trace: readonly string[];
  /** The clients' history (for debugging a failed or inconclusive check). */
  readonly history: readonly Operation<KvInput, KvOutput>[];
}

export type { LeaderDiskStall };

export interface SimulationStats {
  nodes: number;
  events: number;
  virtualMs: number;
  elections: number;
  crashes: number;
  pauses: number;
  partitions: number;
  snapshotsStored: number;
  /** Snapshots installed from a leader (InstallSnapshot), and chunks sent for them. */
  snapshotsInstalled: number;
  snapshotChunksSent: number;
  messagesSent: number;
  committedEntries: number;
  workload: WorkloadStats;
  linearizability: "linearizable" | "illegal" | "unknown" | "not checked";
  operations: number;
  /** Each stall of a leader's disk: when, how long, and how soon another node led. */
  leaderDiskStalls: LeaderDiskStall[];
}

const tickIntervalMs = 10;
const electionTicks = 10;
const maxEntrySize = 64 * 1024;
const maxInflightBytes = 1 << 20;

/** How to run the simulation beyond its scenario. */
export interface SimulationOptions {
  /** The nodes' storage. Default: the simulation's own stores on a modelled disk. */
  readonly storage?: SimStorageFactory;
  /** The npm workspace whose `sim` script replays a run. Default "@raftstore/raft". */
  readonly workspace?: string;
}

/** Runs the simulation of `seed` (its scenario, with any overrides) and reports what happened. */
export async function runSimulation(
  seed: number,
  overrides: ScenarioOverrides = {},
  options: SimulationOptions = {},
): Promise<SimulationResult> {
  return new Simulation(scenarioFor(seed, overrides), overrides, options).run();
}

/** The command line that replays a run. */
export function replayCommand(
  seed: number,
  overrides: ScenarioOverrides = {},
  workspace = "@raftstore/raft",
): string {
  const flags = Object.entries(overrides)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) =>
      key === "unsafe"
        ? Object.keys(value as object)
            .map((name) => `--unsafe ${name}`)
            .join(" ")
        : `--${key} ${String(value)}`,
    );
  return [`npm run sim -w ${workspace} -- --seed`, String(seed), ...flags].join(" ");
}

interface SimNode {
  readonly id: NodeId;
  readonly process: SimProcess;
  readonly storage: SimStorage;
  fsm: KvStateMachine;
  /** Undefined (despite the type) until the first incarnation opened its stores. */
  node: RaftNode;
  running: boolean;
}

class Simulation {
  private readonly scenario: Scenario;
  private readonly overrides: ScenarioOverrides;
  private readonly scheduler = new Scheduler();
  private readonly rng: Prng;
  private readonly faultRng: Prng;
  /** Restores draw from their own stream (derived from the seed), leaving the others as they were. */
  private readonly restoreRng: Prng;
  private readonly stalls: LeaderStalls;
  private readonly checker: InvariantChecker;
  private readonly processes = new Map<NodeId, SimProcess>();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly network: SimNetwork;
  private readonly workload: Workload;
  private readonly ids: NodeId[];
  private readonly traceLines: string[] = [];
  private readonly counts = { crashes: 0, pauses: 0, partitions: 0, installs: 0, chunks: 0 };
  private chaos = true;
  private steps = 0;
  private pendingError: unknown;

  private readonly options: SimulationOptions;

  constructor(scenario: Scenario, overrides: ScenarioOverrides, options: SimulationOptions) {
    this.scenario = scenario;
    this.overrides = overrides;
    this.options = options;
    this.rng = new Prng(scenario.seed);
    this.faultRng = this.rng.fork();
    this.restoreRng = new Prng(scenario.seed ^ 0x7e5707e);
    this.stalls = new LeaderStalls(new Prng(scenario.seed ^ 0x57a11ed), this.scheduler);
    this.ids = Array.from({ length: scenario.nodes }, (_, i) => `n${i + 1}`);
    this.checker = new InvariantChecker({
      maxUncommittedBytes: scenario.maxUncommittedBytes,
      maxEntrySize,
      maxInflightMessages: scenario.maxInflightMessages,
      maxInflightBytes,
      maxBytesPerAppend: scenario.maxBytesPerAppend,
    });
    for (const id of this.ids) {
      const drift = scenario.clockDrift;
      const rate = 1 + this.rng.range(-drift, drift);
      this.processes.set(id, new SimProcess(id, this.scheduler, rate, this.rng.range(0, 1e6)));
    }
    this.network = new SimNetwork(
      this.scheduler,
      this.rng.fork(),
      this.processes,
      {
        loss: scenario.loss,
        duplicate: scenario.duplicate,
        longDelay: scenario.longDelay,
        corrupt: scenario.corrupt,
        minLatencyMs: 0.5,
        maxLatencyMs: scenario.maxLatencyMs,
      },
      (m) => {
        if (m.type === "snapshotChunk") this.counts.chunks++;
        this.checker.onSend(m);
      },
    );
    this.workload = new Workload(
      {
        scheduler: this.scheduler,
        liveNodes: () => this.ids.filter((id) => this.nodes.get(id)?.running === true),
        node: (id) => (this.nodes.get(id) as SimNode).node,
        fsm: (id) => (this.nodes.get(id) as SimNode).fsm,
      },
      this.rng.fork(),
      {
        clients: scenario.clients,
        keysPerEra: 3,
        timeoutMs: scenario.clientTimeoutMs,
        maxThinkMs: 20,
        forwardedWrites: scenario.forwardedWrites,
      },
    );
  }

  async run(): Promise<SimulationResult> {
    let violation: SimulationResult["violation"];
    try {
      await this.execute();
    } catch (error) {
      if (!isInvariantViolation(error)) throw error;
      violation = { invariant: error.invariant, message: error.message, atMs: this.scheduler.now };
      this.trace(`VIOLATION ${error.message}`);
    }
    let linearizability: SimulationStats["linearizability"] = "not checked";
    if (violation === undefined) {
      const result = checkLinearizability(kvModel, this.workload.history(), {
        maxSteps: 5_000_000,
      });
      linearizability = result.outcome;
      if (result.outcome === "unknown")
        this.trace(`linearizability check gave up: ${result.reason}`);
      if (result.outcome === "illegal") {
        violation = {
          invariant: "linearizability",
          message: `linearizability: ${result.explanation}`,
          atMs: this.scheduler.now,
        };
      }
    }
    return {
      seed: this.scenario.seed,
      ok: violation === undefined,
      ...(violation === undefined ? {} : { violation }),
      replay: replayCommand(this.scenario.seed, this.overrides, this.options.workspace),
      stats: {
        nodes: this.scenario.nodes,
        events: this.scheduler.executed,
        virtualMs: Math.round(this.scheduler.now),
        elections: this.checker.elections,
        crashes: this.counts.crashes,
        pauses: this.counts.pauses,
        partitions: this.counts.partitions,
        snapshotsStored: [...this.nodes.values()].reduce(
          (n, s) => n + s.storage.snapshotsStored,
          0,
        ),
        snapshotsInstalled: this.counts.installs,
        snapshotChunksSent: this.counts.chunks,
        messagesSent: this.network.sent,
        committedEntries: this.checker.committedCount,
        workload: { ...this.workload.stats },
        linearizability,
        operations: this.workload.recorder.size,
        leaderDiskStalls: this.stalls.report(this.workload.history()),
      },
      trace: this.traceLines.slice(),
      history: this.workload.history(),
    };
  }

  private async execute(): Promise<void> {
    for (const id of this.ids) this.createNode(id);
    await this.drive(() => this.ids.every((id) => this.nodes.get(id)?.running === true), 1000);
    this.scheduleFaults();
    this.workload.start();
    await this.drive(() => false, this.scenario.chaosMs);
    this.heal();
    await this.checkLiveness(this.scheduler.now + this.scenario.livenessMs);
    this.checker.deep(this.views());
  }

  // ---- nodes ------------------------------------------------------------------------------

  private createNode(id: NodeId): void {
    const process = this.processes.get(id) as SimProcess;
    let sim = this.nodes.get(id);
    if (sim === undefined) {
      const storage = (this.options.storage ?? simDiskStorage)({
        id,
        process,
        scheduler: this.scheduler,
        rng: this.rng.fork(),
        observer: this.checker,
        violation: (error) => {
          this.pendingError ??= error;
        },
        stallRate: this.scenario.diskStall,
        trace: (line) => this.trace(`${id} ${line}`),
      });
      sim = {
        id,
        process,
        storage,
        fsm: new KvStateMachine(),
        node: undefined as unknown as RaftNode,
        running: false,
      };
      this.nodes.set(id, sim);
    }
    const s = sim;
    s.running = false;
    const incarnation = process.incarnation;
    let opened: SimStores | Promise<SimStores>;
    try {
      opened = s.storage.open();
    } catch (error) {
      opened = Promise.reject(error);
    }
    if (!(opened instanceof Promise)) {
      this.startNode(s, opened);
      return;
    }
    opened.then(
      (stores) => {
        if (process.incarnation === incarnation && process.alive) this.startNode(s, stores);
      },
      (error: unknown) => {
        if (process.incarnation !== incarnation) return;
        this.pendingError ??= new InvariantViolation(
          "no node failure",
          `${id} could not open its stores: ${String(error)}`,
        );
      },
    );
  }

  private startNode(s: SimNode, stores: SimStores): void {
    const { id, process } = s;
    s.fsm = new KvStateMachine({
      snapshotChunkSize: 40,
      onApply: (index, hash) => this.checker.onApply(id, index, hash),
    });
    const clock = process.clock();
    const fsm: FSM = {
      apply: (entry) => s.fsm.apply(entry),
      snapshot: () => s.fsm.snapshot(),
      restore: async (contents, meta) => {
        if (process.slowApplyUntil > this.scheduler.now)
          await sleep(clock, process.slowApplyDelayMs * 5);
        await s.fsm.restore(contents, meta);
        this.checker.onApply(id, s.fsm.lastIndex, s.fsm.stateHash);
      },
    };
    const node = createRaftNode({
      id,
      voters: this.ids,
      logStore: stores.logStore,
      stableStore: stores.stableStore,
      snapshotStore: stores.snapshotStore,
      transport: this.network.transport(id),
      fsm,
      tickIntervalMs,
      electionTicks,
      heartbeatTicks: 2,
      maxEntrySize,
      maxInflightMessages: this.scenario.maxInflightMessages,
      maxInflightBytes,
      maxBytesPerAppend: this.scenario.maxBytesPerAppend,
      maxUncommittedBytes: this.scenario.maxUncommittedBytes,
      snapshotThreshold: this.scenario.snapshotThreshold,
      trailingEntries: this.scenario.trailingEntries,
      trailingBytes: this.scenario.trailingBytes,
      snapshotThresholdBytes: this.scenario.snapshotThresholdBytes,
      snapshotChunkSize: this.scenario.snapshotChunkSize,
      snapshotWindow: this.scenario.snapshotWindow,
      restoreChunkSize: this.scenario.restoreChunkSize,
      diskStallTicks: this.scenario.diskStallTicks,
      forwardProposals: this.scenario.forwardedWrites > 0,
      maxApplyBatchBytes: 512,
      clock,
      random: () => this.rng.next(),
      logger: this.nodeLogger(id),
      unsafe: this.scenario.unsafe,
    });
    s.node = node;
    node.observe((event) => {
      if (event.type === "snapshotInstalled") {
        this.counts.installs++;
        this.trace(`${id} installed snapshot ${event.snapshot.index} from the leader`);
      } else if (event.type === "stateChange" && event.state === "leader") {
        this.stalls.newLeader(id, node);
      } else if (event.type === "diskStall") {
        this.trace(
          `${id} disk stall ${event.completed ? "over" : "noticed"} after ${Math.round(event.elapsedMs)} ms`,
        );
      }
    });
    node.start().then(
      () => {
        if (s.node === node) s.running = true;
      },
      (error: unknown) => {
        if (s.node !== node || !process.alive) return;
        this.pendingError = new InvariantViolation(
          "no node failure",
          `${id} failed to start: ${String(error)}`,
        );
      },
    );
  }

  private crash(id: NodeId): void {
    const s = this.nodes.get(id) as SimNode;
    if (!s.process.alive) return;
    this.counts.crashes++;
    this.trace(`crash ${id}`);
    s.process.crash();
    s.storage.crash();
    s.running = false;
    this.checker.forget(id);
  }

  private restart(id: NodeId): void {
    const s = this.nodes.get(id) as SimNode;
    if (s.process.alive) return;
    this.trace(`restart ${id}`);
    s.process.restart();
    this.createNode(id);
  }

  // ---- faults -----------------------------------------------------------------------------

  private scheduleFaults(): void {
    const tick = () => {
      if (!this.chaos) return;
      this.injectFault();
      this.scheduler.after(this.scenario.faultIntervalMs, tick);
    };
    this.scheduler.after(this.scenario.faultIntervalMs, tick);
  }

  private injectFault(): void {
    const r = this.faultRng;
    const sc = this.scenario;
    const live = this.ids.filter((id) => this.processes.get(id)?.alive === true);
    if (r.chance(sc.partitionRate) && !this.network.partitioned) this.partition();
    if (r.chance(sc.crashRate) && live.length > 0) {
      const id = r.pick(live);
      this.crash(id);
      this.scheduler.after(r.range(20, 800), () => {
        if (this.chaos) this.restart(id);
      });
    }
    if (r.chance(sc.pauseRate) && live.length > 0) {
      const id = r.pick(live);
      const process = this.processes.get(id) as SimProcess;
      const ms = r.range(100, 450);
      process.pausedUntil = Math.max(process.pausedUntil, this.scheduler.now + ms);
      this.counts.pauses++;
      this.trace(`pause ${id} for ${Math.round(ms)} ms`);
    }
    if (r.chance(sc.slowApplyRate) && live.length > 0) {
      const process = this.processes.get(r.pick(live)) as SimProcess;
      process.slowApplyUntil = this.scheduler.now + r.range(200, 1000);
      process.slowApplyDelayMs = r.range(5, 60);
      this.trace(`slow apply on ${process.id}`);
    }
    if (r.chance(sc.snapshotRate) && live.length > 0) {
      const s = this.nodes.get(r.pick(live)) as SimNode;
      if (s.running) s.node.snapshot().catch(() => undefined);
    }
    if (this.restoreRng.chance(sc.restoreRate)) this.restoreSnapshot();
    if (this.stalls.rng.chance(sc.leaderDiskStallRate)) {
      const leader = [...this.nodes.values()].find((s) => s.running && s.node.state === "leader");
      const stall = leader === undefined ? undefined : this.stalls.stall(leader.id, leader.storage);
      if (stall !== undefined)
        this.trace(`stall ${stall.node}'s disk for ${Math.round(stall.forMs)} ms`);
    }
    if (r.chance(sc.transferRate)) {
      const leader = live
        .map((id) => this.nodes.get(id) as SimNode)
        .find((s) => s.running && s.node.state === "leader");
      if (leader !== undefined) {
        this.trace(`transfer leadership away from ${leader.id}`);
        leader.node.transferLeadership().catch(() => undefined);
      }
    }
  }

  /**
   * A client restores a snapshot through the node it finds leading: a state of the keys in use
   * (some set, some absent), padded so that it takes several chunk entries; one in five is not
   * a snapshot at all, which every state machine must refuse alike. Faults go on meanwhile.
   */
  private restoreSnapshot(): void {
    const r = this.restoreRng;
    const leader = [...this.nodes.values()].find((s) => s.running && s.node.state === "leader");
    if (leader === undefined) return;
    const n = this.workload.stats.restores + 1;
    if (r.chance(0.2)) {
      this.trace(`restore of contents that are not a snapshot through ${leader.id}`);
      this.workload.restore(
        leader.id,
        new TextEncoder().encode(`garbage ${n}`.repeat(r.int(1, 40))),
        undefined,
      );
      return;
    }
    const era = Math.floor(this.scheduler.now / 600);
    const data = new Map<string, string>();
    for (let k = Math.max(0, era - 1); k < era + 5; k++) {
      if (r.chance(0.6)) data.set(`k${k}`, `restored${n}-k${k}`);
    }
    for (let p = r.int(0, 30); p > 0; p--) data.set(`pad${p}`, "p".repeat(40));
    const contents = KvStateMachine.encodeSnapshot(data, r.int(0, 2 ** 31));
    this.trace(`restore of ${contents.byteLength} bytes (${data.size} keys) through ${leader.id}`);
    this.workload.restore(leader.id, contents, data);
  }

  private partition(): void {
    const r = this.faultRng;
    const ids = this.ids;
    const kind = r.int(0, 4);
    const shuffled = [...ids].sort(() => r.next() - 0.5);
    let description: string;
    if (kind === 0) {
      const alone = r.pick(ids);
      for (const other of ids) {
        if (other === alone) continue;
        this.network.cut(alone, other);
        this.network.cut(other, alone);
      }
      description = `isolate ${alone}`;
    } else if (kind === 1) {
      const size = r.int(1, Math.ceil(ids.length / 2));
      const group = new Set(shuffled.slice(0, size));
      for (const a of ids)
        for (const b of ids) if (group.has(a) !== group.has(b)) this.network.cut(a, b);
      description = `split ${[...group].join(",")} | rest`;
    } else if (kind === 2) {
      const [a, b] = shuffled as [NodeId, NodeId];
      this.network.cut(a, b);
      description = `one-way cut ${a} -> ${b}`;
    } else {
      // A bridge: a and c cannot talk, b talks to both.
      const [a, , c] = shuffled as [NodeId, NodeId, NodeId];
      this.network.cut(a, c);
      this.network.cut(c, a);
      description = `cut ${a} <-> ${c} (bridged)`;
    }
    this.counts.partitions++;
    this.trace(`partition: ${description}`);
    this.scheduler.after(r.range(100, 1500), () => {
      if (!this.chaos) return;
      this.network.heal();
      this.trace("partition healed");
    });
  }

  /** Ends the chaos: every fault is removed, every node runs. */
  private heal(): void {
    this.chaos = false;
    this.stalls.heal();
    this.trace("heal: faults off, every node up");
    this.network.heal();
    Object.assign(this.network.faults, { loss: 0, duplicate: 0, longDelay: 0, corrupt: 0 });
    for (const id of this.ids) {
      const process = this.processes.get(id) as SimProcess;
      process.pausedUntil = 0;
      process.slowApplyUntil = 0;
      (this.nodes.get(id) as SimNode).storage.heal();
      if (!process.alive) this.restart(id);
    }
  }

  // ---- liveness ---------------------------------------------------------------------------

  private async checkLiveness(deadline: number): Promise<void> {
    const electionMs = electionTicks * tickIntervalMs;
    const stable = await this.drive(
      () => this.stableLeader() !== undefined,
      this.scheduler.now + 20 * electionMs,
    );
    if (!stable) {
      throw new InvariantViolation(
        "liveness",
        "no stable leader within 20 election timeouts after healing",
      );
    }
    // A fresh write and a linearizable read on every node must succeed. A write refused for
    // now (a transfer the chaos started just before healing) is retried, as a client would.
    const writeDeadline = Math.min(deadline, this.scheduler.now + 10 * electionMs);
    let wrote = false;
    while (!wrote && this.scheduler.now < writeDeadline) {
      const leader = this.stableLeader();
      let settled = false;
      leader?.node.apply(encodeCommand({ op: "put", key: "final", value: "done" })).then(
        () => {
          wrote = true;
        },
        () => {
          settled = true;
        },
      );
      if (leader === undefined) settled = true;
      await this.drive(() => wrote || settled, writeDeadline);
      if (!wrote)
        await this.drive(() => false, Math.min(writeDeadline, this.scheduler.now + tickIntervalMs));
    }
    if (!wrote) {
      throw new InvariantViolation(
        "liveness",
        "no leader could commit a write within 10 election timeouts of healing",
      );
    }
    // Every node must serve a linearizable read; a read refused for now is retried.
    const readDeadline = this.scheduler.now + 10 * electionMs;
    const readOk = new Set<NodeId>();
    const readErrors = new Map<NodeId, string>();
    while (readOk.size < this.ids.length && this.scheduler.now < readDeadline) {
      let settled = 0;
      const asked = this.ids.filter((id) => !readOk.has(id));
      for (const id of asked) {
        (this.nodes.get(id) as SimNode).node.readIndex().then(
          () => {
            readOk.add(id);
            settled++;
          },
          (error: unknown) => {
            readErrors.set(id, String(error));
            settled++;
          },
        );
      }
      await this.drive(() => settled === asked.length, readDeadline);
      if (readOk.size < this.ids.length) {
        await this.drive(() => false, Math.min(readDeadline, this.scheduler.now + tickIntervalMs));
      }
    }
    if (readOk.size < this.ids.length) {
      const missing = this.ids.filter((id) => !readOk.has(id));
      throw new InvariantViolation(
        "liveness",
        `linearizable reads did not succeed on ${missing.join(", ")} within 10 election timeouts of healing (last error: ${missing.map((id) => readErrors.get(id) ?? "none, still pending").join("; ")}) (${this.summary()})`,
      );
    }
    this.workload.stop();
    const converged = await this.drive(
      () => this.converged() && this.workload.inFlight === 0,
      deadline + 2000,
    );
    if (!converged) {
      throw new InvariantViolation(
        "liveness",
        `nodes did not converge after healing (${this.summary()})`,
      );
    }
  }

  private summary(): string {
    return [...this.nodes.values()]
      .map((s) => {
        const st = s.node.stats();
        const peers = Object.entries(st.peers)
          .map(
            ([id, p]) =>
              `${id} ${p.state} match ${p.match} next ${p.next} inflight ${p.inflightMessages}`,
          )
          .join(", ");
        const core = inspectNode(s.node).core;
        const persisted = core === undefined ? "" : ` persisted ${core.log.persisted}`;
        return `${s.id}: ${st.state} term ${st.term} last ${st.lastIndex}${persisted} commit ${st.commitIndex} applied ${st.appliedIndex}${peers === "" ? "" : ` [${peers}]`}`;
      })
      .join("; ");
  }

  private stableLeader(): SimNode | undefined {
    const all = [...this.nodes.values()];
    if (!all.every((s) => s.running)) return undefined;
    const leaders = all.filter((s) => s.node.state === "leader");
    const leader = leaders[0];
    if (leaders.length !== 1 || leader === undefined) return undefined;
    return all.every((s) => s.node.leader === leader.id) ? leader : undefined;
  }

  private converged(): boolean {
    const all = [...this.nodes.values()];
    if (!all.every((s) => s.running)) return false;
    const stats = all.map((s) => s.node.stats());
    const first = stats[0];
    if (first === undefined) return false;
    return stats.every(
      (st, i) =>
        st.lastIndex === first.lastIndex &&
        st.commitIndex === first.lastIndex &&
        st.appliedIndex === first.lastIndex &&
        (all[i] as SimNode).fsm.stateHash === (all[0] as SimNode).fsm.stateHash,
    );
  }

  // ---- driving ----------------------------------------------------------------------------

  /** Runs events until `done()` or virtual time `deadline`. Returns whether `done()` held. */
  private async drive(done: () => boolean, deadline: number): Promise<boolean> {
    for (;;) {
      if (this.pendingError !== undefined) throw this.pendingError;
      if (this.workload.violation !== undefined) throw this.workload.violation;
      if (done()) return true;
      const next = this.scheduler.peekTime();
      if (next === undefined || next > deadline) {
        this.scheduler.now = Math.max(this.scheduler.now, deadline);
        return done();
      }
      this.scheduler.step();
      // Let every promise continuation of this event run before the next event.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const views = this.views();
      this.checker.step(views);
      if (++this.steps % 500 === 0) this.checker.deep(views);
    }
  }

  private views(): CheckedNode[] {
    const out: CheckedNode[] = [];
    for (const s of this.nodes.values()) {
      if (s.node === undefined) continue;
      out.push({
        id: s.id,
        alive: s.process.alive && inspectNode(s.node).core !== undefined,
        node: s.node,
      });
    }
    return out;
  }

  // ---- tracing ----------------------------------------------------------------------------

  private trace(line: string): void {
    this.traceLines.push(`${this.scheduler.now.toFixed(1).padStart(8)} ms  ${line}`);
    if (this.traceLines.length > 300) this.traceLines.shift();
  }

  private nodeLogger(id: NodeId): Logger {
    const log = (level: string) => (fields: object, message?: string) => {
      const { node: _node, err, ...rest } = fields as Record<string, unknown>;
      const detail = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : "";
      const error = err === undefined ? "" : ` (${String(err)})`;
      this.trace(`${id} ${level} ${message ?? ""}${detail}${error}`);
    };
    return { debug: () => {}, info: log("info"), warn: log("warn"), error: log("error") };
  }
}
