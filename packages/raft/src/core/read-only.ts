import type { NodeId } from "../log-types.js";

/** Who asked for a read: this node (`from` is its own id) or a follower, with its context. */
export interface ReadRequester {
  readonly from: NodeId;
  readonly context: number;
}

/** A batch of reads waiting for a quorum to confirm the leader's leadership. */
export interface PendingRead {
  /** Unique for the leader's lifetime, carried by the confirming heartbeat round. */
  readonly id: number;
  /** The leader's commit index when the round started: serve the reads at or after it. */
  readonly index: number;
  readonly requesters: readonly ReadRequester[];
  readonly acks: Set<NodeId>;
}

/**
 * The leader's queue of ReadIndex rounds, in the order they started. A heartbeat round tagged
 * with id n that a quorum acknowledges confirms leadership at the time round n started, and so
 * confirms every earlier round too: they are released together, in order.
 */
export class ReadOnlyQueue {
  private queue: PendingRead[] = [];

  add(read: PendingRead): void {
    this.queue.push(read);
  }

  /** The newest round, whose id a heartbeat carries to confirm everything pending. */
  lastId(): number {
    return this.queue.length === 0 ? 0 : (this.queue[this.queue.length - 1] as PendingRead).id;
  }

  /** Records that `from` acknowledged round `id`; returns the round, if still pending. */
  ack(id: number, from: NodeId): PendingRead | undefined {
    const read = this.queue.find((r) => r.id === id);
    read?.acks.add(from);
    return read;
  }

  /** Removes and returns every round up to and including `id`. */
  releaseTo(id: number): PendingRead[] {
    const at = this.queue.findIndex((r) => r.id === id);
    if (at < 0) return [];
    return this.queue.splice(0, at + 1);
  }

  /** Removes and returns every round (leadership ended). */
  clear(): PendingRead[] {
    const all = this.queue;
    this.queue = [];
    return all;
  }
}
