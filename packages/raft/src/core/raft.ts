import { createEntry } from "../checksum.js";
import { decodeConfig } from "../config-codec.js";
import { InconsistentStateError } from "../errors.js";
import type { ClusterConfig, Entry, HardState, NodeId, SnapshotMeta } from "../log-types.js";
import { EntryType } from "../log-types.js";
import type {
  AppendMessage,
  AppendResponseMessage,
  HeartbeatMessage,
  HeartbeatResponseMessage,
  Message,
  ProposalRefusal,
  ProposedEntry,
  ProposeMessage,
  ProposeResponseMessage,
  ReadIndexResponseMessage,
  SnapshotChunkMessage,
  SnapshotChunkResponseMessage,
  VoteMessage,
  VoteResponseMessage,
} from "../messages.js";
import { validateMessage } from "../validate-message.js";
import type { CoreConfig } from "./core-config.js";
import { Progress } from "./progress.js";
import { committedIndex, hasQuorum, voteOutcome } from "./quorum.js";
import { RaftLog } from "./raft-log.js";
import { ReadOnlyQueue, type ReadRequester } from "./read-only.js";
import type { NodeState, ReadState, Ready, SoftState } from "./ready.js";

/** What a node loads from stable storage to build its core. */
export interface CoreStorage {
  readonly hardState: HardState;
  /** The latest snapshot, or index 0 / term 0 with the initial configuration. */
  readonly snapshot: SnapshotMeta;
  readonly compactedIndex: number;
  readonly entries: readonly Entry[];
}

/** A proposal to append: its type and opaque data. */
export interface Proposal {
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** The outcome of `propose`. A leader may accept a prefix of the proposals and refuse the rest. */
export type ProposeResult =
  | { readonly ok: false; readonly reason: "not-leader"; readonly leader: NodeId | undefined }
  | {
      readonly ok: true;
      readonly term: number;
      readonly firstIndex: number;
      readonly accepted: number;
      /** Set when `accepted` is less than the number of proposals. */
      readonly refused?: {
        readonly reason: "uncommitted-limit" | "leadership-transfer";
        readonly detail: string;
      };
    };

/** A read-only view of one follower's replication state, for stats and tests. */
export interface PeerStatus {
  readonly match: number;
  readonly next: number;
  readonly state: "probe" | "replicate" | "snapshot";
  readonly inflightMessages: number;
  readonly inflightBytes: number;
  readonly recentActive: boolean;
}

type CampaignKind = "pre-vote" | "election" | "transfer";

/** A configuration and the entry (or snapshot) that carries it. */
interface ConfigRecord {
  readonly index: number;
  readonly term: number;
  readonly config: ClusterConfig;
}

/**
 * The Raft protocol as a deterministic state machine, in the shape of etcd-io/raft: the runtime
 * feeds it messages (`step`), time (`tick`) and requests (`propose`, `readIndex`, …), takes the
 * resulting work as a `Ready`, and reports back what became durable (`persisted`) and applied
 * (`applied`). It performs no I/O, reads no clock and draws randomness only from its config, so
 * the same inputs always give the same outputs.
 */
export class RaftCore {
  readonly id: NodeId;
  readonly log: RaftLog;
  term = 0;
  vote: NodeId = "";
  state: NodeState = "follower";
  leader: NodeId | undefined;
  /** The latest configuration in the log (or snapshot): who votes and who receives the log. */
  config: ClusterConfig;
  /** Config entries in the retained log, oldest first, to answer `configAt`. */
  private configHistory: ConfigRecord[];
  readonly progress = new Map<NodeId, Progress>();
  /**
   * Set when this node finds that it lost entries it had acknowledged (see `handleHeartbeat`):
   * from then on it takes no message, and the runtime stops the node with this error.
   */
  lostAcknowledgedEntries: InconsistentStateError | undefined;
  private votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  /** Heartbeat intervals elapsed as leader: the stall check runs once per interval. */
  private heartbeatRounds = 0;
  private randomizedElectionTimeout = 0;
  /** Set while a leadership transfer to this node is in progress. */
  leadTransferee: NodeId | undefined;
  /** Entry bytes appended in this leader's term and not yet committed. */
  uncommittedBytes = 0;
  private readonly readOnly = new ReadOnlyQueue();
  private readSeq = 0;
  private readBatch: ReadRequester[] = [];
  private readsAwaitingTermCommit: ReadRequester[] = [];

  private messages: Message[] = [];
  private messagesAfterPersist: Message[] = [];
  private readStates: ReadState[] = [];
  private failedReads: number[] = [];
  private snapshotsToSend: { to: NodeId; snapshot: SnapshotMeta }[] = [];
  private snapshotChunks: SnapshotChunkMessage[] = [];
  private snapshotResponses: SnapshotChunkResponseMessage[] = [];
  private proposals: ProposeMessage[] = [];
  private proposeResponses: ProposeResponseMessage[] = [];
  private prevHardState: HardState;
  private prevSoftState: SoftState;
  private readonly cfg: CoreConfig;

