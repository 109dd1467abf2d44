import { checksum } from "../checksum.js";
import { sameConfig } from "../config-codec.js";
import type { PeerStatus, Proposal } from "../core/raft.js";
import { RaftCore } from "../core/raft.js";
import type { NodeState, Ready, SoftState } from "../core/ready.js";
import {
  LeadershipLostError,
  LeadershipTransferError,
  NotCommittedError,
  NotLeaderError,
  ProposalDroppedError,
  ProposalTooLargeError,
  RestoreInProgressError,
  ShutdownError,
  TimeoutError,
} from "../errors.js";
import { type Entry, EntryType, type NodeId, type SnapshotMeta } from "../log-types.js";
import type { Message, ProposeMessage } from "../messages.js";
import { Applier } from "./applier.js";
import { type CallOptions, guardCall } from "./call-guard.js";
import type { Clock, TimerHandle } from "./clock.js";
import { DiskWatch } from "./disk-watch.js";
import { Observers, type RaftEventListener } from "./events.js";
import {
  type ForwardedProposal,
  ForwardedProposals,
  RecentContexts,
} from "./forwarded-proposals.js";
import { type RaftNodeOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import { type Pending, ProposalTracker, type Waiter } from "./proposals.js";
import type { RaftNode, RaftStats } from "./raft-node.js";
import { ReadWaiters } from "./read-waiters.js";
import { type DirectProposal, Restorer } from "./restorer.js";
import { SnapshotReceiver } from "./snapshot-receiver.js";
import { SnapshotSender } from "./snapshot-sender.js";
import { Snapshotter } from "./snapshotter.js";
import { recoverState } from "./startup.js";

export type { CallOptions, RaftNode, RaftStats };

/** Creates a node; nothing happens until `start()`. Throws InvalidOptionsError on bad options. */
export function createRaftNode(options: RaftNodeOptions): RaftNode {
  return new RaftNodeImpl(resolveOptions(options));
}

/** What the simulation inspects inside a node (not part of the public API). */
export interface NodeInternals {
  readonly core: RaftCore | undefined;
  readonly appliedIndex: number;
  readonly lifecycle: Lifecycle;
  /** What stopped a failed node. */
  readonly failure: unknown;
  readonly storedSnapshot: SnapshotMeta | undefined;
  /** Starts an election now, as a timeout would (scripted scenarios). */
  campaign(): void;
}

/** Reads a node's internals, for the simulation's invariant checks. */
export function inspectNode(node: RaftNode): NodeInternals {
  return (node as RaftNodeImpl).internals();
}

type Lifecycle = "new" | "starting" | "running" | "stopped" | "failed";

/**
 * How many election timeouts a proposal forwarded by a follower may take to be applied, and
 * one left pending when its leader stepped down.
 */
const forwardedDeadlineElections = 10;

/**
 * The caller of an entry that was not applied: another term's entry was applied at its index
 * (it was certainly not committed), or a snapshot skipped it (nobody knows).
 */
function lostEntry(pending: Pending, how: "replaced" | "skipped"): void {
  pending.reject(
    how === "replaced"
      ? new NotCommittedError(
          `a newer leader committed another entry at index ${pending.index}, where this proposal was in term ${pending.term}`,
        )
      : new LeadershipLostError(`entry ${pending.index} was skipped by a snapshot`),
  );
}

/** A forwarded proposal's caller, when its leader changed before answering and may have placed it. */
const unplacedForwarded = () =>
  new LeadershipLostError("the leader changed before it placed a forwarded proposal");

/** A proposal on its way: in the batch, then (index and term set) in the tracker. */
interface BatchedProposal extends Proposal, Pending {}

interface TransferWaiter {
  readonly target: NodeId;
  readonly deadlineTick: number;
  readonly waiter: Waiter<NodeId>;
}

class RaftNodeImpl implements RaftNode {
  readonly id: NodeId;
  private readonly o: ResolvedOptions;
  private readonly clock: Clock;
  private core: RaftCore | undefined;
  private lifecycle: Lifecycle = "new";
  private failure: unknown;
  private stopping = false;
  private shuttingDown: Promise<void> | undefined;
  private appliedWaiters: { readonly index: number; readonly resolve: () => void }[] = [];
  /** The restore this leader is running, if any: other proposals are refused meanwhile. */
  private restorer: Restorer | undefined;
  private readonly diskWatch: DiskWatch;
  private started: Promise<void> | undefined;
  private readonly observers: Observers;
  private readonly proposals = new ProposalTracker();
  private readonly reads: ReadWaiters;
  /** Proposals made since the last pump: appended together (group commit). */
  private batch: BatchedProposal[] = [];
  /** Proposals made on this follower since the last pump: forwarded together. */
  private forwardBatch: ForwardedProposal[] = [];
  /** Forwarded proposals whose leader has not answered yet. */
  private readonly forwarded: ForwardedProposals;
  /** The contexts of the proposals followers forwarded here lately. */
  private readonly proposers = new RecentContexts();
  private pumpScheduled = false;
  private proposalFlushScheduled = false;
  private persistTail: Promise<void> = Promise.resolve();
  private storeLastIndex = 0;
  private readonly applier: Applier;
  private readonly snapshotter: Snapshotter;
  private tickTimer: TimerHandle | undefined;
  private ticks = 0;
  private readonly unreachable = new Set<NodeId>();
  private transfer: TransferWaiter | undefined;
  private softState: SoftState = { state: "follower", leader: undefined, term: 0 };
  /** The term of the last entry applied (or of the snapshot the state machine holds). */
  private appliedTerm = 0;
  private readonly sender: SnapshotSender;
  private readonly receiver: SnapshotReceiver;

  constructor(options: ResolvedOptions) {
    this.o = options;
    this.id = options.id;
    this.clock = options.clock;
    this.observers = new Observers(options.logger);
    this.reads = new ReadWaiters(options.random);
    this.forwarded = new ForwardedProposals(options.random);
    this.diskWatch = new DiskWatch({
      id: this.id,
      clock: options.clock,
      logger: options.logger,
      stallTicks: options.diskStallTicks,
      emit: (event) => this.observers.emit(event),
    });
    const send = (m: Message) => this.send(m);
    const term = () => this.core?.term ?? 0;
    this.sender = new SnapshotSender(
      {
        id: this.id,
        snapshotStore: options.snapshotStore,
        logger: options.logger,
        term,
        send,
        reportSnapshot: (peer, installed) => {
          this.core?.reportSnapshot(peer, installed);
          this.schedulePump();
        },
        snapshotDamaged: (snapshot) => this.snapshotter.replaceDamaged(snapshot),
      },
      {
        chunkSize: options.snapshotChunkSize,
        window: options.snapshotWindow,
        timeoutTicks: options.electionTicks,
      },
    );
    this.receiver = new SnapshotReceiver({
      id: this.id,
      snapshotStore: options.snapshotStore,
      logger: options.logger,
      term,
      send,
      committed: () => this.core?.log.committed ?? 0,
      commitReceived: (snapshot, sink) => this.snapshotter.commitReceived(snapshot, sink),
      install: (snapshot) => {
        const accepted = this.active() && (this.core?.restoreSnapshot(snapshot) ?? false);
        this.schedulePump();
        return accepted;
      },
    });
    this.snapshotter = new Snapshotter(
      {
        options,
        core: () => (this.active() ? this.core : undefined),
        appliedIndex: () => this.applier.appliedIndex,
        snapshotPoint: () => this.applier.snapshotPoint(),
        lastRestoreIndex: () => this.applier.lastRestoreIndex,
        sendingFloor: () => this.sender.minSnapshotIndex(),
        persistInOrder: (write) => this.persistInOrder(write),
        emit: (event) => this.observers.emit(event),
      },
      undefined,
    );
    this.applier = new Applier(
      {
        options,
        running: () => this.active(),
        exclusive: (fn) => this.snapshotter.exclusive(fn),
        configAt: (index) => this.core?.configAt(index) ?? { voters: [], learners: [] },
        entryApplied: (entry, result) => this.entryApplied(entry, result),
        userRestored: (meta, size) => this.userRestored(meta, size),
        batchApplied: (index, bytes) => this.batchApplied(index, bytes),
        restored: (snapshot) => this.restored(snapshot),
        fail: (error) => this.fail(error),
      },
      0,
    );
  }

  get leader(): NodeId | undefined {
    return this.core?.leader;
  }

  get term(): number {
    return this.core?.term ?? 0;
  }

  get state(): NodeState {
    return this.core?.state ?? "follower";
  }

  start(): Promise<void> {
    this.started ??= this.doStart();
    return this.started;
  }

  private async doStart(): Promise<void> {
    this.lifecycle = "starting";
    try {
      const recovered = await recoverState(this.o);
      const o = this.o;
      const core = new RaftCore(
        {
          id: o.id,
          electionTicks: o.electionTicks,
          heartbeatTicks: o.heartbeatTicks,
          preVote: o.preVote,
          checkQuorum: o.checkQuorum,
          maxInflightMessages: o.maxInflightMessages,
          maxInflightBytes: o.maxInflightBytes,
          maxBytesPerAppend: o.maxBytesPerAppend,
          maxUncommittedBytes: o.maxUncommittedBytes,
          maxApplyBytesPerReady: o.maxApplyBatchBytes,
          random: o.random,
          logger: o.logger,
          unsafe: o.unsafe,
        },
        recovered.storage,
      );
      if (this.stopping) throw new ShutdownError("shut down while starting");
      this.core = core;
      this.snapshotter.stored = recovered.snapshot;
      this.applier.appliedIndex = recovered.storage.snapshot.index;
      this.appliedTerm = recovered.storage.snapshot.term;
      this.storeLastIndex = core.log.lastIndex();
      this.softState = core.softState();
      if (
        !recovered.bootstrapped &&
        o.voters.length > 0 &&
        !sameConfig(core.config, { voters: o.voters, learners: [] })
      ) {
        o.logger.warn(
          { node: o.id, configured: o.voters, log: core.config.voters },
          "the voters option differs from the configuration in the log; the log wins",
        );
      }
      this.lifecycle = "running";
      o.transport.start({
        onMessage: (m) => this.onMessage(m),
        onUnreachable: (peer) => this.onUnreachable(peer),
      });
      this.scheduleTick();
      if (core.config.voters.length === 1 && core.config.voters[0] === o.id) core.campaign();
      this.schedulePump();
    } catch (error) {
      if (this.lifecycle === "starting") this.lifecycle = "failed";
      throw error;
    }
  }

  // -------------------------------------------------------------------------------------------
  // User calls
  // -------------------------------------------------------------------------------------------

  apply(data: Uint8Array, options: CallOptions = {}): Promise<unknown> {
    if (!(data instanceof Uint8Array)) {
      return Promise.reject(
        new TypeError(`expected data to be a Uint8Array, found ${typeof data}`),
      );
    }
    if (data.byteLength > this.o.maxEntrySize) {
      return Promise.reject(new ProposalTooLargeError(data.byteLength, this.o.maxEntrySize));
    }
    return this.propose({ type: EntryType.Normal, data }, options, "apply");
  }

  async barrier(options: CallOptions = {}): Promise<void> {
    await this.propose({ type: EntryType.NoOp, data: new Uint8Array(0) }, options, "barrier");
  }

  async verifyLeader(options: CallOptions = {}): Promise<void> {
    const core = this.requireRunning();
    if (core.state !== "leader") throw new NotLeaderError(core.leader);
    await this.read(options, true);
  }

  readIndex(options: CallOptions = {}): Promise<number> {
    return this.read(options, false);
  }

  transferLeadership(to?: NodeId): Promise<NodeId> {
    let core: RaftCore;
    try {
      core = this.requireRunning();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.beginTransfer(core, to);
  }

  /**
   * Starts a leadership transfer and waits (a bounded time) for its outcome. Callers check that
   * the node runs; shutdown calls it after refusing new calls, while the node still runs.
   */
  private beginTransfer(core: RaftCore, to: NodeId | undefined): Promise<NodeId> {
    if (core.state !== "leader") return Promise.reject(new NotLeaderError(core.leader));
    const target = to ?? this.pickTransferTarget(core);
    if (target === undefined) {
      return Promise.reject(new LeadershipTransferError(undefined, "there is no other voter"));
    }
    const problem = core.transferLeadership(target);
    if (problem !== undefined) return Promise.reject(new LeadershipTransferError(target, problem));
    this.transfer?.waiter.reject(new LeadershipTransferError(this.transfer.target, "superseded"));
    this.schedulePump();
    return new Promise<NodeId>((resolve, reject) => {
      this.transfer = {
        target,
        deadlineTick: this.ticks + 2 * this.o.electionTicks + 2,
        waiter: { resolve, reject },
      };
    });
  }

  async snapshot(): Promise<SnapshotMeta> {
    this.requireRunning();
    // A snapshot in progress may have captured the state before this call: wait, then take one.
    await this.snapshotter.settled();
    return this.snapshotter.take();
  }

  restore(contents: AsyncIterable<Uint8Array>, options: CallOptions = {}): Promise<number> {
    let core: RaftCore;
    try {
      core = this.requireRunning();
    } catch (error) {
      return Promise.reject(error);
    }
    if (core.state !== "leader") return Promise.reject(new NotLeaderError(core.leader));
    if (this.restorer !== undefined) return Promise.reject(new RestoreInProgressError());
    const term = core.term;
    // From here on other proposals are refused (flushProposals): the run must be contiguous.
    const restorer = new Restorer({
      options: this.o,
      propose: (t, type, data) => this.proposeDirect(t, type, data),
      leaderTerm: () =>
        this.active() && this.core?.state === "leader" ? this.core.term : undefined,
      leader: () => this.core?.leader,
      finished: (leftRunOpen) => {
        if (this.restorer === restorer) this.restorer = undefined;
        if (leftRunOpen) this.closeRestoreRun(term);
      },
    });
    this.restorer = restorer;
    return restorer.start(contents, term, options);
  }

  stats(): RaftStats {
    const core = this.core;
    const peers: Record<NodeId, PeerStatus> = {};
    if (core !== undefined) for (const [id, status] of core.peerStatus()) peers[id] = status;
    return {
      id: this.id,
      state: this.state,
      term: this.term,
      leader: this.leader,
      commitIndex: core?.log.committed ?? 0,
      appliedIndex: this.applier.appliedIndex,
      firstIndex: core?.log.firstIndex() ?? 1,
      lastIndex: core?.log.lastIndex() ?? 0,
      logBytes: core?.log.bytes() ?? 0,
      persistedIndex: core?.log.persisted ?? 0,
      snapshotIndex: this.snapshotter.stored?.index ?? 0,
      uncommittedBytes: core?.uncommittedBytes ?? 0,
      pendingProposals:
        this.proposals.size + this.batch.length + this.forwardBatch.length + this.forwarded.pending,
      pendingReads: this.reads.pending,
      snapshotTransfers: this.sender.active,
      restoreInProgress: this.restorer !== undefined,
      oldestWriteMs: this.diskWatch.oldestInFlightMs(),
      diskStalls: this.diskWatch.stalls,
      peers,
    };
  }

  observe(listener: RaftEventListener): () => void {
    return this.observers.add(listener);
  }

  shutdown(options: { readonly transferLeadership?: boolean } = {}): Promise<void> {
    this.shuttingDown ??= this.doShutdown(options.transferLeadership === true);
    return this.shuttingDown;
  }

  private async doShutdown(transferLeadership: boolean): Promise<void> {
    if (this.lifecycle === "stopped" || this.lifecycle === "failed") return;
    // From here on user calls are refused with ShutdownError, but the node keeps running (ticks,
    // messages, disk writes) until the handover below is over: `stopping` is not `stopped`.
    this.stopping = true;
    if (this.lifecycle === "starting") await this.started?.catch(() => undefined);
    const core = this.core;
    if (
      transferLeadership &&
      this.lifecycle === "running" &&
      core?.state === "leader" &&
      core.config.voters.length > 1
    ) {
      try {
        // Proposals made before the shutdown go into the log first: the transfer catches the
        // target up to them, and they commit with its first entry.
        this.pump();
        // Bounded: a transfer that does not finish within two election timeouts is abandoned.
        const leader = await this.beginTransfer(core, undefined);
        this.o.logger.info(
          { node: this.id, leader },
          `handed leadership over to ${leader} before shutting down`,
        );
        // Give the callers of entries committed here their results (applying needs no peer).
        await this.appliedUpTo(core.log.committed);
      } catch (error) {
        this.o.logger.warn({ node: this.id, err: error }, "leadership transfer on shutdown failed");
      }
    }
    // The node may have failed while handing over: fail() already stopped everything.
    if ((this.lifecycle as Lifecycle) === "failed" && this.failure !== undefined) return;
    this.lifecycle = "stopped";
    this.stop(() => new ShutdownError());
    await this.persistTail.catch(() => undefined);
    await this.receiver.close();
    await this.o.transport.close();
  }

  /** Resolves once the state machine applied `index`, or the node stopped. */
  private appliedUpTo(index: number): Promise<void> {
    if (this.applier.appliedIndex >= index || !this.active()) return Promise.resolve();
    return new Promise((resolve) => this.appliedWaiters.push({ index, resolve }));
  }

  private releaseAppliedWaiters(all: boolean): void {
    if (this.appliedWaiters.length === 0) return;
    const applied = this.applier.appliedIndex;
    const waiting: typeof this.appliedWaiters = [];
    for (const w of this.appliedWaiters) {
      if (all || w.index <= applied) w.resolve();
      else waiting.push(w);
    }
    this.appliedWaiters = waiting;
  }

  internals(): NodeInternals {
    return {
      core: this.core,
      appliedIndex: this.applier.appliedIndex,
      lifecycle: this.lifecycle,
      failure: this.failure,
      storedSnapshot: this.snapshotter.stored,
      campaign: () => {
        if (!this.active()) return;
        this.core?.campaign();
        this.schedulePump();
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Proposals and reads
  // -------------------------------------------------------------------------------------------

  private propose(proposal: Proposal, options: CallOptions, what: string): Promise<unknown> {
    let core: RaftCore;
    try {
      core = this.requireRunning();
    } catch (error) {
      return Promise.reject(error);
    }
    let batch = this.batch;
    let deadline = 0;
    if (core.state !== "leader") {
      if (!this.forwards(core) || proposal.type !== EntryType.Normal) {
        return Promise.reject(new NotLeaderError(core.leader));
      }
      batch = this.forwardBatch;
      deadline = this.ticks + forwardedDeadlineElections * this.o.electionTicks;
    }
    return new Promise((resolve, reject) => {
      const waiter = guardCall(this.clock, resolve, reject, options, what);
      if (waiter === undefined) return;
      // One object per proposal, from the batch to the tracker: this is the hot path.
      batch.push({
        type: proposal.type,
        data: proposal.data,
        index: 0,
        term: 0,
        deadline,
        resolve: waiter.resolve,
        reject: waiter.reject,
      });
      this.scheduleProposalFlush();
    });
  }

  private read(options: CallOptions, confirmOnly: boolean): Promise<number> {
    try {
      this.requireRunning();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<number>((resolve, reject) => {
      const what = confirmOnly ? "verifyLeader" : "readIndex";
      const waiter = guardCall(this.clock, resolve, reject, options, what);
      if (waiter === undefined) return;
      this.reads.add(waiter, confirmOnly);
      this.schedulePump();
    });
  }

  /**
   * Appends one entry now (a restore's), after any batched proposals are dealt with, and tracks
   * it like a proposal: `applied` settles with its apply result.
   */
  private proposeDirect(term: number, type: EntryType, data: Uint8Array): DirectProposal {
    const core = this.core;
    if (!this.active() || core === undefined || core.state !== "leader" || core.term !== term) {
      throw new NotLeaderError(core?.leader);
    }
    this.flushProposals(core);
    const result = core.propose([{ type, data }]);
    if (!result.ok) throw new NotLeaderError(result.leader);
    if (result.accepted === 0) {
      const refused = result.refused ?? { reason: "uncommitted-limit" as const, detail: "" };
      return { appended: false, reason: refused.reason, detail: refused.detail };
    }
    const applied = new Promise<unknown>((resolve, reject) => {
      this.proposals.add({ index: result.firstIndex, term, deadline: 0, resolve, reject });
    });
    this.schedulePump();
    return { appended: true, index: result.firstIndex, applied };
  }

  /**
   * A restore that stopped before its commit leaves a run of chunks open at the end of the
   * log; an empty entry ends it, so that nodes stop holding its contents.
   */
  private closeRestoreRun(term: number): void {
    const core = this.core;
    if (!this.active() || core?.state !== "leader" || core.term !== term) return;
    this.flushProposals(core);
    core.propose([{ type: EntryType.NoOp, data: new Uint8Array(0) }]);
    this.schedulePump();
  }

  private flushProposals(core: RaftCore): void {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    if (this.restorer !== undefined) {
      const refused = new ProposalDroppedError(
        "restore",
        "a snapshot is being restored onto the cluster",
      );
      for (const b of batch) b.reject(refused);
      return;
    }
    const result = core.propose(batch);
    if (!result.ok) {
      for (const b of batch) b.reject(new NotLeaderError(result.leader));
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const b = batch[i] as (typeof batch)[number];
      if (i < result.accepted) {
        b.index = result.firstIndex + i;
        b.term = result.term;
        this.proposals.add(b);
      } else {
        const refused = result.refused ?? {
          reason: "uncommitted-limit" as const,
          detail: "refused",
        };
        b.reject(new ProposalDroppedError(refused.reason, refused.detail));
      }
    }
  }

  /** Whether `apply` on this node forwards to a leader (a follower that knows one). */
  private forwards(core: RaftCore): boolean {
    return this.o.forwardProposals && core.state === "follower" && core.leader !== undefined;
  }

  /** A proposal the leader refused with others that were too large: it goes again, alone. */
  private readonly resendForwarded = (proposal: ForwardedProposal): void => {
    this.forwardBatch.push(proposal);
    this.scheduleProposalFlush();
  };

  /** Sends the proposals made on this follower since the last pump to its leader. */
  private flushForwarded(core: RaftCore): void {
    if (this.forwardBatch.length === 0) return;
    const batch = this.forwardBatch;
    this.forwardBatch = [];
    const leader = core.leader;
    if (!this.forwards(core) || leader === undefined) {
      for (const b of batch) b.reject(new NotLeaderError(leader));
      return;
    }
    // The leader appends the batch after every entry of its term this node has from it.
    const log = core.log;
    const above = Math.max(
      this.applier.appliedIndex,
      log.lastTerm() === core.term ? log.lastIndex() : 0,
    );
    const context = this.forwarded.add(this.ticks, leader, core.term, above, batch);
    // Plain data on the wire: the callers' functions stay here.
    core.forwardProposals(
      context,
      batch.map((b) => ({ type: b.type, data: b.data, checksum: checksum(b.data) })),
    );
  }

  /** Followers ask this leader to append entries: append them, or say why not. */
  private acceptForwarded(core: RaftCore, received: readonly ProposeMessage[]): void {
    // A transport delivers at most once, but a duplicate must never append the entries twice.
    const fresh = received.filter((m) => this.proposers.firstTime(m.from, m.context));
    // A follower configured with a larger limit must not get an entry into this leader's log
    // that the leader would refuse from its own callers (Consul's path checks it here too).
    const max = this.o.maxEntrySize;
    const messages = fresh.filter((m) => {
      if (m.entries.every((e) => e.data.byteLength <= max)) return true;
      core.answerProposal(m, "too-large", max);
      return false;
    });
    if (messages.length === 0) return;
    if (this.restorer !== undefined) {
      for (const m of messages) core.answerProposal(m, "restore");
      return;
    }
    // Proposals made here first, so each node's proposals keep their order among themselves.
    this.flushProposals(core);
    core.proposeForwarded(messages);
  }

  private flushReads(core: RaftCore): void {
    const batch = this.reads.takeBatch(this.ticks);
    if (batch === undefined) return;
    if (!core.readIndex(batch.context)) {
      this.reads.fail(batch.context, () => new NotLeaderError(core.leader));
    }
  }

  private pickTransferTarget(core: RaftCore): NodeId | undefined {
    let best: NodeId | undefined;
    let bestMatch = -1;
    for (const [id, status] of core.peerStatus()) {
      if (!core.config.voters.includes(id)) continue;
      const score = status.match + (status.recentActive ? 0.5 : 0);
      if (score > bestMatch) {
        best = id;
        bestMatch = score;
      }
    }
    return best;
  }

  // -------------------------------------------------------------------------------------------
  // Driving the core
  // -------------------------------------------------------------------------------------------

  private onMessage(message: Message): void {
    if (this.lifecycle !== "running") return;
    const from = (message as { from?: unknown } | null)?.from;
    if (typeof from === "string" && this.unreachable.delete(from)) {
      this.observers.emit({ type: "peerRecovered", peer: from });
    }
    this.core?.step(message);
    const lost = this.core?.lostAcknowledgedEntries;
    if (lost !== undefined) {
      this.fail(lost);
      return;
    }
    this.schedulePump();
  }

  private onUnreachable(peer: NodeId): void {
    if (this.lifecycle !== "running") return;
    this.core?.reportUnreachable(peer);
    if (!this.unreachable.has(peer)) {
      this.unreachable.add(peer);
      this.observers.emit({ type: "peerUnreachable", peer });
    }
    this.schedulePump();
  }

  private scheduleTick(): void {
    this.tickTimer = this.clock.setTimeout(() => this.onTick(), this.o.tickIntervalMs);
  }

  private onTick(): void {
    this.tickTimer = undefined;
    if (this.lifecycle !== "running") return;
    this.ticks++;
    this.core?.tick();
    this.sender.tick();
    this.checkTransfer();
    this.checkDisk();
    // A read unconfirmed after two election timeouts lost its request or its answer.
    this.reads.expire(
      this.ticks - 2 * this.o.electionTicks,
      () => new TimeoutError("readIndex", 2 * this.o.electionTicks * this.o.tickIntervalMs),
    );
    // A forwarded proposal's answer too; the proposal is then settled by what is applied here.
    this.forwarded.expire(
      this.ticks - 2 * this.o.electionTicks,
      this.applier.appliedIndex,
      this.appliedTerm,
      () =>
        new TimeoutError(
          "a forwarded proposal's placement",
          2 * this.o.electionTicks * this.o.tickIntervalMs,
        ),
    );
    // A proposal placed but never applied here (forwarded, or left when this node stopped
    // leading), or forwarded and left unanswered by a leader that changed, is given up on.
    const late = () =>
      new TimeoutError(
        "a proposal waiting on another leader",
        forwardedDeadlineElections * this.o.electionTicks * this.o.tickIntervalMs,
      );
    this.proposals.expire(this.ticks, late);
    this.forwarded.expireOrphans(this.ticks, late);
    this.schedulePump();
    this.scheduleTick();
  }

  /**
   * Proposals are appended (on a follower: sent to the leader) once the I/O at hand is handled,
   * not at the next microtask: the requests that arrived together then make one append message
   * per follower and one disk write (group commit), or one propose message. Any pump before
   * then takes them too.
   */
  private scheduleProposalFlush(): void {
    if (this.proposalFlushScheduled) return;
    this.proposalFlushScheduled = true;
    this.clock.setTimeout(() => {
      this.proposalFlushScheduled = false;
      this.pump();
    }, 0);
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const core = this.core;
    if (core === undefined || this.lifecycle !== "running") return;
    try {
      this.flushProposals(core);
      this.flushForwarded(core);
      this.flushReads(core);
      while (core.hasReady()) this.handleReady(core, core.ready());
    } catch (error) {
      this.fail(error);
    }
  }

  private handleReady(core: RaftCore, rd: Ready): void {
    if (rd.softState !== undefined) this.onSoftState(rd.softState);
    for (const m of rd.messages) this.send(m);
    this.persist(core, rd);
    if (rd.committedEntries.length > 0) this.applier.enqueueEntries(rd.committedEntries);
    for (const read of rd.readStates) {
      this.reads.confirmed(read.context, read.index, this.applier.appliedIndex);
    }
    for (const context of rd.failedReads) {
      this.reads.fail(
        context,
        () => new LeadershipLostError("the read could not be confirmed by a leader"),
      );
    }
    for (const { to, snapshot } of rd.snapshotsToSend) this.sender.start(to, snapshot);
    for (const chunk of rd.snapshotChunks) this.receiver.onChunk(chunk);
    for (const response of rd.snapshotResponses) this.sender.onResponse(response);
    if (rd.proposals.length > 0) this.acceptForwarded(core, rd.proposals);
    for (const m of rd.proposeResponses) {
      this.forwarded.answered(m, this.proposals, this.applier.appliedIndex, this.resendForwarded);
    }
  }

  /**
   * Issues the Ready's writes at once (stores apply calls in order) and, once they and every
   * earlier Ready's writes are durable, tells the core and sends what waited for them.
   */
  private persist(core: RaftCore, rd: Ready): void {
    const writes: Promise<unknown>[] = [];
    const o = this.o;
    if (rd.snapshot !== undefined) {
      writes.push(o.logStore.reset(rd.snapshot.index));
      this.storeLastIndex = rd.snapshot.index;
      this.applier.enqueueRestore(rd.snapshot);
    }
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) {
      const first = (rd.entries[0] as Entry).index;
      if (first <= this.storeLastIndex) writes.push(o.logStore.truncateAfter(first - 1));
      writes.push(o.logStore.append(rd.entries));
      this.storeLastIndex = last.index;
    }
    if (rd.hardState !== undefined) writes.push(o.stableStore.save(rd.hardState));
    const after = rd.messagesAfterPersist;
    if (writes.length === 0 && after.length === 0) return;
    const previous = this.persistTail;
    const write = writes.length === 0 ? undefined : this.diskWatch.begin(this.ticks);
    const durable = writes.length === 0 ? previous : Promise.all([previous, ...writes]);
    this.persistTail = durable.then(() => {
      if (write !== undefined) this.diskWatch.end(write);
      if (this.lifecycle !== "running") return;
      if (last !== undefined) core.persisted(last.index, last.term);
      for (const m of after) this.send(m);
      this.schedulePump();
    });
    this.persistTail.catch((error: unknown) => this.fail(error));
  }

  /** Issues a store write after every write issued before it; its failure stops the node. */
  private persistInOrder(write: () => Promise<unknown>): void {
    const id = this.diskWatch.begin(this.ticks);
    this.persistTail = Promise.all([this.persistTail, write()]).then(() => {
      this.diskWatch.end(id);
    });
    this.persistTail.catch((error: unknown) => this.fail(error));
  }

  private send(message: Message): void {
    try {
      this.o.transport.send(message);
    } catch (error) {
      // The protocol survives a lost message; a transport that throws is a bug to report.
      this.o.logger.error({ node: this.id, to: message.to, err: error }, "transport.send threw");
    }
  }

  private onSoftState(soft: SoftState): void {
    const previous = this.softState;
    this.softState = soft;
    if (previous.leader !== soft.leader) {
      this.observers.emit({ type: "leaderChange", leader: soft.leader, term: soft.term });
    }
    if (previous.leader !== soft.leader || previous.term !== soft.term) {
      // Reads forwarded to the leader of an earlier term will not be answered by the leader of
      // this one, even when it is the same node: fail them, the caller retries.
      this.reads.failUnconfirmed(
        () => new LeadershipLostError("the leader changed before the read was confirmed"),
      );
      // Likewise a forwarded proposal's answer; the old leader may have appended it all the
      // same, which the entries applied from now on tell.
      this.forwarded.orphanAll(this.applier.appliedIndex, this.appliedTerm, unplacedForwarded);
    }
    if (previous.state !== soft.state) {
      this.observers.emit({ type: "stateChange", state: soft.state, term: soft.term });
    }
    if (previous.state === "leader" && soft.state !== "leader") {
      // Entries this node appended may still be committed by the next leader, or be replaced:
      // their callers wait for the entries applied at their indexes to tell (within a bound).
      this.proposals.bound(this.ticks + forwardedDeadlineElections * this.o.electionTicks);
      this.restorer?.leadershipEnded();
      for (const b of this.batch) b.reject(new NotLeaderError(soft.leader));
      this.batch = [];
      this.sender.stopAll();
    }
    const transfer = this.transfer;
    if (transfer !== undefined && soft.leader !== undefined && soft.leader !== this.id) {
      this.transfer = undefined;
      if (soft.leader === transfer.target) transfer.waiter.resolve(soft.leader);
      else {
        transfer.waiter.reject(
          new LeadershipTransferError(transfer.target, `${soft.leader} became leader instead`),
        );
      }
    }
  }

  /**
   * A leader whose disk stalls cannot make new entries durable here, and holds on to leadership
   * with heartbeats all the same (hashicorp/raft#503): it hands leadership to the most
   * up-to-date follower (which it can still catch up from memory), and if it still leads once
   * the write has been stuck twice the bound, it steps down so the followers elect someone.
   * (It cannot win an election meanwhile: its vote requests wait for its own disk.)
   */
  private checkDisk(): void {
    const verdict = this.diskWatch.tick(this.ticks);
    const core = this.core;
    if (verdict === undefined || core?.state !== "leader" || core.config.voters.length < 2) return;
    if (verdict === "stalled") {
      const target = this.pickTransferTarget(core);
      const problem = target === undefined ? "no other voter" : core.transferLeadership(target);
      if (problem === undefined) {
        this.o.logger.warn(
          { node: this.id, target },
          "handing leadership over: this node's disk is stalled",
        );
        this.schedulePump();
        return;
      }
    }
    core.stepDown("this node's disk is stalled");
    this.schedulePump();
  }

  private checkTransfer(): void {
    const transfer = this.transfer;
    const core = this.core;
    if (transfer === undefined || core === undefined) return;
    const aborted = core.state === "leader" && core.leadTransferee === undefined;
    if (aborted || this.ticks > transfer.deadlineTick) {
      this.transfer = undefined;
      transfer.waiter.reject(
        new LeadershipTransferError(
          transfer.target,
          "the target did not take over within an election timeout",
        ),
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Applying (callbacks of the applier)
  // -------------------------------------------------------------------------------------------

  private entryApplied(entry: Entry, result: unknown): void {
    this.proposals.applied(entry.index, entry.term, result, lostEntry);
    this.forwarded.entryApplied(entry, unplacedForwarded);
    this.appliedTerm = entry.term;
  }

  private batchApplied(index: number, bytes: number): void {
    this.core?.applied(index);
    this.reads.appliedTo(index);
    this.snapshotter.bytesSinceSnapshot += bytes;
    this.snapshotter.maybeSnapshot();
    this.releaseAppliedWaiters(false);
    this.schedulePump();
  }

  private restored(snapshot: SnapshotMeta): void {
    this.snapshotter.bytesSinceSnapshot = 0;
    const skipped = () =>
      new LeadershipLostError(
        "a snapshot from the leader replaced the entry before it was applied here",
      );
    this.proposals.failRange(Number.NEGATIVE_INFINITY, snapshot.index, skipped);
    this.forwarded.skipped(skipped);
    this.appliedTerm = snapshot.term;
    this.core?.applied(snapshot.index);
    this.reads.appliedTo(snapshot.index);
    this.receiver.installed(snapshot);
    this.observers.emit({ type: "snapshotInstalled", snapshot });
    this.o.logger.info(
      { node: this.id, snapshot: snapshot.index },
      "installed a snapshot from the leader",
    );
    this.releaseAppliedWaiters(false);
    this.schedulePump();
  }

  private userRestored(meta: SnapshotMeta, size: number): void {
    this.snapshotter.bytesSinceSnapshot = 0;
    this.observers.emit({ type: "restored", index: meta.index, term: meta.term, size });
    this.o.logger.info(
      { node: this.id, index: meta.index, size },
      "restored a user snapshot committed at this index",
    );
    // The restored state becomes a snapshot at once: the log before it (the contents, once
    // more) can then go, and a lagging follower is sent the restored state. (A snapshot still
    // in flight was taken before the restore: wait for it rather than join it.)
    const snapshotter = this.snapshotter;
    void snapshotter
      .settled()
      .then(() => snapshotter.take())
      .catch((error: unknown) => {
        this.o.logger.error(
          { node: this.id, err: error },
          "taking a snapshot after a restore failed; the log is kept",
        );
      });
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle
  // -------------------------------------------------------------------------------------------

  private active(): boolean {
    return this.lifecycle === "running";
  }

  private requireRunning(): RaftCore {
    if (this.lifecycle === "failed") {
      throw new ShutdownError("the raft node stopped after a failure", { cause: this.failure });
    }
    if (this.stopping || this.lifecycle === "stopped") throw new ShutdownError();
    if (this.core === undefined || this.lifecycle !== "running") {
      throw new ShutdownError("the raft node is not started");
    }
    return this.core;
  }

  /** Fail-stop: a store or the state machine failed, so the node stops rather than guess. */
  private fail(error: unknown): void {
    if (this.lifecycle === "failed" || this.lifecycle === "stopped") return;
    this.failure = error;
    this.lifecycle = "failed";
    this.o.logger.error({ node: this.id, err: error }, "the raft node failed and stopped");
    this.stop(() => new ShutdownError("the raft node stopped after a failure", { cause: error }));
    void this.receiver.close();
    void this.o.transport.close().catch(() => undefined);
    this.observers.emit({
      type: "failed",
      error: error instanceof Error ? error : new Error(String(error)),
    });
  }

  /** Stops timers and rejects every pending call. */
  private stop(error: () => Error): void {
    if (this.tickTimer !== undefined) this.clock.clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
    for (const b of this.batch) b.reject(error());
    this.batch = [];
    for (const b of this.forwardBatch) b.reject(error());
    this.forwardBatch = [];
    this.forwarded.failAll(error);
    this.proposals.failRange(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, error);
    this.reads.failAll(error);
    this.transfer?.waiter.reject(error());
    this.transfer = undefined;
    this.sender.stopAll();
    this.applier.clear();
    this.releaseAppliedWaiters(true);
  }
}
