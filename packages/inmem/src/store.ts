import type { ID, Resource, Tenancy } from "@raftstore/proto";
import {
  CASFailureError,
  checkOverwrite,
  hasIdShape,
  InvalidArgumentError,
  type UnversionedType,
  type ValidID,
  validateId,
  validateListQuery,
  validateResource,
  validateVersion,
  WatchClosedError,
  WrongUidError,
} from "@raftstore/storage";
import { deleteEvent, upsertEvent } from "./events.js";
import { listMatching, listOwnedBy, matchingRecords, readResult, readsAs } from "./queries.js";
import { freezeRecord } from "./record.js";
import { type Restoration, StoreRestoration } from "./restoration.js";
import { StoreSnapshot } from "./store-snapshot.js";
import { StoreView } from "./store-view.js";
import { openStoreWatch, type StoreWatch } from "./store-watch.js";
import { Subscriptions } from "./subscriptions.js";
import { type Slot, Tables } from "./tables.js";

/** A caller's new version: a non-empty string. */
function validateNewVersion(newVersion: string): void {
  validateVersion(newVersion, "newVersion");
  if (newVersion === "") throw new InvalidArgumentError("newVersion", "is required");
}

/** Options of a Store. */
export interface StoreOptions {
  /** Events a watch may fall behind before it is ended with WatchClosedError. Default 10_000. */
  maxWatchLag?: number;
}

const DEFAULT_MAX_WATCH_LAG = 10_000;

/**
 * The in-memory resource database: what serves every read and watch, and where every committed
 * Raft entry lands. The counterpart of Consul's `inmem.Store` (go-memdb): immutable indexes with
 * O(log n) writes and O(1) MVCC views, an event index, and watches fed after each commit.
 *
 * Every method is synchronous and deterministic — no clock, no I/O, and no randomness in what it
 * returns (the point index's seeded hash decides only where entries sit in memory) — so that a
 * Raft state machine can call it from its apply function and every replica ends in the same
 * state. Versions are not invented here: the caller supplies each write's new version (the Raft
 * entry's index, or InmemBackend's counter).
 *
 * Records handed out (reads, lists, views, snapshots, watch events) are deeply frozen and
 * shared, never copied per read; inputs are never changed. Malformed input throws
 * InvalidArgumentError before anything changes.
 *
 * Ordering: a write or delete changes the tables, bumps the event index and only then delivers
 * its event to watches, all in one synchronous call. So events arrive in commit order, and once a
 * watch consumer sees an event, a read of the store returns at least that state.
 */
export class Store {
  #tables = new Tables();
  #eventIndex = 0;
  #closed = false;
  readonly #subscriptions = new Subscriptions();
  readonly #maxWatchLag: number;

  constructor(options: StoreOptions = {}) {
    const maxWatchLag = options.maxWatchLag ?? DEFAULT_MAX_WATCH_LAG;
    if (!Number.isSafeInteger(maxWatchLag) || maxWatchLag < 1) {
      throw new InvalidArgumentError(
        "options.maxWatchLag",
        `must be a positive integer, got ${String(maxWatchLag)}`,
      );
    }
    this.#maxWatchLag = maxWatchLag;
  }

  /** The event index of the last committed change (0 for a new store; a restore counts as one). */
  get eventIndex(): number {
    return this.#eventIndex;
  }

  /** The number of resources stored. */
  get size(): number {
    return this.#tables.size;
  }

  /**
   * An estimate of the memory the stored resources take, in bytes: each one's content (the
   * characters of its strings, the bytes of its byte arrays) plus a fixed overhead per resource
   * for its objects and index entries (`RECORD_OVERHEAD_BYTES`).
   * A function of the content alone, so every replica of the same state says the same. What a
   * quota (the Raft backend's `quotaBytes`) is checked against.
   */
  get bytes(): number {
    return this.#tables.bytes;
  }

  /**
   * What `bytes` would be if `resource` were stored over what its key holds now: the check a
   * quota makes before a write is proposed. The resource's own version stands in for the one it
   * will get. Throws InvalidArgumentError for a malformed resource.
   */
  bytesWith(resource: Resource): number {
    validateResource(resource);
    return this.#tables.bytesWith(resource, this.#tables.slot(resource.id));
  }