  constructor(cfg: CoreConfig, storage: CoreStorage) {
    if (cfg.heartbeatTicks <= 0 || cfg.electionTicks <= cfg.heartbeatTicks) {
      throw new Error(
        `expected 0 < heartbeatTicks < electionTicks, found ${cfg.heartbeatTicks} and ${cfg.electionTicks}`,
      );
    }
    this.cfg = cfg;
    this.id = cfg.id;
    this.log = new RaftLog(storage.snapshot, storage.compactedIndex, storage.entries);
    this.term = storage.hardState.term;
    this.vote = storage.hardState.vote;
    this.prevHardState = storage.hardState;
    const snapshot = storage.snapshot;
    this.configHistory = [{ index: snapshot.index, term: snapshot.term, config: snapshot.config }];
    this.config = snapshot.config;
    this.trackConfigEntries(storage.entries.filter((e) => e.index > snapshot.index));
    this.resetRandomizedElectionTimeout();
    this.prevSoftState = this.softState();
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs
  // ---------------------------------------------------------------------------------------------

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.state === "leader") this.tickLeader();
    else this.tickElection();
  }

  /**
   * Handles a message from a peer. A malformed message, one not addressed to this node, or one
   * from a node outside the configuration is dropped with a logged reason; nothing a peer sends
   * can corrupt the state or throw.
   */
  step(message: unknown): void {
    if (this.lostAcknowledgedEntries !== undefined) return;
    const problem = validateMessage(message);
    if (problem !== undefined) {
      this.cfg.logger.warn({ node: this.id, problem }, "dropped a malformed message");
      return;
    }
    const m = message as Message;
    if (m.to !== this.id) {
      this.cfg.logger.warn(
        { node: this.id, to: m.to, from: m.from },
        "dropped a misrouted message",
      );
      return;
    }
    if (m.from === this.id || !this.isMember(m.from)) {
      this.cfg.logger.warn(
        { node: this.id, from: m.from, type: m.type },
        "dropped a message from a node outside the configuration",
      );
      return;
    }
    if (!this.handleTerm(m)) return;
    if (m.type === "vote") {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.state) {
      case "leader":
        this.stepLeader(m);
        break;
      case "candidate":
      case "pre-candidate":
        this.stepCandidate(m);
        break;
      case "follower":
        this.stepFollower(m);
        break;
    }
  }

  /**
   * Appends proposals to the leader's log. Refuses all of them when not leader or while
   * transferring leadership, and refuses those that would push uncommitted bytes past the limit
   * (always accepting one when nothing is uncommitted, so a single large proposal can pass).
   */
  propose(proposals: readonly Proposal[]): ProposeResult {
    if (this.state !== "leader") return { ok: false, reason: "not-leader", leader: this.leader };
    const term = this.term;
    const firstIndex = this.log.lastIndex() + 1;
    if (this.leadTransferee !== undefined) {
      const detail = `leadership is being transferred to ${this.leadTransferee}`;
      return {
        ok: true,
        term,
        firstIndex,
        accepted: 0,
        refused: { reason: "leadership-transfer", detail },
      };
    }
    const entries: Entry[] = [];
    let refused: { reason: "uncommitted-limit"; detail: string } | undefined;
    for (const proposal of proposals) {
      const size = proposal.data.byteLength;
      const limit = this.cfg.maxUncommittedBytes;
      if (this.uncommittedBytes > 0 && this.uncommittedBytes + size > limit) {
        refused = {
          reason: "uncommitted-limit",
          detail: `${this.uncommittedBytes} bytes are uncommitted, and ${size} more would exceed the limit of ${limit}`,
        };
        break;
      }
      this.uncommittedBytes += size;
      entries.push(createEntry(firstIndex + entries.length, term, proposal.type, proposal.data));
    }
    if (entries.length > 0) this.appendAsLeader(entries);
    return refused === undefined
      ? { ok: true, term, firstIndex, accepted: entries.length }
      : { ok: true, term, firstIndex, accepted: entries.length, refused };
  }

  /**
   * Sends proposals made on this follower to its leader under `context` (unique per request),
   * as etcd's MsgProp. The leader's answer comes back in `Ready.proposeResponses`. Returns false
   * when this node is not a follower of a known leader.
   */
  forwardProposals(context: number, entries: readonly ProposedEntry[]): boolean {
    if (this.state !== "follower" || this.leader === undefined) return false;
    this.send({
      type: "propose",
      from: this.id,
      to: this.leader,
      term: this.term,
      context,
      entries,
    });
    return true;
  }

  /**
   * Appends the entries of followers' proposals (from `Ready.proposals`) as one `propose`, so
   * that each follower gets one append message for the lot, and answers each proposal with its
   * share of the outcome: where its entries went, and why any of them were refused.
   */
  proposeForwarded(messages: readonly ProposeMessage[]): void {
    const result = this.propose(messages.flatMap((m) => m.entries));
    let offset = 0;
    for (const m of messages) {
      if (!result.ok) {
        this.answerProposal(m, result);
        continue;
      }
      const accepted = Math.max(0, Math.min(m.entries.length, result.accepted - offset));
      const refused = accepted < m.entries.length ? (result.refused?.reason ?? "") : "";
      const index = result.firstIndex + offset;
      this.send(this.proposeResponse(m.from, m.context, index, accepted, refused));
      offset += m.entries.length;
    }
  }

