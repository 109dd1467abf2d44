import type { ID, Resource } from "@raftstore/proto";
import { ownerKey, resourceKey, type ValidID } from "@raftstore/storage";
import { type BTree, newIndex } from "./btree.js";
import { PointIndex } from "./point-index.js";

/**
 * The two ordered indexes of the store at one point in time. Nothing changes them once they are
 * handed out as a snapshot: the store writes to clones (copy-on-write, node by node).
 *
 * - `byId`: resource key (group, kind, partition, namespace, name) → record. A List is a range
 *   scan from `listPrefix` (up to the first wildcard), then a filter.
 * - `byOwner`: owner key (the owner's resource key and uid) followed by the resource key →
 *   record. Appending the resource key makes the non-unique owner index unique; ListByOwner is
 *   a range scan over one owner key. Resources without an owner are not in it.
 */
export interface Indexes {
  readonly byId: BTree<string, Resource>;
  readonly byOwner: BTree<string, Resource>;
}

/**
 * The store's current tables: the two ordered indexes plus a hash index of the same records for
 * point lookups (reads and the CAS check of every write), which costs O(1) instead of the
 * B+ tree's O(log n) string comparisons, each a likely cache miss at a million records.
 *
 * Writes go to the trees in place while no one holds them; `share()` hands the current trees out
 * (O(1)) and makes the next write clone them first, so a shared tree never changes. A write then
 * copies only the O(log n) nodes on its path. The hash index is never shared: point reads of a
 * view go through its tree.
 */
export class Tables {
  #byId: BTree<string, Resource> = newIndex();
  #byOwner: BTree<string, Resource> = newIndex();
  readonly #current = new PointIndex();
  #shared = false;

  /** The number of resources. */
  get size(): number {
    return this.#current.size;
  }

  /** The record stored under `id`'s key, if any. */
  get(id: ValidID): Resource | undefined {
    return this.#current.get(id);
  }

  /**
   * Stores `record` under its key, replacing `previous` (what `get` returned). The owner index
   * follows the owner: storage does not forbid changing it, so an owner entry that no longer
   * applies is removed.
   */
  put(record: Resource, previous: Resource | undefined): void {
    this.#unshare();
    const key = resourceKey(record.id as ValidID);
    this.#byId.set(key, record);
    this.#current.set(record);
    const oldOwner = previous?.owner === undefined ? undefined : ownerIndexKey(previous.owner, key);
    const newOwner = record.owner === undefined ? undefined : ownerIndexKey(record.owner, key);
    if (oldOwner !== undefined && oldOwner !== newOwner) this.#byOwner.delete(oldOwner);
    if (newOwner !== undefined) this.#byOwner.set(newOwner, record);
  }

  /** Removes `previous`, the record stored under its key. */
  remove(previous: Resource): void {
    this.#unshare();
    const key = resourceKey(previous.id as ValidID);
    this.#byId.delete(key);
    this.#current.delete(previous.id as ValidID);
    if (previous.owner !== undefined) this.#byOwner.delete(ownerIndexKey(previous.owner, key));
  }

  /**
   * The current indexes, for a view, snapshot or watch that outlives this call. O(1): the trees
   * are cloned lazily, by the next write.
   */
  share(): Indexes {
    this.#shared = true;
    return { byId: this.#byId, byOwner: this.#byOwner };
  }

  /**
   * The current indexes for a scan that ends before the next write (a List inside one call).
   * They must not be kept: the next write may change them in place.
   */
  borrow(): Indexes {
    return { byId: this.#byId, byOwner: this.#byOwner };
  }

  #unshare(): void {
    if (!this.#shared) return;
    this.#byId = this.#byId.clone();
    this.#byOwner = this.#byOwner.clone();
    this.#shared = false;
  }
}

/** The owner index key of a resource owned by `owner`, stored under `key`. */
function ownerIndexKey(owner: ID, key: string): string {
  return ownerKey(owner) + key;
}