  /** The number of open watches. */
  get watchCount(): number {
    return this.#subscriptions.size;
  }

  /**
   * The resource stored under `id`'s key. NotFoundError when there is none or when `id.uid` is
   * non-empty and differs from the stored uid; then GroupVersionMismatchError (carrying the
   * stored resource) when the group versions differ. O(1).
   */
  read(id: ID): Resource {
    // Validated lazily: a read that returns a record has found a stored id with the same key
    // strings, uid ("" or the same) and group version ("" or the same), and the stored id passed
    // validateId when it was written, so this one would too. Only the shape is checked up front;
    // any other outcome validates in full, so errors are what they would be the other way.
    let slot: Slot | undefined;
    if (hasIdShape(id)) {
      // An empty uid (most reads') matches any incarnation: the index alone can answer.
      if (id.uid === "") {
        const record = this.#tables.record(id);
        if (record !== undefined) return record;
      }
      slot = this.#tables.slot(id);
      if (slot !== undefined && readsAs(id, slot)) return slot.record;
    }
    validateId(id); // throws for every id without that shape, so `slot` is the lookup's
    return readResult(id, slot);
  }

  /**
   * Stores a frozen copy of `resource` with version `newVersion` if `resource.version` is the
   * stored version (`""`: nothing may be stored), and returns it. In order: nothing stored and a
   * non-empty version → CASFailureError; a stored resource with another uid → WrongUidError; a
   * stored resource with another version → CASFailureError. The group version is not checked (a
   * write replaces the stored form). A failed write changes nothing and publishes nothing.
   *
   * `newVersion` must be non-empty and differ from every version this key has had, which the
   * caller guarantees (a Raft index, a counter). O(log n); O(1) for an update while no view,
   * snapshot or watch opened since the key's last create or owner change holds it.
   */
  writeCAS(resource: Resource, newVersion: string): Resource {
    validateResource(resource);
    validateNewVersion(newVersion);
    const slot = this.#tables.slot(resource.id);
    if (slot === undefined) {
      if (resource.version !== "") throw new CASFailureError();
    } else {
      if (slot.uid !== resource.id.uid) throw new WrongUidError();
      if (slot.record.version !== resource.version) throw new CASFailureError();
    }
    return this.#put(resource, newVersion, slot);
  }

  /**
   * Stores a frozen copy of `resource` with version `newVersion` over the resource stored under
   * its key, whatever that one's version, if it is the same incarnation with the same owner and
   * status (`OverwritingBackend.overwrite` of @raftstore/storage), and returns it. In order:
   * nothing stored → CASFailureError; another uid → WrongUidError; another owner or status →
   * CASFailureError. `resource.version` is not read. As `writeCAS`: O(log n), or O(1).
   */
  overwrite(resource: Resource, newVersion: string): Resource {
    validateResource(resource);
    validateNewVersion(newVersion);
    const slot = this.#tables.slot(resource.id);
    checkOverwrite(slot?.record, resource);
    return this.#put(resource, newVersion, slot);
  }

