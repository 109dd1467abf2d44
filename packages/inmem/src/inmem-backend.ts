import type { ID, Resource, Tenancy } from "@raftstore/proto";
import {
  type CallOptions,
  type IncarnationDeletingBackend,
  type OverwritingBackend,
  type ReadConsistency,
  type UnversionedType,
  validateConsistency,
  validateId,
  validateListQuery,
  validateResource,
  validateVersion,
} from "@raftstore/storage";
import { checkQuota, validateQuotaBytes } from "./quota.js";
import type { Restoration } from "./restoration.js";
import { Store, type StoreOptions } from "./store.js";
import type { StoreWatch } from "./store-watch.js";

/** Options of an InmemBackend. */
export interface InmemBackendOptions extends StoreOptions {
  /**
   * The most the store may hold, in the bytes of `Store.bytes` (each resource's content plus a
   * fixed overhead: an estimate of its memory), as the Raft backend's option of the same name. A
   * write that would grow the store past it is refused with QuotaExceededError and changes
   * nothing; deletes, and writes that do not grow the store, still go through. Default: none.
   */
  quotaBytes?: number;
}

/**
 * A complete single-process Backend over a Store: for tests, development and embedding where
 * replication is not needed. One process is trivially linearizable, so both consistencies read
 * the same data and strong lists are supported.
 *
 * Versions come from a counter ("1", "2", …) taken before the CAS check, so failed writes leave
 * gaps, as in Consul. Every call validates its input first (InvalidArgumentError, nothing
 * changes), then honours an already aborted `options.signal` by rejecting with its reason.
 */
export class InmemBackend implements OverwritingBackend, IncarnationDeletingBackend {
  /** The database underneath, for views, snapshots and restores. */
  readonly store: Store;
  readonly #quotaBytes: number | undefined;
  #lastVersion = 0;

  constructor(options: InmemBackendOptions = {}) {
    validateQuotaBytes(options.quotaBytes);
    this.store = new Store(options);
    this.#quotaBytes = options.quotaBytes;
  }

  async read(consistency: ReadConsistency, id: ID, options?: CallOptions): Promise<Resource> {
    validateConsistency(consistency);
    options?.signal?.throwIfAborted();
    return this.store.read(id); // which validates the id
  }

  async writeCAS(resource: Resource, options?: CallOptions): Promise<Resource> {
    validateResource(resource);
    options?.signal?.throwIfAborted();
    checkQuota(this.store, resource, this.#quotaBytes);
    return this.store.writeCAS(resource, String(++this.#lastVersion));
  }

  async overwrite(resource: Resource, options?: CallOptions): Promise<Resource> {
    validateResource(resource);
    options?.signal?.throwIfAborted();
    checkQuota(this.store, resource, this.#quotaBytes);
    return this.store.overwrite(resource, String(++this.#lastVersion));
  }

  async deleteCAS(id: ID, version: string, options?: CallOptions): Promise<void> {
    validateId(id);
    validateVersion(version);
    options?.signal?.throwIfAborted();
    this.store.deleteCAS(id, version);
  }

  async deleteIncarnation(id: ID, options?: CallOptions): Promise<void> {
    validateId(id);
    options?.signal?.throwIfAborted();
    this.store.deleteIncarnation(id);
  }

  async list(
    consistency: ReadConsistency,
    type: UnversionedType,
    tenancy: Tenancy,
    namePrefix: string,
    options?: CallOptions,
  ): Promise<Resource[]> {
    validateConsistency(consistency);
    validateListQuery(type, tenancy, namePrefix);
    options?.signal?.throwIfAborted();
    return this.store.list(type, tenancy, namePrefix);
  }

  async listByOwner(id: ID, options?: CallOptions): Promise<Resource[]> {
    validateId(id);
    options?.signal?.throwIfAborted();
    return this.store.listByOwner(id);
  }

  async watchList(
    type: UnversionedType,
    tenancy: Tenancy,
    namePrefix: string,
    options?: CallOptions,
  ): Promise<StoreWatch> {
    validateListQuery(type, tenancy, namePrefix);
    options?.signal?.throwIfAborted();
    return this.store.watchList(type, tenancy, namePrefix);
  }

  /**
   * Starts replacing the whole content (see `Store.restore`). Restore through here rather than
   * through `store.restore()`: on commit, the version counter moves past every decimal version
   * restored, so that a later write never hands out a version a restored resource already has.
   */
  restore(): Restoration {
    const restoration = this.store.restore();
    let highest = 0;
    return {
      get size() {
        return restoration.size;
      },
      apply: (resource) => {
        restoration.apply(resource);
        highest = Math.max(highest, decimalVersion(resource.version));
      },
      commit: () => {
        restoration.commit();
        this.#lastVersion = Math.max(this.#lastVersion, highest);
      },
      abort: () => restoration.abort(),
    };
  }

  /** Ends every watch with WatchClosedError (see `Store.close`). */
  close(): void {
    this.store.close();
  }
}

/** The numeric value of a version this backend could also generate, else 0. */
function decimalVersion(version: string): number {
  return /^[1-9][0-9]{0,14}$/.test(version) ? Number(version) : 0;
}
