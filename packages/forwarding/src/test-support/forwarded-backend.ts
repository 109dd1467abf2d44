import type { ID, Resource, Tenancy } from "@raftstore/proto";
import {
  type Backend,
  type CallOptions,
  type IncarnationDeletingBackend,
  type OverwritingBackend,
  ReadConsistency,
  type UnversionedType,
  validateConsistency,
  type Watch,
} from "@raftstore/storage";
import type { ForwardingClient } from "../client.js";

/**
 * A follower as the Raft backend builds one, with no replication lag: writes, deletes and
 * strongly consistent reads and lists go to the leader through the forwarding client; eventual
 * reads, owner lists and watches are served by `local`, which here is the leader's own store
 * (a real follower would apply the leader's log to a store of its own).
 */
export class ForwardedBackend implements OverwritingBackend, IncarnationDeletingBackend {
  readonly #client: ForwardingClient;
  readonly #local: Backend;

  constructor(client: ForwardingClient, local: Backend) {
    this.#client = client;
    this.#local = local;
  }

  writeCAS(resource: Resource, options?: CallOptions): Promise<Resource> {
    return this.#client.writeCAS(resource, options);
  }

  overwrite(resource: Resource, options?: CallOptions): Promise<Resource> {
    return this.#client.overwrite(resource, options);
  }

  deleteCAS(id: ID, version: string, options?: CallOptions): Promise<void> {
    return this.#client.deleteCAS(id, version, options);
  }

  deleteIncarnation(id: ID, options?: CallOptions): Promise<void> {
    return this.#client.deleteIncarnation(id, options);
  }

  async read(consistency: ReadConsistency, id: ID, options?: CallOptions): Promise<Resource> {
    validateConsistency(consistency);
    if (consistency === ReadConsistency.Eventual) return this.#local.read(consistency, id, options);
    return this.#client.read(id, options);
  }

  async list(
    consistency: ReadConsistency,
    type: UnversionedType,
    tenancy: Tenancy,
    namePrefix: string,
    options?: CallOptions,
  ): Promise<Resource[]> {
    validateConsistency(consistency);
    if (consistency === ReadConsistency.Eventual) {
      return this.#local.list(consistency, type, tenancy, namePrefix, options);
    }
    return this.#client.list(type, tenancy, namePrefix, options);
  }

  listByOwner(id: ID, options?: CallOptions): Promise<Resource[]> {
    return this.#local.listByOwner(id, options);
  }

  watchList(
    type: UnversionedType,
    tenancy: Tenancy,
    namePrefix: string,
    options?: CallOptions,
  ): Promise<Watch> {
    return this.#local.watchList(type, tenancy, namePrefix, options);
  }
}
