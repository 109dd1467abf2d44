import type { Resource } from "@raftstore/proto";
import type { Indexes, Slot } from "./tables.js";

/**
 * A point-in-time copy of every resource in the store, read lazily in key order — what a Raft
 * snapshot serialises. Taking it costs O(1) (an MVCC view); writes that follow do not show up in
 * it, however long the iteration takes.
 *
 * `next()` and iteration share one position: `for (const r of snapshot)` after two `next()` calls
 * starts at the third resource.
 */
export class StoreSnapshot implements Iterable<Resource> {
  readonly #slots: Iterator<Slot>;
  readonly #size: number;
  readonly #eventIndex: number;

  /** @private Built by `Store.snapshot()`. */
  constructor(indexes: Indexes, eventIndex: number) {
    this.#slots = indexes.byId.values();
    this.#size = indexes.byId.size;
    this.#eventIndex = eventIndex;
  }

  /** The number of resources in the snapshot. */
  get size(): number {
    return this.#size;
  }

  /** The event index of the last change the snapshot includes. */
  get eventIndex(): number {
    return this.#eventIndex;
  }

  /** The next resource in key order, or undefined at the end. */
  next(): Resource | undefined {
    const item = this.#slots.next();
    return item.done === true ? undefined : item.value.record;
  }

  *[Symbol.iterator](): Iterator<Resource> {
    for (let record = this.next(); record !== undefined; record = this.next()) yield record;
  }
}
