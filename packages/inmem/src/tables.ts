import type { ID, Resource, Status, Tenancy, Type } from "@raftstore/proto";
import { ownerKey, resourceKey, type ValidID } from "@raftstore/storage";
import { type BTree, newIndex } from "./btree.js";
import { PointIndex } from "./point-index.js";

/**
 * Where the store keeps one key's record: the value of that key in both trees and in the point
 * index. A write that finds its key's slot not shared with any view (see `Tables`) replaces the
 * record in it, and leaves the trees alone: an update of an existing resource costs one hash
 * lookup instead of a B+ tree descent.
 *
 * The slot also holds what a read checks before it returns the record (its uid and its type,
 * interned and so in cache), so that a point read with a uid touches the slot and not the
 * record. A read without one (most reads) touches neither: the point index keeps each record
 * and its group version beside the slot, and `put` sets them there on every write.
 */
export class Slot {
  #record: Resource;
  #type: Type;
  #bytes: number;
  /** The uid of every record the slot holds: a write never changes the incarnation in place. */
  readonly uid: string;

  constructor(
    record: Resource,
    bytes: number,
    /** The share epoch the slot was made in: it may change only while that epoch lasts. */
    readonly epoch: number,
  ) {
    const id = record.id as ValidID;
    this.#record = record;
    this.#type = id.type;
    this.#bytes = bytes;
    this.uid = id.uid;
  }

  get record(): Resource {
    return this.#record;
  }

  /** The stored record's type, group version included. */
  get type(): Type {
    return this.#type;
  }

  /**
   * The stored record's `recordBytes`, kept so that replacing or removing it does not walk a
   * record that is most likely no longer in cache.
   */
  get bytes(): number {
    return this.#bytes;
  }

  /** Replaces the record with another of the same incarnation, which takes `bytes`. */
  replace(record: Resource, bytes: number): void {
    this.#record = record;
    this.#type = (record.id as ValidID).type;
    this.#bytes = bytes;
  }
}

/**
 * The two ordered indexes of the store at one point in time. Nothing changes them once they are
 * handed out as a snapshot: the store writes to clones (copy-on-write, node by node), and never
 * changes a slot they hold.
 *
 * - `byId`: resource key (group, kind, partition, namespace, name) → slot. A List is a range
 *   scan from `listPrefix` (up to the first wildcard), then a filter.
 * - `byOwner`: owner key (the owner's resource key and uid) followed by the resource key →
 *   slot (the same one). Appending the resource key makes the non-unique owner index unique;
 *   ListByOwner is a range scan over one owner key. Resources without an owner are not in it.
 */
export interface Indexes {
  readonly byId: BTree<string, Slot>;
  readonly byOwner: BTree<string, Slot>;
}

/**
 * What a record takes in memory beyond its content (`contentBytes`): its objects and its index
 * entries. The benchmark's small resource (one label, 32 bytes of data) took 888 bytes of heap
 * for 205 bytes of content, 951 since each key has a slot, 979 since the point index's last level
 * is a `NameTable`, and 1,120 (1,134 at 100k resources) since that table keeps its keys'
 * characters inline: the estimate (905) is now about a fifth low for the smallest resources,
 * inside the margin a quota leaves (a quarter of the heap by default); a large value takes about
 * its own size. (Only the proposing node checks the quota, so raising it changes no replicated
 * state; it would shrink what every configured quota admits.)
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
 * The store's current tables: the two ordered indexes plus a hash index of the same slots for
 * point lookups (reads and the CAS check of every write), which costs O(1) instead of the
 * B+ tree's O(log n) string comparisons, each a likely cache miss at a million records.
 *
 * Writes go to the trees in place while no one holds them; `share()` hands the current trees out
 * (O(1)) and makes the next write clone them first, so a shared tree never changes. A write then
 * copies only the O(log n) nodes on its path. The hash index is never shared: point reads of a
 * view go through its tree.
 *
 * Slots are shared with the trees that hold them, so a slot made before the last `share()` is
 * never changed again: a write to its key puts a new slot in its place (through the trees, as
 * an insert does). A slot made since is in no shared tree, and a write that keeps the key's
 * owner replaces the record in it without touching the trees. `share()` starts a new epoch, and
 * a slot's epoch says which one it was made in. In a Raft node, trees are shared only by watches
 * being opened and snapshots being taken, so nearly every update of an existing resource takes
 * the short path.
 */
