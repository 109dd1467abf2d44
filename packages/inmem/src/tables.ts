import type { ID, Resource, Status } from "@raftstore/proto";
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
 * What a record takes in memory beyond its content (`contentBytes`): its objects and its index
 * entries. The benchmark's small resource (one label, 32 bytes of data) takes 888 bytes of heap
 * for 205 bytes of content; a large value takes about its own size. Rounded up, so that the
 * estimate errs high.
 */
export const RECORD_OVERHEAD_BYTES = 700;

/** What each map entry and condition of a record adds to it: its entry or object. */
const ENTRY_OVERHEAD_BYTES = 64;

/** What one record counts for in a store's `bytes`: its content plus the overheads. */
export function recordBytes(record: Resource): number {
  return contentBytes(record) + RECORD_OVERHEAD_BYTES;
}

/**
 * The bytes of a record's own content: the characters of its strings and the bytes of its byte
 * arrays, plus `ENTRY_OVERHEAD_BYTES` per map entry and condition. Types and tenancies are
 * interned (shared by every record), so they are not counted. O(fields), no walk over
 * characters: cheap enough to keep a store's size on every write, where the exact protobuf size
 * costs a microsecond or more.
 */
export function contentBytes(record: Resource): number {
  let n = record.version.length + record.generation.length;
  n += idBytes(record.id) + idBytes(record.owner);
  const metadata = record.metadata;
  for (const key in metadata) {
    n += ENTRY_OVERHEAD_BYTES + key.length + (metadata[key] as string).length;
  }
  const data = record.data;
  if (data !== undefined) n += data.typeUrl.length + data.value.byteLength;
  const status = record.status;
  for (const key in status) {
    const entry = status[key] as Status;
    n += ENTRY_OVERHEAD_BYTES + key.length + entry.observedGeneration.length;
    for (const c of entry.conditions) {
      n += ENTRY_OVERHEAD_BYTES + c.type.length + c.reason.length + c.message.length;
      if (c.resource !== undefined) n += c.resource.name.length + c.resource.section.length;
    }
  }
  return n;
}

function idBytes(id: ID | undefined): number {
  return id === undefined ? 0 : id.uid.length + id.name.length;
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
  #bytes = 0;

  /** The number of resources. */
  get size(): number {
    return this.#current.size;
  }

  /** The sum of `recordBytes` over the records: an estimate of the memory they take. */
  get bytes(): number {
    return this.#bytes;
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
    this.#bytes = this.bytesWith(record, previous);
  }

  /** What `bytes` would be with `record` stored in place of `previous` (what `get` returned). */
  bytesWith(record: Resource, previous: Resource | undefined): number {
    return this.#bytes + recordBytes(record) - (previous === undefined ? 0 : recordBytes(previous));
  }

  /** Removes `previous`, the record stored under its key. */
  remove(previous: Resource): void {
    this.#unshare();
    const key = resourceKey(previous.id as ValidID);
    this.#byId.delete(key);
    this.#current.delete(previous.id as ValidID);
    if (previous.owner !== undefined) this.#byOwner.delete(ownerIndexKey(previous.owner, key));
    this.#bytes -= recordBytes(previous);
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
