import {
  LeadershipLostError,
  NotCommittedError,
  ProposalDroppedError,
  ProposalTooLargeError,
} from "../errors.js";
import type { Entry, EntryType, NodeId } from "../log-types.js";
import type { ProposeResponseMessage } from "../messages.js";
import type { Pending, ProposalTracker } from "./proposals.js";
import { contextBase } from "./read-waiters.js";

/** A proposal made on a follower: its entry, and its caller once the leader placed it. */
export interface ForwardedProposal extends Pending {
  readonly type: EntryType;
  readonly data: Uint8Array;
}

interface Sent {
  readonly tick: number;
  readonly leader: NodeId;
  readonly term: number;
  /**
   * The leader places the batch above this index: the highest of this node's applied index and
   * its last entry of the leader's term (which the leader had appended) when it was sent.
   */
  readonly above: number;
  readonly batch: readonly ForwardedProposal[];
}

/**
 * A proposal whose leader's answer will not come (its leader changed, or it was too late): the
 * entries applied here decide whether it was committed (`orphanAll`).
 */
interface Orphan {
  readonly proposal: ForwardedProposal;
  /** The term it was sent in: the only term its entry can have. */
  readonly term: number;
  /** Its entry's index is above this. */
  readonly above: number;
}

/**
 * The proposals a follower sent to its leader (etcd's MsgProp) and whose answer has not come
 * yet, by context. The answer says where the leader appended them; from there the proposal
 * tracker settles each caller when its index is applied here, with the term it was appended in
 * (its own entry) or another (it was not committed). A batch whose answer will not come is
 * orphaned: the entries applied next tell whether it can have been committed.
 *
 * Contexts start at a random base (`contextBase`), drawn at the first forward.
 */
export class ForwardedProposals {
  private readonly sent = new Map<number, Sent>();
  /** Proposals whose answer will not come, in the order they were sent. */
  private orphans: Orphan[] = [];
  /** Drawn at the first forward, so a node that never forwards never draws. */
  private nextContext = 0;

  constructor(private readonly random: () => number) {}

  get pending(): number {
    let n = this.orphans.length;
    for (const sent of this.sent.values()) n += sent.batch.length;
    return n;
  }

  /**
   * Records a batch sent to `leader` in `term`, which will place it above index `above`
   * (see Sent); returns its context.
   */
  add(
    tick: number,
    leader: NodeId,
    term: number,
    above: number,
    batch: readonly ForwardedProposal[],
  ): number {
    if (this.nextContext === 0) this.nextContext = contextBase(this.random);
    const context = this.nextContext++;
    this.sent.set(context, { tick, leader, term, above, batch });
    return context;
  }

  /**
   * The leader answered: the accepted proposals go to `tracker` with their index and term, the
   * refused ones fail. `applied` is the state machine's index: a proposal placed at or below it
   * was applied before its answer came (a snapshot, or a network that reorders: the leader
   * sends the answer right after the entries), so its outcome is unknown here. A proposal
   * refused as too large for the leader goes to `resend` when its own entries are not.
   */
  answered(
    m: ProposeResponseMessage,
    tracker: ProposalTracker,
    applied: number,
    resend: (proposal: ForwardedProposal) => void,
  ): void {
    const sent = this.sent.get(m.context);
    if (sent === undefined || sent.leader !== m.from || sent.term !== m.term) return;
    this.sent.delete(m.context);
    if (m.refused === "too-large") {
      // Nothing was appended: fail what is too large for the leader, and send the rest again.
      for (const proposal of sent.batch) {
        if (proposal.data.byteLength > m.maxEntrySize) {
          proposal.reject(new ProposalTooLargeError(proposal.data.byteLength, m.maxEntrySize));
        } else resend(proposal);
      }
      return;
    }
    for (let i = 0; i < sent.batch.length; i++) {
      const proposal = sent.batch[i] as ForwardedProposal;
      if (i >= m.accepted) {
        proposal.reject(refusal(m, sent.leader));
        continue;
      }
      proposal.index = m.index + i;
      proposal.term = m.term;
      if (proposal.index > applied) tracker.add(proposal);
      else {
        proposal.reject(
          new LeadershipLostError(
            `entry ${proposal.index} was applied here before the leader's answer arrived`,
          ),
        );
      }
    }
  }

  /**
   * Gives up waiting for the answers to the batches sent before tick `before`: their proposals
   * are orphaned as by `orphanAll` (or fail with `unknown`).
   */
  expire(before: number, applied: number, appliedTerm: number, unknown: () => Error): void {
    for (const [context, sent] of this.sent) {
      if (sent.tick < before) this.orphan(context, sent, applied, appliedTerm, unknown);
    }
  }