  #put(resource: Resource, newVersion: string, slot: Slot | undefined): Resource {
    if (slot?.record.version === newVersion) {
      throw new InvalidArgumentError(
        "newVersion",
        `must differ from the stored version, got ${JSON.stringify(newVersion)} again`,
      );
    }
    const record = freezeRecord(resource, newVersion);
    this.#tables.put(record, slot);
    this.#eventIndex++;
    this.#subscriptions.publish(record, upsertEvent);
    return record;
  }

  /**
   * Deletes the resource stored under `id`'s key if its version is `version`. Nothing stored, or
   * a stored resource whose uid is not `id.uid` (an empty uid included), is a no-op that publishes
   * nothing. Another version → CASFailureError. The group version is ignored. O(log n).
   */
  deleteCAS(id: ID, version: string): void {
    validateId(id);
    validateVersion(version);
    this.#delete(id, version);
  }

  /**
   * Deletes the resource stored under `id`'s key, whatever its version, if its uid is `id.uid`
   * (`IncarnationDeletingBackend.deleteIncarnation` of @raftstore/storage). Nothing stored, or
   * another uid (an empty uid included), is a no-op that publishes nothing. O(log n).
   */
  deleteIncarnation(id: ID): void {
    validateId(id);
    this.#delete(id, undefined);
  }

  /** Deletes the incarnation `id` names if it is stored at `version` (any, when undefined). */
  #delete(id: ValidID, version: string | undefined): void {
    const slot = this.#tables.slot(id);
    if (slot === undefined || slot.uid !== id.uid) return;
    const stored = slot.record;
    if (version !== undefined && stored.version !== version) throw new CASFailureError();
    this.#tables.remove(slot);
    this.#eventIndex++;
    this.#subscriptions.publish(stored, deleteEvent);
  }

  /**
   * The resources of one group and kind (every group version) whose partition and namespace equal
   * the query's or are wildcarded (`"*"`) and whose name starts with `namePrefix`, in key order.
   * A range scan up to the first wildcard, then a filter: O(log n + scanned).
   */
  list(type: UnversionedType, tenancy: Tenancy, namePrefix: string): Resource[] {
    validateListQuery(type, tenancy, namePrefix);
    return listMatching(this.#tables.borrow(), type, tenancy, namePrefix);
  }

  /**
   * The resources, of any type, owned by that incarnation (uid) of `id`; its group version is
   * ignored. Children outlive their owner: deleting the owner does not remove them from here.
   */
  listByOwner(id: ID): Resource[] {
    validateId(id);
    return listOwnedBy(this.#tables.borrow(), id);
  }

  /**
   * Watches what `list` with the same arguments returns: an upsert per matching resource of one
   * consistent snapshot, exactly one end-of-snapshot event (also for an empty snapshot), then
   * every later matching change in commit order, each exactly once. Taking the snapshot and
   * subscribing happen in one synchronous step, so no write can fall between them.
   *
   * The watch ends with WatchClosedError on restore, on close, or when its consumer lets more
   * than `maxWatchLag` live events pile up. A watch opened after `close()` is ended at once.
   */
  watchList(type: UnversionedType, tenancy: Tenancy, namePrefix: string): StoreWatch {
    validateListQuery(type, tenancy, namePrefix);
    // Copies of the query: the caller may change its objects after the call.
    const query = {
      type: { group: type.group, kind: type.kind },
      tenancy: { partition: tenancy.partition, namespace: tenancy.namespace } as Tenancy,
      namePrefix,
    };
    if (this.#closed) {
      const { watch, queue } = openStoreWatch([].values(), this.#maxWatchLag, () => {});
      queue.end(new WatchClosedError("watch closed: the store is closed"));
      return watch;
    }
    const records = matchingRecords(
      this.#tables.share(),
      query.type,
      query.tenancy,
      query.namePrefix,
    );
    let unregister: () => void = () => {};
    const { watch, queue } = openStoreWatch(records, this.#maxWatchLag, () => unregister());
    unregister = this.#subscriptions.add({
      type: query.type,
      tenancy: query.tenancy,
      namePrefix: query.namePrefix,
      deliver: (event) => queue.push(event),
      end: (error) => queue.end(error),
    });
    return watch;
  }

  /** An O(1) read-only view of the current state that later writes never change (MVCC). */
  view(): StoreView {
    return new StoreView(this.#tables.share(), this.#eventIndex);
  }

  /** An O(1) point-in-time snapshot of every resource, iterated lazily in key order. */
  snapshot(): StoreSnapshot {
    return new StoreSnapshot(this.#tables.share(), this.#eventIndex);
  }

  /**
   * Starts replacing the whole content of the store (from a snapshot). The store keeps serving
   * its current content until the restoration commits; the commit swaps the content atomically,
   * counts as one change of the event index, and ends every watch with WatchClosedError.
   */
  restore(): Restoration {
    return new StoreRestoration((tables) => {
      this.#tables = tables;
      this.#eventIndex++;
      this.#subscriptions.endAll(
        () =>
          new WatchClosedError(
            "watch closed: the store was restored from a snapshot; re-list and watch again",
          ),
      );
    });
  }

  /**
   * Ends every watch with WatchClosedError; watches opened later end at once. Reads and writes
   * keep working: the store holds nothing but memory. Idempotent.
   */
  close(): void {
    this.#closed = true;
    this.#subscriptions.endAll(() => new WatchClosedError("watch closed: the store is closed"));
  }
}