  /**
   * Answers a follower's proposal (one of `Ready.proposals`) with what `propose` made of it, or
   * with a refusal decided by the runtime.
   */
  answerProposal(
    m: ProposeMessage,
    outcome: ProposeResult | ProposalRefusal,
    maxEntrySize = 0,
  ): void {
    let index = 0;
    let accepted = 0;
    let refused: ProposalRefusal | "";
    if (typeof outcome === "string") refused = outcome;
    else if (!outcome.ok) refused = "not-leader";
    else {
      index = outcome.firstIndex;
      accepted = outcome.accepted;
      refused = outcome.refused?.reason ?? "";
    }
    this.send(this.proposeResponse(m.from, m.context, index, accepted, refused, maxEntrySize));
  }

  /**
   * Asks for a linearizable read index under `context` (unique per request). On a leader the
   * read is confirmed by the next heartbeat round (batched with others); on a follower it is
   * forwarded to the leader. Returns false when there is no leader to ask.
   */
  readIndex(context: number): boolean {
    if (this.state === "leader") {
      this.requestRead({ from: this.id, context });
      return true;
    }
    if (this.leader === undefined || this.state !== "follower") return false;
    this.send({ type: "readIndex", from: this.id, to: this.leader, term: this.term, context });
    return true;
  }

  /** Starts transferring leadership to `to`. Returns why it cannot, or undefined. */
  transferLeadership(to: NodeId): string | undefined {
    if (this.state !== "leader") return "not the leader";
    if (to === this.id) return "the target is already the leader";
    if (!this.config.voters.includes(to)) return `${to} is not a voter`;
    if (this.leadTransferee === to) return undefined;
    this.leadTransferee = to;
    // The transfer must finish within one election timeout, counted from now.
    this.electionElapsed = 0;
    const pr = this.progress.get(to) as Progress;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.maybeSendAppend(to, true);
    return undefined;
  }

  /**
   * A leader gives up leadership at once and follows no one, like a leader that lost its quorum
   * (check-quorum): the followers elect another leader once their election timeout passes.
   */
  stepDown(reason: string): void {
    if (this.state !== "leader") return;
    this.cfg.logger.warn({ node: this.id, term: this.term }, `stepped down: ${reason}`);
    this.becomeFollower(this.term, undefined);
  }

  /** Starts an election now (as a timeout would). For tests and operators. */
  campaign(): void {
    if (this.state !== "leader") this.startCampaign(this.cfg.preVote ? "pre-vote" : "election");
  }

  /** The transport could not deliver to `peer`: stop streaming to it until it answers. */
  reportUnreachable(peer: NodeId): void {
    const pr = this.progress.get(peer);
    if (this.state === "leader" && pr !== undefined && pr.state === "replicate") pr.becomeProbe();
  }

  /** The snapshot transfer to `peer` finished (installed) or failed. */
  reportSnapshot(peer: NodeId, installed: boolean): void {
    const pr = this.progress.get(peer);
    if (this.state !== "leader" || pr === undefined || pr.state !== "snapshot") return;
    if (!installed) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for the next heartbeat response before probing, as after any unanswered probe.
    pr.probeSent = true;
  }

  /**
   * A snapshot from the leader was received in full and is durable in the snapshot store.
   * Returns true when the node installs it (the log is replaced; the next Ready carries it),
   * false when it is not needed: the log already has that much committed, or already holds the
   * snapshot's last entry (then only the commit index moves).
   */
  restoreSnapshot(snapshot: SnapshotMeta): boolean {
    // Whatever this node's role now: a snapshot holds only committed entries, and storing it
    // takes time, during which a follower that hears nothing from its leader campaigns. A
    // (pre-)candidate refusing it would leave it in the store but not in the log, while the
    // runtime takes false for "not needed": the leader is told it was installed, later copies
    // are dismissed as already stored, and the follower never catches up. A leader needs none:
    // it holds every committed entry.
    if (this.state === "leader" || snapshot.index <= this.log.committed) return false;
    if (this.log.matchTerm(snapshot.index, snapshot.term)) {
      this.log.commitTo(snapshot.index);
      return false;
    }
    this.log.restore(snapshot);
    this.configHistory = [{ index: snapshot.index, term: snapshot.term, config: snapshot.config }];
    this.config = snapshot.config;
    if (this.leader !== undefined) {
      this.send(this.appendResponse(this.leader, true, snapshot.index));
    }
    return true;
  }

  /**
   * The runtime stored a snapshot of the applied state at `snapshot.index` and may compact the
   * log up to `compactTo` (at most the snapshot's index, and durable).
   */
  snapshotTaken(snapshot: SnapshotMeta, compactTo: number): void {
    this.log.setSnapshot(snapshot);
    this.compact(compactTo);
  }

  /** Drops log entries up to `index` (covered by the snapshot). */
  compact(index: number): void {
    const upTo = Math.min(index, this.log.snapshot.index, this.log.persisted);
    this.log.compact(upTo);
    while (this.configHistory.length > 1 && (this.configHistory[1]?.index ?? 0) <= upTo) {
      this.configHistory.shift();
    }
  }

