import type { ID, Resource, Tenancy, WatchEvent } from "@raftstore/proto";

/** Matches any value of a tenancy field in List and WatchList queries. */
export const Wildcard = "*";

/**
 * How fresh a read must be.
 *
 * Operations without a consistency argument (`watchList`, `listByOwner`) are eventual.
 */
export enum ReadConsistency {
  /**
   * Served from the local copy of the data. Reads on one backend instance are monotonic — a
   * later read never returns older data than an earlier one, nor older than a watch event
   * already delivered by the same instance — but they may be stale, and there is no
   * read-your-writes guarantee, not even on the same node.
   */
  Eventual = "eventual",
  /**
   * Linearizable: the result reflects every write acknowledged before the read began. On a
   * replicated backend this costs a round trip to a quorum (and a forward to the leader).
   */
  Strong = "strong",
}

/** A type without its group version: the part of a type that storage identity uses. */
export interface UnversionedType {
  group: string;
  kind: string;
}

/** Per-call options. */
export interface CallOptions {
  /**
   * Aborts the call: the returned promise rejects with `signal.reason`. An aborted write may
   * still take effect (it may already be in a replicated log); read it back to find out.
   */
  signal?: AbortSignal;
}

/**
 * The storage contract: a small set of compare-and-swap operations on whole resources, reads,
 * lists and watches. Any engine that passes `runConformance` from
 * `@raftstore/storage/conformance` is a valid backend.
 *
 * Identity: a resource is stored under its key (group, kind, partition, namespace, name). The
 * uid and the group version are not part of the key, so at most one resource exists per key.
 *
 * Immutability: resources a backend returns are frozen and never change afterwards; a backend
 * never mutates the objects it is given.
 *
 * Malformed input (a missing id, type or tenancy, an empty name, a version that is not a
 * string) is rejected with `InvalidArgumentError` and changes nothing.
 */
export interface Backend {
  /**
   * Reads one resource by key.
   *
   * - `NotFoundError` when nothing is stored under the key, or when `id.uid` is non-empty and
   *   differs from the stored uid (an empty uid matches any incarnation).
   * - `GroupVersionMismatchError`, carrying the stored resource, when `id.type.groupVersion`
   *   differs from the stored one. The uid check comes first.
   * - `InconsistentError` when `consistency` is `Strong` and cannot be satisfied (no leader,
   *   no quorum, leadership lost), or when `consistency` is not a known value.
   */
  read(consistency: ReadConsistency, id: ID, options?: CallOptions): Promise<Resource>;

  /**
   * Writes a whole resource if, and only if, `resource.version` is the version currently
   * stored under its key (`""` means "create: nothing may be stored").
   *
   * Checks, in order: nothing stored and a non-empty version → `CASFailureError`; something
   * stored with a different uid (an empty uid is different too) → `WrongUidError`; something
   * stored with a different version → `CASFailureError`.
   *
   * On success the backend stores a copy with a new version: non-empty, opaque, different after
   * every successful write (status-only rewrites included). Versions are compared only for
   * equality, never for order. The group version is not checked: a write with a new group
   * version replaces the stored form. Nothing else is assigned or validated here (uids and
   * generations are the caller's). Returns the stored resource, equal to what a later read
   * returns, and publishes an upsert event to matching watches after the write is committed.
   * A failed write publishes nothing.
   */
  writeCAS(resource: Resource, options?: CallOptions): Promise<Resource>;

  /**
   * Deletes a resource if `version` is the version currently stored under the key.
   *
   * Idempotent: nothing stored, or a stored resource whose uid differs from `id.uid` (an empty
   * uid differs too), is a no-op that succeeds and publishes nothing. A version mismatch
   * (including `""`) is `CASFailureError`. The group version is ignored. On success a delete
   * event carrying the full resource as it was stored is published to matching watches.
   */
  deleteCAS(id: ID, version: string, options?: CallOptions): Promise<void>;

  /**
   * Lists the resources of one group and kind, of every group version, whose partition and
   * namespace equal the query's (or the query field is `Wildcard`) and whose name starts with
   * `namePrefix` (case-sensitive, byte-wise; `""` matches every name). The order is not part of
   * the contract. Strong lists are linearizable like strong reads.
   */
  list(
    consistency: ReadConsistency,
    type: UnversionedType,
    tenancy: Tenancy,
    namePrefix: string,
    options?: CallOptions,
  ): Promise<Resource[]>;

  /**
   * Lists every resource, of any type, whose owner is `id` — matched on group, kind, tenancy,
   * name and uid; the owner's group version is ignored. References outlive the owner: deleting
   * the owner does not remove its children from the result. Eventually consistent, and monotonic
   * with watches on the same backend instance: after a watch delivered the owner's delete, this
   * returns every child that existed when the owner was deleted.
   */
  listByOwner(id: ID, options?: CallOptions): Promise<Resource[]>;