export class Tables {
  #byId: BTree<string, Slot> = newIndex();
  #byOwner: BTree<string, Slot> = newIndex();
  readonly #current = new PointIndex<Slot>();
  #shared = false;
  #epoch = 0;
  #bytes = 0;

  /** The number of resources. */
  get size(): number {
    return this.#current.size;
  }

  /** The sum of `recordBytes` over the records: an estimate of the memory they take. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The record stored under `id`'s key, if it has `id`'s group version: a read that finds it
   * this way touches neither the slot nor the record. The uid plays no part.
   */
  record(id: ValidID): Resource | undefined {
    return this.#current.read(id);
  }

  /** The slot of `id`'s key, if a record is stored under it: what `put` and `remove` take. */
  slot(id: ValidID): Slot | undefined {
    return this.#current.get(id);
  }

  /**
   * Stores `record` under its key, in place of what `slot` (what `slot()` returned for the key)
   * holds. The owner index follows the owner: storage does not forbid changing it, so an owner
   * entry that no longer applies is removed.
   */
  put(record: Resource, slot: Slot | undefined): void {
    const previous = slot?.record;
    const bytes = recordBytes(record);
    const growth = bytes - (slot?.bytes ?? 0);
    if (
      slot !== undefined &&
      slot.epoch === this.#epoch &&
      slot.uid === (record.id as ValidID).uid &&
      sameOwner(previous, record)
    ) {
      // Not in any shared tree (a share since the slot was made would have ended its epoch),
      // and both trees already map the key to it. (The store never replaces an incarnation in
      // a write; were it asked to, the new one would get a slot of its own.)
      slot.replace(record, bytes);
      this.#current.set(record.id as ValidID, slot, record);
      this.#bytes += growth;
      return;
    }
    this.#unshare();
    const key = resourceKey(record.id as ValidID);
    const fresh = new Slot(record, bytes, this.#epoch);
    // The point index first: it is the one that can refuse a new key (when full), and must do
    // so before anything changed.
    this.#current.set(record.id as ValidID, fresh, record);
    this.#bytes += growth;
    this.#byId.set(key, fresh);
    const oldOwner = previous?.owner === undefined ? undefined : ownerIndexKey(previous.owner, key);
    const newOwner = record.owner === undefined ? undefined : ownerIndexKey(record.owner, key);
    if (oldOwner !== undefined && oldOwner !== newOwner) this.#byOwner.delete(oldOwner);
    if (newOwner !== undefined) this.#byOwner.set(newOwner, fresh);
  }

  /** What `bytes` would be with `record` stored in place of what `slot` holds. */
  bytesWith(record: Resource, slot: Slot | undefined): number {
    return this.#bytes + recordBytes(record) - (slot?.bytes ?? 0);
  }

  /** Removes the record `slot` holds. */
  remove(slot: Slot): void {
    this.#unshare();
    const previous = slot.record;
    const key = resourceKey(previous.id as ValidID);
    this.#byId.delete(key);
    this.#current.delete(previous.id as ValidID);
    if (previous.owner !== undefined) this.#byOwner.delete(ownerIndexKey(previous.owner, key));
    this.#bytes -= slot.bytes;
  }

  /**
   * The current indexes, for a view, snapshot or watch that outlives this call. O(1): the trees
   * are cloned lazily, by the next write, and the slots in them are frozen by a new epoch.
   */
  share(): Indexes {
    this.#shared = true;
    this.#epoch++;
    return { byId: this.#byId, byOwner: this.#byOwner };
  }

  /**
   * The current indexes for a scan that ends before the next write (a List inside one call).
   * They must not be kept: the next write may change them, and their slots, in place.
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

/** Whether two records have the same owner key: the same owner incarnation, or none. */
function sameOwner(a: Resource | undefined, b: Resource): boolean {
  const x = a?.owner;
  const y = b.owner;
  if (x === undefined || y === undefined) return x === y;
  const xType = x.type as Type;
  const yType = y.type as Type;
  const xTenancy = x.tenancy as Tenancy;
  const yTenancy = y.tenancy as Tenancy;
  return (
    x.uid === y.uid &&
    x.name === y.name &&
    xType.group === yType.group &&
    xType.kind === yType.kind &&
    xTenancy.partition === yTenancy.partition &&
    xTenancy.namespace === yTenancy.namespace
  );
}

/** The owner index key of a resource owned by `owner`, stored under `key`. */
function ownerIndexKey(owner: ID, key: string): string {
  return ownerKey(owner) + key;
}