  /** Entries up to (index, term) are durable in the log store, and so is every earlier write. */
  persisted(index: number, term: number): void {
    const before = this.log.persisted;
    this.log.stableTo(index, term);
    if (this.state === "leader" && this.log.persisted > before && this.maybeCommit()) {
      this.broadcastAppend(true);
    }
  }

  /** The state machine has applied every entry up to `index`. */
  applied(index: number): void {
    this.log.appliedTo(index);
  }

  // ---------------------------------------------------------------------------------------------
  // Outputs
  // ---------------------------------------------------------------------------------------------

  hasReady(): boolean {
    return (
      this.readBatch.length > 0 ||
      this.messages.length > 0 ||
      this.messagesAfterPersist.length > 0 ||
      this.log.hasEntriesToPersist() ||
      this.log.hasEntriesToApply() ||
      this.log.pendingSnapshot !== undefined ||
      this.readStates.length > 0 ||
      this.failedReads.length > 0 ||
      this.snapshotsToSend.length > 0 ||
      this.snapshotChunks.length > 0 ||
      this.snapshotResponses.length > 0 ||
      this.proposals.length > 0 ||
      this.proposeResponses.length > 0 ||
      this.hardStateChanged() ||
      this.softStateChanged()
    );
  }

  /** Takes the pending work. Everything it returns is handed out exactly once. */
  ready(): Ready {
    this.flushReadBatch();
    const soft = this.softState();
    const rd: Ready = {
      softState: this.softStateChanged() ? soft : undefined,
      hardState: this.hardStateChanged() ? { term: this.term, vote: this.vote } : undefined,
      snapshot: this.log.pendingSnapshot,
      entries: this.log.hasEntriesToPersist() ? this.log.takeEntriesToPersist() : [],
      committedEntries: this.log.hasEntriesToApply()
        ? this.log.takeEntriesToApply(this.cfg.maxApplyBytesPerReady)
        : [],
      messages: this.messages,
      messagesAfterPersist: this.messagesAfterPersist,
      readStates: this.readStates,
      failedReads: this.failedReads,
      snapshotsToSend: this.snapshotsToSend,
      snapshotChunks: this.snapshotChunks,
      snapshotResponses: this.snapshotResponses,
      proposals: this.proposals,
      proposeResponses: this.proposeResponses,
    };
    this.log.pendingSnapshot = undefined;
    if (rd.hardState !== undefined) this.prevHardState = rd.hardState;
    this.prevSoftState = soft;
    this.messages = [];
    this.messagesAfterPersist = [];
    this.readStates = [];
    this.failedReads = [];
    this.snapshotsToSend = [];
    this.snapshotChunks = [];
    this.snapshotResponses = [];
    this.proposals = [];
    this.proposeResponses = [];
    return rd;
  }

  softState(): SoftState {
    return { state: this.state, leader: this.leader, term: this.term };
  }

  /** The configuration in effect at `index` (the latest Config entry at or before it). */
  configAt(index: number): ClusterConfig {
    let config = (this.configHistory[0] as ConfigRecord).config;
    for (const item of this.configHistory) if (item.index <= index) config = item.config;
    return config;
  }

