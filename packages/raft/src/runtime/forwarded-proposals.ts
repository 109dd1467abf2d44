import { LeadershipLostError, ProposalDroppedError, ProposalTooLargeError } from "../errors.js";
import type { EntryType, NodeId } from "../log-types.js";
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
  readonly batch: readonly ForwardedProposal[];
}

/**
 * The proposals a follower sent to its leader (etcd's MsgProp) and whose answer has not come
 * yet, by context. The answer says where the leader appended them; from there the proposal
 * tracker settles each caller when its index is applied here, with the term it was appended in
 * (its own entry) or another (it was lost).
 *
 * Contexts start at a random base (`contextBase`), drawn at the first forward.
 */
export class ForwardedProposals {
  private readonly sent = new Map<number, Sent>();
  /** Drawn at the first forward, so a node that never forwards never draws. */
  private nextContext = 0;

  constructor(private readonly random: () => number) {}

  get pending(): number {
    let n = 0;
    for (const sent of this.sent.values()) n += sent.batch.length;
    return n;
  }

  /** Records a batch sent to `leader` in `term`; returns its context. */
  add(tick: number, leader: NodeId, term: number, batch: readonly ForwardedProposal[]): number {
    if (this.nextContext === 0) this.nextContext = contextBase(this.random);
    const context = this.nextContext++;
    this.sent.set(context, { tick, leader, term, batch });
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

  /** Fails every batch sent before tick `before` and still unanswered. */
  expire(before: number, error: () => Error): void {
    for (const [context, sent] of this.sent) {
      if (sent.tick < before) this.fail(context, sent, error);
    }
  }

  /** Fails every unanswered batch (the leader or the term changed: no answer will come). */
  failAll(error: () => Error): void {
    for (const [context, sent] of this.sent) this.fail(context, sent, error);
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
