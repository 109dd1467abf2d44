import type { RaftCore } from "../core/raft.js";
import type { Entry, HardState, NodeId } from "../log-types.js";
import type { Message } from "../messages.js";
import { inspectNode, type RaftNode } from "../runtime/node.js";
import type { StoreObserver } from "./sim-stores.js";

/** A broken safety property: the simulation stops at the first one. */
export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation";
  readonly invariant: string;
  constructor(invariant: string, detail: string) {
    super(`${invariant}: ${detail}`);
    this.invariant = invariant;
  }
}

export function isInvariantViolation(e: unknown): e is InvariantViolation {
  return e instanceof Error && e.name === "InvariantViolation";
}

/** What the checker sees of one simulated node. */
export interface CheckedNode {
  readonly id: NodeId;
  readonly alive: boolean;
  readonly node: RaftNode;
}

/** The limits the memory-bound checks hold the leaders to. */
export interface Bounds {
  readonly maxUncommittedBytes: number;
  readonly maxEntrySize: number;
  readonly maxInflightMessages: number;
  readonly maxInflightBytes: number;
  readonly maxBytesPerAppend: number;
}

interface NodeWatermarks {
  core: RaftCore;
  term: number;
  commit: number;
  applied: number;
  runtimeApplied: number;
  /** Committed entries already compared with the global record, up to this index. */
  checkedCommit: number;
  /** While leader: the term it leads and its last entry then (leader append-only). */
  leading?: { term: number; lastIndex: number; lastTerm: number };
}

/**
 * The safety properties of raft-engine.md §3.5, checked after every step of the simulation, as
 * cheaply as possible: most are incremental (only what changed since the last step is looked
 * at), the rest are checked at elections and periodically.
 *
 * 1 election safety · 2 leader append-only · 3 log matching · 4 leader completeness ·
 * 5 state-machine safety · 6 committed entries never change · 8 monotonic term, vote, commit
 * and applied · 9 purged ≤ snapshot ≤ applied ≤ committed ≤ last · 10 no double vote, even
 * across crashes · memory bounds (uncommitted bytes, inflight per follower).
 */
export class InvariantChecker implements StoreObserver {
  private readonly leaders = new Map<number, NodeId>();
  /** `${index}:${term}` → checksum and the term of the entry before it (log matching). */
  private readonly entries = new Map<string, { checksum: number; prevTerm: number | undefined }>();
  /**
   * Committed entries by index, as first seen committed on any node, with the term of the node
   * that saw it: the entry was committed by a leader of that term or an earlier one, so every
   * leader of a later term must hold it.
   */
  private readonly committed = new Map<
    number,
    { term: number; checksum: number | undefined; seenInTerm: number }
  >();
  private readonly stateHashes = new Map<number, number>();
  private readonly votes = new Map<string, NodeId>();
  private readonly watermarks = new Map<NodeId, NodeWatermarks>();
  private readonly bounds: Bounds;
  elections = 0;
  checks = 0;

  constructor(bounds: Bounds) {
    this.bounds = bounds;
  }

  // ---- hooks ------------------------------------------------------------------------------

  /** Every message sent, before the network sees it. */
  onSend(m: Message): void {
    if (m.type === "voteResponse" && m.granted && !m.preVote) {
      const key = `${m.from}@${m.term}`;
      const earlier = this.votes.get(key);
      if (earlier !== undefined && earlier !== m.to) {
        throw new InvariantViolation(
          "no double vote",
          `${m.from} granted its vote in term ${m.term} to ${earlier} and then to ${m.to}`,
        );
      }
      this.votes.set(key, m.to);
    }
  }

  logAppended(node: NodeId, entries: readonly Entry[], prevTerm: number | undefined): void {
    let previous = prevTerm;
    for (const e of entries) {
      const key = `${e.index}:${e.term}`;
      const known = this.entries.get(key);
      if (known === undefined) {
        this.entries.set(key, { checksum: e.checksum, prevTerm: previous });
      } else {
        if (known.checksum !== e.checksum) {
          throw new InvariantViolation(
            "log matching",
            `${node} stored entry ${e.index} of term ${e.term} with different contents than another node`,
          );
        }
        if (known.prevTerm !== undefined && previous !== undefined && known.prevTerm !== previous) {
          throw new InvariantViolation(
            "log matching",
            `${node} holds entry ${e.index}@${e.term} after an entry of term ${previous}; elsewhere it follows term ${known.prevTerm}`,
          );
        }
      }
      previous = e.term;
    }
  }

  logTruncated(node: NodeId, afterIndex: number): void {
    const w = this.watermarks.get(node);
    if (w !== undefined && w.core.state === "leader") {
      throw new InvariantViolation(
        "leader append-only",
        `leader ${node} (term ${w.core.term}) removed log entries after ${afterIndex}`,
      );
    }
  }

