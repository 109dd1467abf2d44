/** A caller waiting for the outcome of one entry. */
export interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/**
 * A proposal appended at `index` in `term`, and its caller's settle functions. `deadline` is
 * the tick after which the caller stops waiting (0: none, a leader's own proposals while it
 * leads; they get one when its term ends).
 */
export interface Pending extends Waiter<unknown> {
  index: number;
  term: number;
  deadline: number;
}

/**
 * The proposals appended for this node's callers and not yet applied, in index order (entries
 * are applied in index order, so this is a queue). An entry resolves its caller when it is
 * applied with the term it was appended in; if another entry ends up at that index (the
 * proposal was lost with the leader's term), the caller learns that instead.
 *
 * A leader's own proposals arrive in increasing index order. Proposals a follower forwarded
 * may not (a new leader can place one below an earlier leader's), so they are inserted in
 * order, and one index may hold several callers, each waiting for its own term.
 */
export class ProposalTracker {
  private queue: Pending[] = [];
  private head = 0;
  /** How many tracked proposals have a deadline. */
  private bounded = 0;

  get size(): number {
    return this.queue.length - this.head;
  }

  /** Tracks a proposal; its index and term are set. */
  add(pending: Pending): void {
    if (pending.deadline !== 0) this.bounded++;
    const last = this.queue[this.queue.length - 1];
    if (last === undefined || last.index <= pending.index) {
      this.queue.push(pending);
      return;
    }
    let at = this.queue.length - 1;
    while (at > this.head && (this.queue[at - 1] as Pending).index > pending.index) at--;
    this.queue.splice(at, 0, pending);
  }

  /**
   * The entry at `index` was applied with `term` and produced `result`: settles the callers
   * waiting for that index, handing those whose entry was replaced (another term's entry was
   * applied at its index: it was certainly not committed) to `lost` with "replaced".
   */
  applied(
    index: number,
    term: number,
    result: unknown,
    lost: (pending: Pending, how: "replaced" | "skipped") => void,
  ): void {
    // Proposals below `index` can only remain if a snapshot skipped them, and `failRange`
    // settles those; should one be left, its caller must not wait forever (nor be told its
    // entry was not committed: nobody saw what was there).
    while (this.head < this.queue.length && (this.queue[this.head] as Pending).index < index) {
      const pending = this.queue[this.head] as Pending;
      this.head++;
      this.settled(pending);
      lost(pending, "skipped");
    }
    while (this.head < this.queue.length && (this.queue[this.head] as Pending).index === index) {
      const pending = this.queue[this.head] as Pending;
      this.head++;
      this.settled(pending);
      if (pending.term === term) pending.resolve(result);
      else lost(pending, "replaced");
    }
    this.compact();
  }

  /** Fails every proposal with an index in (from, to] (to = Infinity for all above `from`). */
  failRange(from: number, to: number, error: () => Error): void {
    this.keepUnless((pending) => pending.index > from && pending.index <= to, error);
  }

  /** Gives every proposal without a deadline the deadline `tick`. */
  bound(tick: number): void {
    for (let i = this.head; i < this.queue.length; i++) {
      const pending = this.queue[i] as Pending;
      if (pending.deadline !== 0) continue;
      pending.deadline = tick;
      this.bounded++;
    }
  }

  /** Fails every proposal whose deadline is before tick `now`. */
  expire(now: number, error: () => Error): void {
    if (this.bounded === 0) return;
    this.keepUnless((pending) => pending.deadline !== 0 && pending.deadline < now, error);
  }

  private keepUnless(drop: (pending: Pending) => boolean, error: () => Error): void {
    const keep: Pending[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const pending = this.queue[i] as Pending;
      if (drop(pending)) {
        this.settled(pending);
        pending.reject(error());
      } else keep.push(pending);
    }
    this.queue = keep;
    this.head = 0;
  }

  private settled(pending: Pending): void {
    if (pending.deadline !== 0) this.bounded--;
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