  /**
   * Watches the resources that `list` with the same arguments would return.
   *
   * The watch delivers, in this order: an upsert for every matching resource in one consistent
   * snapshot; exactly one end-of-snapshot event, also when the snapshot is empty; then an upsert
   * for every later successful write and a delete for every later successful delete of a
   * matching resource, in commit order, each exactly once. After an event is delivered, an
   * eventual read on the same backend instance returns at least that state.
   *
   * A watch ends with `WatchClosedError` when the backend can no longer continue it (a snapshot
   * restore replaced the data, the consumer fell too far behind, the backend shut down); the
   * consumer then discards what it built from the watch and opens a new one.
   */
  watchList(
    type: UnversionedType,
    tenancy: Tenancy,
    namePrefix: string,
    options?: CallOptions,
  ): Promise<Watch>;
}

/**
 * A stream of watch events. Close it when done: an open watch holds memory in the backend.
 *
 * `for await (const event of watch)` consumes it; leaving the loop early closes the watch.
 * `using watch = await backend.watchList(…)` closes it at the end of the scope.
 */
export interface Watch extends AsyncIterable<WatchEvent>, Disposable {
  /**
   * Resolves with the next event. Rejects with `WatchClosedError` once the watch was closed
   * (by `close()` or by the backend), and with `options.signal.reason` when the signal aborts
   * first; an aborted `next()` loses no event.
   */
  next(options?: CallOptions): Promise<WatchEvent>;
  /** Ends the watch and frees what it holds. Idempotent. */
  close(): void;
}

/**
 * A backend that can also overwrite: write a resource over whatever version of the same
 * incarnation is stored, on a condition that leaves the result exactly what a read, a change
 * and a compare-and-swap of it would give.
 *
 * Optional. Storage writes stay compare-and-swaps of whole resources; the resource service's
 * blanket writes (no version given) are built from a read of the stored resource, and depend
 * on it only through its uid, owner and status. When nothing else changed those, the write
 * is the same on any version, so a backend that checks them where the write is ordered (in a
 * Raft backend, when the entry is applied) can take concurrent blanket writes of one key in one
 * round each, instead of losing swaps to each other and writing again, as etcd's Put takes
 * concurrent puts. A backend without it serves the same writes, slower under contention.
 */
export interface OverwritingBackend extends Backend {
  /**
   * Writes a whole resource over the resource stored under its key, whatever the stored
   * version, if the stored one is the same incarnation (uid) with the same owner (including its
   * uid) and the same status as `resource`. `resource.version` is not read.
   *
   * Checks, in order: nothing stored → `CASFailureError`; something stored with a different
   * uid (an empty uid is different too) → `WrongUidError`; a different owner or status →
   * `CASFailureError`. Otherwise as `writeCAS`: a new version, the stored resource returned,
   * an upsert event published after the write is committed, nothing published on failure.
   */
  overwrite(resource: Resource, options?: CallOptions): Promise<Resource>;
}

/** Whether `backend` implements the optional `overwrite`. */
export function canOverwrite(backend: Backend): backend is OverwritingBackend {
  return typeof (backend as Partial<OverwritingBackend>).overwrite === "function";
}

/**
 * A backend that can also delete an incarnation: whatever version of it is stored.
 *
 * Optional, as `overwrite`. The resource service's blanket deletes (no version given) learn the
 * incarnation with a strong read and used to delete the version that read returned, with a
 * compare-and-swap: under a steady stream of writes to the key, the version had changed by the
 * time the delete was ordered, and most such deletes ran out of attempts. A backend that takes
 * the incarnation's delete where it is ordered (in a Raft backend, when the entry is applied)
 * deletes it in one round, as etcd's Delete does.
 */
export interface IncarnationDeletingBackend extends Backend {
  /**
   * Deletes the resource stored under `id`'s key, whatever its version, if it is the
   * incarnation `id.uid` names. The group version is ignored. Nothing stored, or a stored
   * resource with another uid (an empty uid is another), is a no-op that publishes nothing, as
   * in `deleteCAS`. Otherwise as `deleteCAS`: a delete event with the stored resource is
   * published after the delete is committed.
   */
  deleteIncarnation(id: ID, options?: CallOptions): Promise<void>;
}

/** Whether `backend` implements the optional `deleteIncarnation`. */
export function canDeleteIncarnation(backend: Backend): backend is IncarnationDeletingBackend {
  return typeof (backend as Partial<IncarnationDeletingBackend>).deleteIncarnation === "function";
}