  hardStateDurable(node: NodeId, previous: HardState, next: HardState): void {
    if (next.term < previous.term) {
      throw new InvariantViolation(
        "monotonic term",
        `${node}'s durable term went from ${previous.term} back to ${next.term}`,
      );
    }
    if (next.term === previous.term && previous.vote !== "" && next.vote !== previous.vote) {
      throw new InvariantViolation(
        "no double vote",
        `${node}'s durable vote in term ${next.term} changed from ${previous.vote} to ${next.vote}`,
      );
    }
  }

  /** A state machine applied `index` and its state hash became `hash`. */
  onApply(node: NodeId, index: number, hash: number): void {
    const known = this.stateHashes.get(index);
    if (known === undefined) this.stateHashes.set(index, hash);
    else if (known !== hash) {
      throw new InvariantViolation(
        "state-machine safety",
        `${node} has state hash ${hash} after applying ${index}; another node had ${known}`,
      );
    }
  }

  /** A node crashed: its volatile state (watermarks, leadership) starts over when it restarts. */
  forget(node: NodeId): void {
    this.watermarks.delete(node);
  }

  // ---- per step --------------------------------------------------------------------------

  /** The cheap checks, after every step. */
  step(nodes: readonly CheckedNode[]): void {
    this.checks++;
    for (const n of nodes) {
      if (!n.alive) continue;
      const internals = inspectNode(n.node);
      if (internals.lifecycle === "failed") {
        const reason = internals.failure instanceof Error ? `: ${internals.failure.message}` : "";
        throw new InvariantViolation("no node failure", `${n.id} stopped after a failure${reason}`);
      }
      const core = internals.core;
      if (core === undefined) continue;
      let w = this.watermarks.get(n.id);
      if (w === undefined || w.core !== core) {
        // A new incarnation: its volatile state starts over from its durable state.
        w = {
          core,
          term: core.term,
          commit: core.log.committed,
          applied: core.log.applied,
          runtimeApplied: internals.appliedIndex,
          checkedCommit: core.log.snapshot.index,
        };
        this.watermarks.set(n.id, w);
      }
      this.checkMonotonic(n.id, w, core, internals.appliedIndex);
      this.checkOrdering(n.id, core, internals.appliedIndex);
      this.checkCommitted(n.id, w, core);
      if (core.state === "leader") this.checkLeader(n.id, w, core);
      else w.leading = undefined;
    }
  }

  /** The expensive checks: log matching between every pair of live logs. */
  deep(nodes: readonly CheckedNode[]): void {
    const cores = nodes
      .filter((n) => n.alive)
      .map((n) => ({ id: n.id, core: inspectNode(n.node).core }))
      .filter((c): c is { id: NodeId; core: RaftCore } => c.core !== undefined);
    for (let i = 0; i < cores.length; i++) {
      for (let j = i + 1; j < cores.length; j++) {
        this.checkPair(
          cores[i] as { id: NodeId; core: RaftCore },
          cores[j] as { id: NodeId; core: RaftCore },
        );
      }
    }
  }

  private checkMonotonic(
    id: NodeId,
    w: NodeWatermarks,
    core: RaftCore,
    runtimeApplied: number,
  ): void {
    const fields: [string, number, number][] = [
      ["term", w.term, core.term],
      ["commit index", w.commit, core.log.committed],
      ["applied index", w.applied, core.log.applied],
      ["state machine's applied index", w.runtimeApplied, runtimeApplied],
    ];
    for (const [name, before, now] of fields) {
      if (now < before) {
        throw new InvariantViolation(
          `monotonic ${name}`,
          `${id}'s ${name} went from ${before} back to ${now}`,
        );
      }
    }
    w.term = core.term;
    w.commit = core.log.committed;
    w.applied = core.log.applied;
    w.runtimeApplied = runtimeApplied;
  }

  private checkOrdering(id: NodeId, core: RaftCore, runtimeApplied: number): void {
    const log = core.log;
    const chain: [string, number][] = [
      ["purged", log.firstIndex() - 1],
      ["snapshot", log.snapshot.index],
      ["applied", log.applied],
      ["committed", log.committed],
      ["last", log.lastIndex()],
    ];
    for (let i = 1; i < chain.length; i++) {
      const [aName, a] = chain[i - 1] as [string, number];
      const [bName, b] = chain[i] as [string, number];
      if (a > b) {
        throw new InvariantViolation(
          "purged ≤ snapshot ≤ applied ≤ committed ≤ last",
          `${id}: ${aName} ${a} > ${bName} ${b}`,
        );
      }
    }
    let bytes = 0;
    for (const entry of log.slice(log.firstIndex(), log.lastIndex() + 1) ?? []) {
      bytes += entry.data.byteLength;
    }
    if (log.bytes() !== bytes) {
      throw new InvariantViolation(
        "the log's byte count is its entries' bytes",
        `${id}: the log counts ${log.bytes()} bytes, its entries hold ${bytes}`,
      );
    }
    if (runtimeApplied > log.committed) {
      throw new InvariantViolation(
        "applied ≤ committed",
        `${id}'s state machine applied ${runtimeApplied}, beyond the commit index ${log.committed}`,
      );
    }
  }

