/** A caller waiting for the outcome of one entry. */
export interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/** A proposal the leader appended at `index` in `term`, and its caller's settle functions. */
export interface Pending extends Waiter<unknown> {
  index: number;
  term: number;
}

/**
 * The proposals a leader appended and whose callers still wait, in index order (a leader's
 * proposals get increasing indexes, and entries are applied in index order, so this is a
 * queue). An entry resolves its caller when it is applied with the term it was proposed in; if
 * another entry ends up at that index (the proposal was lost with the leader's term), the
 * caller learns that instead.
 */
export class ProposalTracker {
  private queue: Pending[] = [];
  private head = 0;

  get size(): number {
    return this.queue.length - this.head;
  }

  /** Tracks a proposal; its index and term are set. Indexes must increase. */
  add(pending: Pending): void {
    this.queue.push(pending);
  }

  /**
   * The entry at `index` was applied with `term` and produced `result`. Returns the proposal's
   * waiter when it was replaced by another entry (the caller builds the error), else undefined.
   */
  applied(index: number, term: number, result: unknown): Waiter<unknown> | undefined {
    // Proposals below `index` can only remain if a snapshot skipped them: they were settled
    // by `failRange` then; skip any leftovers defensively.
    while (this.head < this.queue.length && (this.queue[this.head] as Pending).index < index) {
      this.head++;
    }
    const pending = this.queue[this.head];
    if (pending === undefined || pending.index !== index) return undefined;
    this.head++;
    this.compact();
    if (pending.term === term) {
      pending.resolve(result);
      return undefined;
    }
    return pending;
  }

  /** Fails every proposal with an index in (from, to] (to = Infinity for all above `from`). */
  failRange(from: number, to: number, error: () => Error): void {
    const keep: Pending[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const pending = this.queue[i] as Pending;
      if (pending.index > from && pending.index <= to) pending.reject(error());
      else keep.push(pending);
    }
    this.queue = keep;
    this.head = 0;
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
