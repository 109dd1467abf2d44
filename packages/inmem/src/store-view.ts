import type { ID, Resource, Tenancy } from "@raftstore/proto";
import {
  resourceKey,
  type UnversionedType,
  validateId,
  validateListQuery,
} from "@raftstore/storage";
import { listMatching, listOwnedBy, readResult } from "./queries.js";
import type { Indexes } from "./tables.js";

/**
 * A read-only view of the store as it was at one event index (MVCC). Taking one costs O(1) and
 * copies nothing; writes that follow copy the index nodes they change instead, so the view keeps
 * seeing exactly the state it was taken at for as long as it is held. Several reads from one view
 * are mutually consistent, which separate reads from the store are not.
 *
 * A view pins the records and index nodes it sees; drop it when done. A snapshot restore does not
 * affect it.
 */
export class StoreView {
  readonly #indexes: Indexes;
  readonly #eventIndex: number;

  /** @private Built by `Store.view()`. */
  constructor(indexes: Indexes, eventIndex: number) {
    this.#indexes = indexes;
    this.#eventIndex = eventIndex;
  }

  /** The event index of the last change this view includes. */
  get eventIndex(): number {
    return this.#eventIndex;
  }

  /** The number of resources in the view. */
  get size(): number {
    return this.#indexes.byId.size;
  }

  /** As `Store.read`, in this view: O(log n). */
  read(id: ID): Resource {
    validateId(id);
    return readResult(id, this.#indexes.byId.get(resourceKey(id)));
  }

  /** As `Store.list`, in this view. */
  list(type: UnversionedType, tenancy: Tenancy, namePrefix: string): Resource[] {
    validateListQuery(type, tenancy, namePrefix);
    return listMatching(this.#indexes, type, tenancy, namePrefix);
  }

  /** As `Store.listByOwner`, in this view. */
  listByOwner(id: ID): Resource[] {
    validateId(id);
    return listOwnedBy(this.#indexes, id);
  }
}