  /**
   * The leader or the term changed: no answer will come for the batches still unanswered. What
   * this node applies next (`entryApplied`) tells whether they were committed: the leader of
   * the term a proposal was sent in is the only node that could append it, in that term, above
   * the index its batch records (`above`). Once an entry of a later term is applied,
   * every entry of that term that will ever be committed has been applied here: a proposal with
   * no entry of its bytes among them was not committed, and never will be. One that has such an
   * entry may have been committed, or another node may have proposed the same bytes: its
   * outcome is unknown (`unknown`), as before.
   *
   * That needs every entry of the term above that index to be seen as it is applied, so a batch
   * is kept only when none was applied yet: this node has applied nothing above it, or nothing
   * of that term (`appliedTerm`, the term of the last entry applied, is lower: terms never
   * decrease along the log). Otherwise its outcome is unknown (`unknown`).
   */
  orphanAll(applied: number, appliedTerm: number, unknown: () => Error): void {
    for (const [context, sent] of this.sent)
      this.orphan(context, sent, applied, appliedTerm, unknown);
  }

  private orphan(
    context: number,
    sent: Sent,
    applied: number,
    appliedTerm: number,
    unknown: () => Error,
  ): void {
    this.sent.delete(context);
    const decidable = applied <= sent.above || appliedTerm < sent.term;
    for (const proposal of sent.batch) {
      if (decidable) this.orphans.push({ proposal, term: sent.term, above: sent.above });
      else proposal.reject(unknown());
    }
  }

  /** `entry` was applied here: settles the orphans it decides. */
  entryApplied(entry: Entry, unknown: () => Error): void {
    if (this.orphans.length === 0) return;
    const left: Orphan[] = [];
    for (const orphan of this.orphans) {
      if (entry.term > orphan.term) {
        orphan.proposal.reject(
          new NotCommittedError(
            `the leader of term ${orphan.term} changed before it answered, and no entry of that term committed since holds this proposal (entry ${entry.index} is of term ${entry.term})`,
          ),
        );
      } else if (entry.term === orphan.term && mayBeEntryOf(orphan, entry)) {
        // Maybe this proposal; maybe another with the same bytes. Unknown either way.
        orphan.proposal.reject(unknown());
      } else left.push(orphan);
    }
    this.orphans = left;
  }

  /** Fails every orphan whose deadline is before tick `now`. */
  expireOrphans(now: number, error: () => Error): void {
    this.keepOrphansUnless((orphan) => orphan.proposal.deadline < now, error);
  }

  /**
   * A snapshot replaced entries this node did not apply one by one: the orphans whose entries
   * may be among them cannot be decided any more.
   */
  skipped(error: () => Error): void {
    this.keepOrphansUnless(() => true, error);
  }

  /** Fails every unanswered batch and every orphan. */
  failAll(error: () => Error): void {
    for (const [context, sent] of this.sent) this.fail(context, sent, error);
    this.skipped(error);
  }

  private keepOrphansUnless(drop: (orphan: Orphan) => boolean, error: () => Error): void {
    if (this.orphans.length === 0) return;
    const left: Orphan[] = [];
    for (const orphan of this.orphans) {
      if (drop(orphan)) orphan.proposal.reject(error());
      else left.push(orphan);
    }
    this.orphans = left;
  }

  private fail(context: number, sent: Sent, error: () => Error): void {
    this.sent.delete(context);
    for (const proposal of sent.batch) proposal.reject(error());
  }
}

/** How many contexts per follower a leader remembers to recognise a duplicate proposal. */
const rememberedContexts = 4096;

/** The contexts of the proposals each follower forwarded lately, so none is appended twice. */
export class RecentContexts {
  private readonly byPeer = new Map<NodeId, { seen: Set<number>; order: number[]; next: number }>();

  /** Whether `context` from `peer` is new (and remembers it). */
  firstTime(peer: NodeId, context: number): boolean {
    let recent = this.byPeer.get(peer);
    if (recent === undefined) {
      recent = { seen: new Set(), order: [], next: 0 };
      this.byPeer.set(peer, recent);
    }
    if (recent.seen.has(context)) return false;
    recent.seen.add(context);
    if (recent.order.length < rememberedContexts) recent.order.push(context);
    else {
      recent.seen.delete(recent.order[recent.next] as number);
      recent.order[recent.next] = context;
      recent.next = (recent.next + 1) % rememberedContexts;
    }
    return true;
  }
}

/** Whether `entry` (of the orphan's term) may be the orphan's own: above it, same type and bytes. */
function mayBeEntryOf(orphan: Orphan, entry: Entry): boolean {
  const { type, data } = orphan.proposal;
  if (entry.index <= orphan.above || entry.type !== type) return false;
  if (entry.data.byteLength !== data.byteLength) return false;
  for (let i = 0; i < data.byteLength; i++) if (entry.data[i] !== data[i]) return false;
  return true;
}

function refusal(m: ProposeResponseMessage, leader: NodeId): Error {
  switch (m.refused) {
    case "uncommitted-limit":
    case "leadership-transfer":
    case "restore":
      // Only a leader refuses so, and it drops a duplicate before refusing: certain.
      return new ProposalDroppedError(m.refused, `the leader ${leader} refused it (${m.refused})`);
    default:
      // "not-leader" from the node that led this term: it stepped down (or restarted) since,
      // and an earlier copy of this very proposal may have been appended before it did.
      return new LeadershipLostError(`${leader} stopped leading before it placed the proposal`);
  }
}
