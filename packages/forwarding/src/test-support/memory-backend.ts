import { clone, create } from "@bufbuild/protobuf";
import {
  type ID,
  type Resource,
  ResourceSchema,
  type Tenancy,
  type WatchEvent,
  WatchEventSchema,
} from "@raftstore/proto";
import {
  type Backend,
  CASFailureError,
  type CallOptions,
  GroupVersionMismatchError,
  matchesQuery,
  NotFoundError,
  ownerKey,
  type ReadConsistency,
  resourceKey,
  type UnversionedType,
  validateConsistency,
  validateId,
  validateListQuery,
  validateResource,
  validateVersion,
  type Watch,
  WatchQueue,
  WrongUidError,
} from "@raftstore/storage";
import { deepFreeze } from "../deep-freeze.js";

interface Subscription {
  type: UnversionedType;
  tenancy: Tenancy;
  namePrefix: string;
  watch: WatchQueue;
}

/**
 * A minimal in-memory Backend for tests: a Map, a version counter and a set of watches, all
 * changed synchronously. It plays the leader's ForwardingTarget, and the follower's local store
 * in the conformance run. (Other packages' test backends are not exported, so this one is ours.)
 */
export class MemoryBackend implements Backend {
  readonly #data = new Map<string, Resource>();
  readonly #subscriptions = new Set<Subscription>();
  #lastVersion = 0;

  async read(consistency: ReadConsistency, id: ID, _options?: CallOptions): Promise<Resource> {
    validateConsistency(consistency);
    validateId(id);
    const stored = this.#data.get(resourceKey(id));
    if (stored === undefined || (id.uid !== "" && id.uid !== stored.id?.uid)) {
      throw new NotFoundError();
    }
    if (id.type.groupVersion !== stored.id?.type?.groupVersion) {
      throw new GroupVersionMismatchError(id.type, stored);
    }
    return stored;
  }

  async writeCAS(resource: Resource, _options?: CallOptions): Promise<Resource> {
    validateResource(resource);
    const key = resourceKey(resource.id);
    const stored = this.#data.get(key);
    const version = String(++this.#lastVersion);
    if (stored === undefined && resource.version !== "") throw new CASFailureError();
    if (stored !== undefined && stored.id?.uid !== resource.id.uid) throw new WrongUidError();
    if (stored !== undefined && stored.version !== resource.version) throw new CASFailureError();
    const written = clone(ResourceSchema, resource);
    written.version = version;
    deepFreeze(written);
    this.#data.set(key, written);
    this.#publish("upsert", written);
    return written;
  }

  async deleteCAS(id: ID, version: string, _options?: CallOptions): Promise<void> {
    validateId(id);
    validateVersion(version);
    const key = resourceKey(id);
    const stored = this.#data.get(key);
    if (stored === undefined || stored.id?.uid !== id.uid) return;
    if (stored.version !== version) throw new CASFailureError();
    this.#data.delete(key);
    this.#publish("delete", stored);
  }

  async list(
    consistency: ReadConsistency,
    type: UnversionedType,
    tenancy: Tenancy,
    namePrefix: string,
    _options?: CallOptions,
  ): Promise<Resource[]> {
    validateConsistency(consistency);
    validateListQuery(type, tenancy, namePrefix);
    return this.#matching(type, tenancy, namePrefix);
  }

  async listByOwner(id: ID, _options?: CallOptions): Promise<Resource[]> {
    validateId(id);
    const key = ownerKey(id);
    return [...this.#data.values()].filter(
      (r) => r.owner !== undefined && ownerKey(r.owner) === key,
    );
  }

  async watchList(
    type: UnversionedType,
    tenancy: Tenancy,
    namePrefix: string,
    _options?: CallOptions,
  ): Promise<Watch> {
    validateListQuery(type, tenancy, namePrefix);
    const subscription: Subscription = {
      type,
      tenancy,
      namePrefix,
      watch: new WatchQueue({ onClose: () => this.#subscriptions.delete(subscription) }),
    };
    for (const resource of this.#matching(type, tenancy, namePrefix)) {
      subscription.watch.push(event("upsert", resource));
    }
    subscription.watch.push(
      deepFreeze(create(WatchEventSchema, { event: { case: "endOfSnapshot", value: {} } })),
    );
    this.#subscriptions.add(subscription);
    return subscription.watch;
  }

  #matching(type: UnversionedType, tenancy: Tenancy, namePrefix: string): Resource[] {
    return [...this.#data.values()].filter((r) =>
      matchesQuery(r.id as ID, type, tenancy, namePrefix),
    );
  }

  #publish(kind: "upsert" | "delete", resource: Resource): void {
    for (const s of this.#subscriptions) {
      if (matchesQuery(resource.id as ID, s.type, s.tenancy, s.namePrefix)) {
        s.watch.push(event(kind, resource));
      }
    }
  }
}

function event(kind: "upsert" | "delete", resource: Resource): WatchEvent {
  return deepFreeze(create(WatchEventSchema, { event: { case: kind, value: { resource } } }));
}
