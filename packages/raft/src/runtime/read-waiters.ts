import type { Waiter } from "./proposals.js";

interface ReadWaiter {
  readonly waiter: Waiter<number>;
  /** Resolve once the read index is confirmed, without waiting for the state machine. */
  readonly confirmOnly: boolean;
}

/**
 * The first context of a node's requests that a peer answers by echoing it (reads, forwarded
 * proposals): a random base, so that a delayed answer addressed to an earlier incarnation of
 * this node can never settle a request of this one (etcd-io/raft#397).
 */
export function contextBase(random: () => number): number {
  return 1 + Math.floor(random() * 2 ** 44) * 256;
}

/**
 * Linearizable reads in flight. Calls made close together share one context (one quorum round
 * on the leader, one forwarded request on a follower). A confirmed read waits until the state
 * machine has applied its index, then resolves with it.
 *
 * Contexts start at `contextBase`.
 */
export class ReadWaiters {
  private queued: ReadWaiter[] = [];
  /** Batches sent for confirmation, by context, with the tick they were sent at. */
  private readonly sent = new Map<
    number,
    { readonly tick: number; readonly reads: ReadWaiter[] }
  >();
  /** Confirmed reads waiting for applied ≥ index, in index order of arrival. */
  private waitingForApply: { index: number; waiter: Waiter<number> }[] = [];
  private nextContext: number;

  constructor(random: () => number) {
    this.nextContext = contextBase(random);
  }

  get pending(): number {
    let n = this.queued.length + this.waitingForApply.length;
    for (const batch of this.sent.values()) n += batch.reads.length;
    return n;
  }

  add(waiter: Waiter<number>, confirmOnly: boolean): void {
    this.queued.push({ waiter, confirmOnly });
  }

  /** Takes the reads queued since the last flush as one batch under a fresh context. */
  takeBatch(tick: number): { context: number; size: number } | undefined {
    if (this.queued.length === 0) return undefined;
    const context = this.nextContext++;
    this.sent.set(context, { tick, reads: this.queued });
    const size = this.queued.length;
    this.queued = [];
    return { context, size };
  }

  /** The batch under `context` could not be sent or confirmed. */
  fail(context: number, error: () => Error): void {
    const batch = this.sent.get(context);
    if (batch === undefined) return;
    this.sent.delete(context);
    for (const read of batch.reads) read.waiter.reject(error());
  }

  /**
   * Fails the batches sent before tick `before` and still unconfirmed: their request or its
   * answer was lost (a leader confirms a read within a heartbeat round or steps down).
   */
  expire(before: number, error: () => Error): void {
    for (const [context, batch] of this.sent) if (batch.tick < before) this.fail(context, error);
  }

  /**
   * Fails every read sent for confirmation and not yet confirmed (the leader or its term
   * changed: the answer will not come). Reads still queued go to the new leader.
   */
  failUnconfirmed(error: () => Error): void {
    for (const context of [...this.sent.keys()]) this.fail(context, error);
  }

  /** Fails everything, sent, queued or confirmed (node stopping). */
  failAll(error: () => Error): void {
    this.failUnconfirmed(error);
    for (const read of this.queued) read.waiter.reject(error());
    this.queued = [];
    for (const read of this.waitingForApply) read.waiter.reject(error());
    this.waitingForApply = [];
  }

  /** The batch under `context` is confirmed at `index`; `applied` is the state machine's index. */
  confirmed(context: number, index: number, applied: number): void {
    const batch = this.sent.get(context);
    if (batch === undefined) return;
    this.sent.delete(context);
    for (const read of batch.reads) {
      if (read.confirmOnly || index <= applied) read.waiter.resolve(index);
      else this.waitingForApply.push({ index, waiter: read.waiter });
    }
  }

  /** The state machine reached `applied`: serve the reads that waited for it. */
  appliedTo(applied: number): void {
    if (this.waitingForApply.length === 0) return;
    const still: { index: number; waiter: Waiter<number> }[] = [];
    for (const read of this.waitingForApply) {
      if (read.index <= applied) read.waiter.resolve(read.index);
      else still.push(read);
    }
    this.waitingForApply = still;
  }
}