  private checkCommitted(id: NodeId, w: NodeWatermarks, core: RaftCore): void {
    const log = core.log;
    for (let i = Math.max(w.checkedCommit + 1, 1); i <= log.committed; i++) {
      const entry = log.entry(i);
      const term = entry?.term ?? (i === log.snapshot.index ? log.snapshot.term : undefined);
      if (term === undefined) continue;
      const known = this.committed.get(i);
      if (known === undefined) {
        this.committed.set(i, { term, checksum: entry?.checksum, seenInTerm: core.term });
        continue;
      }
      const sameChecksum =
        known.checksum === undefined || entry === undefined || known.checksum === entry.checksum;
      if (known.term !== term || !sameChecksum) {
        throw new InvariantViolation(
          "committed entries never change",
          `${id} committed entry ${i} with term ${term}; it was committed before with term ${known.term}`,
        );
      }
      if (known.checksum === undefined && entry !== undefined) {
        this.committed.set(i, { ...known, checksum: entry.checksum });
      }
    }
    w.checkedCommit = Math.max(w.checkedCommit, log.committed);
  }

  private checkLeader(id: NodeId, w: NodeWatermarks, core: RaftCore): void {
    const term = core.term;
    const other = this.leaders.get(term);
    if (other !== undefined && other !== id) {
      throw new InvariantViolation("election safety", `${other} and ${id} both lead term ${term}`);
    }
    const log = core.log;
    if (other === undefined) {
      this.leaders.set(term, id);
      this.elections++;
      this.checkCompleteness(id, core);
    }
    const leading = w.leading;
    if (leading !== undefined && leading.term === term) {
      const termThen = log.term(leading.lastIndex);
      const compacted =
        leading.lastIndex < log.firstIndex() && leading.lastIndex !== log.snapshot.index;
      if (log.lastIndex() < leading.lastIndex || (!compacted && termThen !== leading.lastTerm)) {
        throw new InvariantViolation(
          "leader append-only",
          `leader ${id} of term ${term} had entry ${leading.lastIndex}@${leading.lastTerm}; now its log ends at ${log.lastIndex()} with that entry's term ${termThen}`,
        );
      }
    }
    w.leading = { term, lastIndex: log.lastIndex(), lastTerm: log.lastTerm() };
    this.checkBounds(id, core);
  }

  /**
   * Leader completeness: a new leader holds every entry committed in an earlier term. (A leader
   * of an older term may still arise late, from votes granted before the voters moved on: it
   * is bound only by what was committed in terms before its own.)
   */
  private checkCompleteness(id: NodeId, core: RaftCore): void {
    const log = core.log;
    for (const [index, known] of this.committed) {
      if (known.seenInTerm >= core.term) continue;
      if (index < log.firstIndex() && index <= log.snapshot.index) continue; // in its snapshot
      const term = log.term(index);
      if (term !== known.term) {
        throw new InvariantViolation(
          "leader completeness",
          `${id} became leader of term ${core.term} ${term === undefined ? "without" : `holding ${index}@${term} instead of`} entry ${index}@${known.term}, committed in term ${known.seenInTerm} or before`,
        );
      }
    }
  }

  private checkBounds(id: NodeId, core: RaftCore): void {
    const b = this.bounds;
    if (core.uncommittedBytes > b.maxUncommittedBytes + b.maxEntrySize) {
      throw new InvariantViolation(
        "bounded uncommitted bytes",
        `leader ${id} has ${core.uncommittedBytes} uncommitted bytes, over ${b.maxUncommittedBytes}`,
      );
    }
    for (const [peer, status] of core.peerStatus()) {
      if (
        status.inflightMessages > b.maxInflightMessages ||
        status.inflightBytes > b.maxInflightBytes + b.maxBytesPerAppend
      ) {
        throw new InvariantViolation(
          "bounded inflight",
          `leader ${id} has ${status.inflightMessages} messages / ${status.inflightBytes} bytes in flight to ${peer}`,
        );
      }
    }
  }

  /** Log matching: if two logs hold an entry with the same index and term, they agree up to it. */
  private checkPair(a: { id: NodeId; core: RaftCore }, b: { id: NodeId; core: RaftCore }): void {
    const la = a.core.log;
    const lb = b.core.log;
    const lo = Math.max(la.firstIndex(), lb.firstIndex());
    const hi = Math.min(la.lastIndex(), lb.lastIndex());
    let matched = false;
    for (let i = hi; i >= lo; i--) {
      const ea = la.entry(i);
      const eb = lb.entry(i);
      if (ea === undefined || eb === undefined) continue;
      if (!matched && ea.term === eb.term) matched = true;
      if (matched && (ea.term !== eb.term || ea.checksum !== eb.checksum)) {
        throw new InvariantViolation(
          "log matching",
          `${a.id} and ${b.id} share an entry above ${i} but differ at ${i} (${ea.index}@${ea.term} vs ${eb.index}@${eb.term})`,
        );
      }
    }
  }

  /** Every index the state machines have reached, with its hash (for convergence checks). */
  stateHashAt(index: number): number | undefined {
    return this.stateHashes.get(index);
  }

  get committedCount(): number {
    return this.committed.size;
  }
}