  /** The replication state of each peer, when leader. */
  peerStatus(): Map<NodeId, PeerStatus> {
    const out = new Map<NodeId, PeerStatus>();
    if (this.state !== "leader") return out;
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      out.set(id, {
        match: pr.match,
        next: pr.next,
        state: pr.state,
        inflightMessages: pr.inflights.count,
        inflightBytes: pr.inflights.bytes,
        recentActive: pr.recentActive,
      });
    }
    return out;
  }

  /** Whether this leader has committed an entry of its own term (its reads are then valid). */
  committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  // ---------------------------------------------------------------------------------------------
  // Terms and roles
  // ---------------------------------------------------------------------------------------------

  /** Applies the term rules to a message. Returns false when the message must go no further. */
  private handleTerm(m: Message): boolean {
    if (m.term > this.term) {
      if (m.type === "vote") {
        // A voter that hears from a live leader ignores campaigns (unless the leader itself
        // asked for one by transferring leadership), so a node that was partitioned away cannot
        // depose a healthy leader when it comes back.
        const inLease =
          this.cfg.checkQuorum &&
          this.leader !== undefined &&
          this.electionElapsed < this.cfg.electionTicks;
        if (inLease && !m.transfer) {
          this.cfg.logger.debug(
            { node: this.id, from: m.from, term: m.term },
            "ignored a vote request while in a live leader's lease",
          );
          return false;
        }
        // A pre-vote never changes the voter's term.
        if (m.preVote) return true;
      }
      // A granted pre-vote carries the term the candidate would campaign in: not a new term yet.
      if (m.type === "voteResponse" && m.preVote && m.granted) return true;
      const fromLeader =
        m.type === "append" || m.type === "heartbeat" || m.type === "snapshotChunk";
      this.becomeFollower(m.term, fromLeader ? m.from : undefined);
      return true;
    }
    if (m.term < this.term) {
      if (
        (this.cfg.checkQuorum || this.cfg.preVote) &&
        (m.type === "append" || m.type === "heartbeat" || m.type === "snapshotChunk")
      ) {
        // Tell a stale leader about the newer term, so it steps down rather than keep
        // sending to a node that ignores it.
        this.send(this.appendResponse(m.from, false, 0));
      } else if (m.type === "vote" && m.preVote) {
        this.send({
          type: "voteResponse",
          from: this.id,
          to: m.from,
          term: this.term,
          preVote: true,
          granted: false,
        });
      } else if (m.type === "readIndex") {
        // A read forwarded in an earlier term would otherwise wait forever: refuse it, so the
        // follower fails it at once (and learns the newer term).
        this.send(this.readIndexResponse(m.from, m.context, 0, false));
      } else if (m.type === "propose") {
        // Likewise a proposal: the follower learns the newer term and fails it at once.
        this.send(this.proposeResponse(m.from, m.context, 0, 0, "not-leader"));
      }
      return false;
    }
    return true;
  }

  private becomeFollower(term: number, leader: NodeId | undefined): void {
    this.reset(term);
    this.state = "follower";
    this.leader = leader;
  }

  private becomePreCandidate(): void {
    if (this.state === "leader") this.endLeadership();
    this.state = "pre-candidate";
    this.leader = undefined;
    this.votes = new Map();
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = "candidate";
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.state = "leader";
    this.leader = this.id;
    const next = this.log.lastIndex() + 1;
    for (const id of this.members()) {
      const pr = new Progress(next, this.cfg.maxInflightMessages, this.cfg.maxInflightBytes);
      if (id === this.id) {
        pr.match = this.log.persisted;
        pr.recentActive = true;
      }
      this.progress.set(id, pr);
    }
    // The no-op entry of the new term: until it commits the leader does not know the real
    // commit index, and may not serve reads (§8) nor commit earlier entries (Figure 8).
    this.appendAsLeader([createEntry(next, this.term, EntryType.NoOp, new Uint8Array(0))]);
    this.cfg.logger.info({ node: this.id, term: this.term }, "became leader");
  }

  /** Clears per-term state, moving to `term` (which clears the vote when it changes). */
  private reset(term: number): void {
    if (this.state === "leader") this.endLeadership();
    if (term !== this.term) {
      this.term = term;
      this.vote = "";
    }
    this.leader = undefined;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.votes = new Map();
    this.leadTransferee = undefined;
    this.uncommittedBytes = 0;
  }

  /** Leaves the leader role: pending reads cannot be confirmed any more. */
  private endLeadership(): void {
    const pending = [...this.readOnly.clear().flatMap((r) => r.requesters), ...this.readBatch];
    pending.push(...this.readsAwaitingTermCommit);
    this.readBatch = [];
    this.readsAwaitingTermCommit = [];
    for (const requester of pending) this.failRead(requester);
    this.progress.clear();
  }

  private resetRandomizedElectionTimeout(): void {
    const e = this.cfg.electionTicks;
    this.randomizedElectionTimeout = e + Math.floor(this.cfg.random() * e);
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.startCampaign(this.cfg.preVote ? "pre-vote" : "election");
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) {
        const active = hasQuorum(
          this.config.voters,
          (id) => id === this.id || this.progress.get(id)?.recentActive === true,
        );
        if (!active) {
          this.cfg.logger.warn(
            { node: this.id, term: this.term },
            "stepped down: no quorum heard from within an election timeout",
          );
          this.becomeFollower(this.term, undefined);
          return;
        }
        for (const [id, pr] of this.progress) pr.recentActive = id === this.id;
      }
      if (this.leadTransferee !== undefined) {
        this.cfg.logger.warn(
          { node: this.id, target: this.leadTransferee },
          "leadership transfer timed out",
        );
        this.leadTransferee = undefined;
      }
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.heartbeatRounds++;
      this.broadcastHeartbeat(this.readOnly.lastId());
    }
  }

  private promotable(): boolean {
    return this.config.voters.includes(this.id);
  }

  private startCampaign(kind: CampaignKind): void {
    if (!this.promotable()) return;
    let voteTerm: number;
    if (kind === "pre-vote") {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.votes.set(this.id, true);
    if (voteOutcome(this.config.voters, this.votes) === "won") {
      if (kind === "pre-vote") this.startCampaign("election");
      else this.becomeLeader();
      return;
    }
    for (const voter of this.config.voters) {
      if (voter === this.id) continue;
      this.send({
        type: "vote",
        from: this.id,
        to: voter,
        term: voteTerm,
        preVote: kind === "pre-vote",
        transfer: kind === "transfer",
        lastIndex: this.log.lastIndex(),
        lastTerm: this.log.lastTerm(),
      });
    }
  }

  private handleVoteRequest(m: VoteMessage): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === "" && this.leader === undefined) ||
      (m.preVote && m.term > this.term);
    const upToDate =
      this.cfg.unsafe?.skipVoteUpToDateCheck === true ||
      this.log.isUpToDate(m.lastIndex, m.lastTerm);
    if (canVote && upToDate) {
      this.send({
        type: "voteResponse",
        from: this.id,
        to: m.from,
        term: m.term,
        preVote: m.preVote,
        granted: true,
      });
      if (!m.preVote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({
        type: "voteResponse",
        from: this.id,
        to: m.from,
        term: this.term,
        preVote: m.preVote,
        granted: false,
      });
    }
  }

  private handleVoteResponse(m: VoteResponseMessage): void {
    if (m.preVote !== (this.state === "pre-candidate")) return;
    this.votes.set(m.from, m.granted);
    const outcome = voteOutcome(this.config.voters, this.votes);
    if (outcome === "won") {
      if (this.state === "pre-candidate") this.startCampaign("election");
      else {
        this.becomeLeader();
      }
    } else if (outcome === "lost") {
      this.becomeFollower(this.term, undefined);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Per-role message handling
  // ---------------------------------------------------------------------------------------------

  private stepLeader(m: Message): void {
    switch (m.type) {
      case "appendResponse":
        this.handleAppendResponse(m);
        break;
      case "heartbeatResponse":
        this.handleHeartbeatResponse(m);
        break;
      case "readIndex":
        this.requestRead({ from: m.from, context: m.context });
        break;
      case "propose":
        // The runtime decides (it may be restoring a snapshot) and answers with answerProposal.
        this.proposals.push(m);
        break;
      case "snapshotChunkResponse": {
        const pr = this.progress.get(m.from);
        if (pr !== undefined) pr.recentActive = true;
        this.snapshotResponses.push(m);
        break;
      }
      case "append":
      case "heartbeat":
      case "snapshotChunk":
        // Two leaders in one term would break election safety: report loudly, change nothing.
        this.cfg.logger.error(
          { node: this.id, from: m.from, term: m.term, type: m.type },
          "another node claims leadership of this leader's term",
        );
        break;
      default:
        break;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "voteResponse":
        this.handleVoteResponse(m);
        break;
      case "append":
      case "heartbeat":
      case "snapshotChunk":
        // A leader of this term exists: follow it.
        this.becomeFollower(this.term, m.from);
        this.stepFollower(m);
        break;
      case "propose":
        this.send(this.proposeResponse(m.from, m.context, 0, 0, "not-leader"));
        break;
      default:
        break;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "append":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleAppend(m);
        break;
      case "heartbeat":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleHeartbeat(m);
        break;
      case "snapshotChunk":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.snapshotChunks.push(m);
        break;
      case "timeoutNow":
        this.cfg.logger.info(
          { node: this.id, from: m.from },
          "campaigning for leadership transfer",
        );
        this.startCampaign("transfer");
        break;
      case "readIndex":
        this.send(this.readIndexResponse(m.from, m.context, 0, false));
        break;
      case "readIndexResponse":
        if (m.success) this.readStates.push({ context: m.context, index: m.index });
        else this.failedReads.push(m.context);
        break;
      case "propose":
        this.send(this.proposeResponse(m.from, m.context, 0, 0, "not-leader"));
        break;
      case "proposeResponse":
        this.proposeResponses.push(m);
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Replication: follower side
  // ---------------------------------------------------------------------------------------------

  private handleAppend(m: AppendMessage): void {
    if (m.prevIndex < this.log.committed) {
      // Everything up to the commit index matches the leader's log (leader completeness):
      // acknowledge it rather than touch it.
      this.send(this.appendResponse(m.from, true, this.log.committed));
      return;
    }
    const lastNew = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.entries);
    if (lastNew !== undefined) {
      this.trackConfigEntries(m.entries);
      this.log.commitTo(Math.min(m.commit, lastNew));
      this.send(this.appendResponse(m.from, true, lastNew));
      return;
    }
    const hint = this.log.findConflictByTerm(
      Math.min(m.prevIndex, this.log.lastIndex()),
      m.prevTerm,
    );
    this.send({
      type: "appendResponse",
      from: this.id,
      to: m.from,
      term: this.term,
      success: false,
      index: m.prevIndex,
      hintIndex: hint.index,
      hintTerm: hint.term,
    });
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    // A heartbeat carries the commit index only as far as this node acknowledged having the log
    // (the leader's match for it), so a commit beyond its last index means it lost entries it
    // had persisted and acknowledged: its data directory was replaced, truncated or restored
    // from an old copy. It may also have forgotten its vote. Serving on would risk a second vote
    // in one term, or helping elect a leader that lacks acknowledged writes; stop instead (as
    // etcd does: "tocommit is out of range … was the raft log corrupted, truncated, or lost?").
    if (m.commit > this.log.lastIndex()) {
      this.lostAcknowledgedEntries = new InconsistentStateError(
        `this node's log ends at index ${this.log.lastIndex()}, but the leader ${m.from} (term ${m.term}) has it acknowledged up to index ${m.commit}: it lost entries it had persisted (its data directory was replaced, truncated or restored from an old copy). It stops rather than vote or serve without them.`,
      );
      this.cfg.logger.error(
        {
          node: this.id,
          leader: m.from,
          term: m.term,
          commit: m.commit,
          lastIndex: this.log.lastIndex(),
        },
        "lost acknowledged log entries; stopping",
      );
      return;
    }
    this.log.commitTo(m.commit);
    const response: HeartbeatResponseMessage = {
      type: "heartbeatResponse",
      from: this.id,
      to: m.from,
      term: this.term,
      context: m.context,
    };
    this.send(response);
  }

  /**
   * Keeps the configuration history in step with the log after `entries` were written: drops
   * configurations whose entry was truncated away, then adds those the new entries carry.
   */
  private trackConfigEntries(entries: readonly Entry[]): void {
    const top = () => this.configHistory[this.configHistory.length - 1] as ConfigRecord;
    while (this.configHistory.length > 1 && !this.log.matchTerm(top().index, top().term)) {
      this.configHistory.pop();
    }
    for (const entry of entries) {
      if (entry.type === EntryType.Config && entry.index > top().index) {
        const config = decodeConfig(entry.data);
        this.configHistory.push({ index: entry.index, term: entry.term, config });
      }
    }
    this.config = top().config;
  }

  // ---------------------------------------------------------------------------------------------
  // Replication: leader side
  // ---------------------------------------------------------------------------------------------

  private appendAsLeader(entries: Entry[]): void {
    this.log.append(entries);
    this.trackConfigEntries(entries);
    this.broadcastAppend(false);
    // A single voter commits as soon as its own write is durable (see `persisted`).
  }

  private handleAppendResponse(m: AppendResponseMessage): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (!m.success) {
      // Fast backtracking: skip the whole run of entries the follower's hint rules out.
      let probeFrom = m.hintIndex;
      if (m.hintTerm > 0) probeFrom = this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index;
      if (pr.maybeDecrTo(m.index, probeFrom)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.maybeSendAppend(m.from, false);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    // A probe answered at the known match also tells the leader where the follower is.
    const probeAnswered = pr.state === "probe" && pr.match === m.index;
    if (!pr.maybeUpdate(m.index) && !probeAnswered) {
      if (wasPaused && !pr.isPaused()) this.maybeSendAppend(m.from, false);
      return;
    }
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "replicate") pr.inflights.freeTo(m.index);

    if (this.maybeCommit()) this.broadcastAppend(true);
    else if (wasPaused) this.maybeSendAppend(m.from, false);
    // Keep the pipeline full while there is something to send and room in flight.
    while (this.maybeSendAppend(m.from, false)) {}
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(m.from);
    }
  }

  private handleHeartbeatResponse(m: HeartbeatResponseMessage): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    pr.probeSent = false;
    const lagging = pr.match < this.log.lastIndex();
    // Once per heartbeat interval: read rounds send heartbeats of their own, whose answers can
    // arrive back to back, with no time for appends in flight to be answered in between.
    if (pr.stallCheckRound !== this.heartbeatRounds) {
      pr.stallCheckRound = this.heartbeatRounds;
      if (pr.state === "replicate" && lagging && pr.match === pr.matchAtLastHeartbeat) {
        // The follower answers heartbeats but its match has not moved for a whole heartbeat
        // interval while it lags: appends (or their answers) were lost. Resend from what it is
        // known to hold, one probe at a time, rather than wait forever on messages in flight.
        pr.becomeProbe();
      }
      pr.matchAtLastHeartbeat = pr.match;
    }
    if (lagging) this.maybeSendAppend(m.from, false);
    if (m.context === 0) return;
    const read = this.readOnly.ack(m.context, m.from);
    if (read === undefined || !hasQuorum(this.config.voters, (id) => read.acks.has(id))) return;
    for (const released of this.readOnly.releaseTo(m.context)) {
      for (const requester of released.requesters) this.serveRead(requester, released.index);
    }
  }

  /** Advances the commit index to what a quorum holds, if that entry is of the current term. */
  private maybeCommit(): boolean {
    const index = committedIndex(this.config.voters, (id) =>
      id === this.id ? this.log.persisted : (this.progress.get(id)?.match ?? 0),
    );
    if (index <= this.log.committed) return false;
    // Figure 8: an entry of an earlier term is committed only indirectly, by committing an
    // entry of the current term after it; counting replicas of old entries is not enough.
    if (this.log.term(index) !== this.term && this.cfg.unsafe?.commitOldTermByCounting !== true) {
      return false;
    }
    const hadTermCommit = this.committedInTerm();
    for (let i = this.log.committed + 1; i <= index; i++) {
      const entry = this.log.entry(i);
      if (entry !== undefined && entry.term === this.term) {
        this.uncommittedBytes -= entry.data.byteLength;
      }
    }
    if (this.uncommittedBytes < 0) this.uncommittedBytes = 0;
    this.log.commitTo(index);
    if (!hadTermCommit && this.committedInTerm()) {
      for (const requester of this.readsAwaitingTermCommit) this.requestRead(requester);
      this.readsAwaitingTermCommit = [];
    }
    return true;
  }

  private broadcastAppend(sendIfEmpty: boolean): void {
    for (const id of this.progress.keys()) {
      if (id !== this.id) this.maybeSendAppend(id, sendIfEmpty);
    }
  }

  private broadcastHeartbeat(context: number): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      this.send({
        type: "heartbeat",
        from: this.id,
        to: id,
        term: this.term,
        commit: Math.min(pr.match, this.log.committed),
        context,
      });
    }
  }

  /**
   * Sends the next append to `to` if it is not paused. With `sendIfEmpty`, sends even without
   * new entries (to carry the commit index). Falls back to a snapshot when the entries it needs
   * are compacted away. Returns whether a message was sent.
   */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = this.log.slice(pr.next, this.log.lastIndex() + 1, this.cfg.maxBytesPerAppend);
    if (prevTerm === undefined || entries === undefined) {
      const snapshot = this.log.snapshot;
      pr.becomeSnapshot(snapshot.index);
      this.snapshotsToSend.push({ to, snapshot });
      this.cfg.logger.info(
        { node: this.id, peer: to, snapshot: snapshot.index },
        "peer needs compacted entries: sending a snapshot",
      );
      return false;
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({
      type: "append",
      from: this.id,
      to,
      term: this.term,
      prevIndex,
      prevTerm,
      entries,
      commit: this.log.committed,
    });
    if (entries.length > 0) {
      const last = (entries[entries.length - 1] as Entry).index;
      if (pr.state === "replicate") {
        let bytes = 0;
        for (const entry of entries) bytes += entry.data.byteLength;
        pr.next = last + 1;
        pr.inflights.add(last, bytes);
      } else {
        pr.probeSent = true;
      }
    }
    return true;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: "timeoutNow", from: this.id, to, term: this.term });
  }

  // ---------------------------------------------------------------------------------------------
  // Linearizable reads
  // ---------------------------------------------------------------------------------------------

  private requestRead(requester: ReadRequester): void {
    if (this.config.voters.length === 1 && this.config.voters[0] === this.id) {
      // A single voter is its own quorum: its commit index is the read index.
      if (this.committedInTerm()) this.serveRead(requester, this.log.committed);
      else this.readsAwaitingTermCommit.push(requester);
      return;
    }
    if (!this.committedInTerm() && this.cfg.unsafe?.readIndexBeforeTermCommit !== true) {
      // Until its no-op commits, a new leader's commit index may be behind entries that are
      // already committed: serving a read at it could return stale state.
      this.readsAwaitingTermCommit.push(requester);
      return;
    }
    this.readBatch.push(requester);
  }

  /** Starts one heartbeat round confirming every read requested since the last round. */
  private flushReadBatch(): void {
    if (this.readBatch.length === 0) return;
    if (this.state !== "leader") {
      for (const requester of this.readBatch) this.failRead(requester);
      this.readBatch = [];
      return;
    }
    const id = ++this.readSeq;
    this.readOnly.add({
      id,
      index: this.log.committed,
      requesters: this.readBatch,
      acks: new Set([this.id]),
    });
    this.readBatch = [];
    this.broadcastHeartbeat(id);
  }

  private serveRead(requester: ReadRequester, index: number): void {
    if (requester.from === this.id) this.readStates.push({ context: requester.context, index });
    else this.send(this.readIndexResponse(requester.from, requester.context, index, true));
  }

  private failRead(requester: ReadRequester): void {
    if (requester.from === this.id) this.failedReads.push(requester.context);
    else this.send(this.readIndexResponse(requester.from, requester.context, 0, false));
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------------------------

  private members(): NodeId[] {
    return [...this.config.voters, ...this.config.learners];
  }

  private isMember(id: NodeId): boolean {
    return this.config.voters.includes(id) || this.config.learners.includes(id);
  }

  private appendResponse(to: NodeId, success: boolean, index: number): AppendResponseMessage {
    return {
      type: "appendResponse",
      from: this.id,
      to,
      term: this.term,
      success,
      index,
      hintIndex: 0,
      hintTerm: 0,
    };
  }

  private readIndexResponse(
    to: NodeId,
    context: number,
    index: number,
    success: boolean,
  ): ReadIndexResponseMessage {
    return {
      type: "readIndexResponse",
      from: this.id,
      to,
      term: this.term,
      context,
      index,
      success,
    };
  }

  private proposeResponse(
    to: NodeId,
    context: number,
    index: number,
    accepted: number,
    refused: ProposalRefusal | "",
    maxEntrySize = 0,
  ): ProposeResponseMessage {
    return {
      type: "proposeResponse",
      from: this.id,
      to,
      term: this.term,
      context,
      index,
      accepted,
      refused,
      maxEntrySize,
    };
  }

  /**
   * Queues a message. Acknowledgements, votes and vote requests promise something about this
   * node's durable state (entries it holds, the vote it cast), so they wait until the Ready that
   * carries that state is persisted; everything a leader sends, and a follower's read request,
   * goes out at once.
   */
  private send(m: Message): void {
    switch (m.type) {
      case "append":
      case "heartbeat":
      case "timeoutNow":
      case "readIndexResponse":
      case "proposeResponse":
      // A follower's read request or proposal promises nothing about its own disk.
      case "readIndex":
      case "propose":
        this.messages.push(m);
        break;
      default:
        this.messagesAfterPersist.push(m);
        break;
    }
  }

  private hardStateChanged(): boolean {
    return this.term !== this.prevHardState.term || this.vote !== this.prevHardState.vote;
  }

  private softStateChanged(): boolean {
    const prev = this.prevSoftState;
    return prev.state !== this.state || prev.leader !== this.leader || prev.term !== this.term;
  }
}
