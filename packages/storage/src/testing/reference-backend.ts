import { clone, create } from "@bufbuild/protobuf";
import {
  type ID,
  type Resource,
  ResourceSchema,
  type Tenancy,
  type WatchEvent,
  WatchEventSchema,
} from "@raftstore/proto";
import type {
  CallOptions,
  IncarnationDeletingBackend,
  OverwritingBackend,
  ReadConsistency,
  UnversionedType,
  Watch,
} from "../backend.js";
import {
  CASFailureError,
  GroupVersionMismatchError,
  NotFoundError,
  WrongUidError,
} from "../errors.js";
import { matchesQuery, ownerKey, resourceKey } from "../key.js";
import { checkOverwrite } from "../overwrite.js";
import {
  validateConsistency,
  validateId,
  validateListQuery,
  validateResource,
  validateVersion,
} from "../validate.js";
import { WatchQueue } from "../watch-queue.js";

/** Deliberate bugs, each of which the conformance suite must catch. */
export interface Bugs {
  /** Writes, deletes and reads ignore the uid. */
  ignoreUid?: boolean;
  /** An update keeps the stored version instead of assigning a new one. */
  keepVersion?: boolean;
  /** A failed CAS write still publishes an upsert event. */
  eventOnFailedCAS?: boolean;
  /** Every live event is delivered twice. */
  duplicateEvents?: boolean;
  /** An overwrite checks the uid only, not the owner and status. */
  overwriteAnyState?: boolean;
  /** An incarnation delete deletes whatever is stored, of any uid. */
  deleteAnyIncarnation?: boolean;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !ArrayBuffer.isView(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

interface Subscription {
  type: UnversionedType;
  tenancy: Tenancy;
  namePrefix: string;
  watch: WatchQueue;
}

/**
 * The simplest backend that honours the contract: a Map, a counter and a list of watches, all
 * changed synchronously, so that a snapshot and a subscription are trivially atomic. It exists
 * to prove the conformance suite (it must pass) and, with `bugs`, that the suite has teeth.
 */
export class ReferenceBackend implements OverwritingBackend, IncarnationDeletingBackend {
  readonly #data = new Map<string, Resource>();
  readonly #subscriptions = new Set<Subscription>();
  #lastVersion = 0;
  readonly #bugs: Bugs;

  constructor(bugs: Bugs = {}) {
    this.#bugs = bugs;
  }

  async read(consistency: ReadConsistency, id: ID, _options?: CallOptions): Promise<Resource> {
    validateConsistency(consistency);
    validateId(id);
    const stored = this.#data.get(resourceKey(id));
    if (stored === undefined) throw new NotFoundError();
    if (!this.#bugs.ignoreUid && id.uid !== "" && id.uid !== stored.id?.uid) {
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
    const fail = (error: Error): never => {
      if (this.#bugs.eventOnFailedCAS)
        this.#publish("upsert", deepFreeze(clone(ResourceSchema, resource)));
      throw error;
    };
    if (stored === undefined && resource.version !== "") fail(new CASFailureError());
    if (stored !== undefined) {
      if (!this.#bugs.ignoreUid && stored.id?.uid !== resource.id.uid) fail(new WrongUidError());
      if (stored.version !== resource.version) fail(new CASFailureError());
    }
    return this.#store(key, resource, stored);
  }

  async overwrite(resource: Resource, _options?: CallOptions): Promise<Resource> {
    validateResource(resource);
    const key = resourceKey(resource.id);
    const stored = this.#data.get(key);
    if (this.#bugs.overwriteAnyState && stored !== undefined) {
      checkOverwrite(stored, withState(resource, stored));
    } else {
      checkOverwrite(stored, resource);
    }
    return this.#store(key, resource, stored);
  }

  #store(key: string, resource: Resource, stored: Resource | undefined): Resource {
    const written = clone(ResourceSchema, resource);
    written.version =
      this.#bugs.keepVersion && stored !== undefined ? stored.version : String(++this.#lastVersion);
    deepFreeze(written);
    this.#data.set(key, written);
    this.#publish("upsert", written);
    return written;
  }

  async deleteCAS(id: ID, version: string, _options?: CallOptions): Promise<void> {
    validateId(id);
    validateVersion(version);
    this.#delete(id, version);
  }

  async deleteIncarnation(id: ID, _options?: CallOptions): Promise<void> {
    validateId(id);
    this.#delete(id, undefined);
  }

  /** Deletes the incarnation `id` names, if it is stored at `version` (any, when undefined). */
  #delete(id: ID, version: string | undefined): void {
    const key = resourceKey(id);
    const stored = this.#data.get(key);
    if (stored === undefined) return;
    const anyUid =
      this.#bugs.ignoreUid || (version === undefined && this.#bugs.deleteAnyIncarnation);
    if (!anyUid && stored.id?.uid !== id.uid) return;
    if (version !== undefined && stored.version !== version) throw new CASFailureError();
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
      create(WatchEventSchema, { event: { case: "endOfSnapshot", value: {} } }),
    );
    this.#subscriptions.add(subscription);
    return subscription.watch;
  }

  /** Replaces the whole content and ends every watch, as a snapshot restore does. */
  restore(resources: Resource[]): void {
    this.#data.clear();
    for (const r of resources)
      this.#data.set(resourceKey(r.id as ID), deepFreeze(clone(ResourceSchema, r)));
    for (const s of [...this.#subscriptions]) s.watch.end();
  }

  #matching(type: UnversionedType, tenancy: Tenancy, namePrefix: string): Resource[] {
    return [...this.#data.values()].filter((r) =>
      matchesQuery(r.id as ID, type, tenancy, namePrefix),
    );
  }

  #publish(kind: "upsert" | "delete", resource: Resource): void {
    for (const s of this.#subscriptions) {
      if (!matchesQuery(resource.id as ID, s.type, s.tenancy, s.namePrefix)) continue;
      s.watch.push(event(kind, resource));
      if (this.#bugs.duplicateEvents) s.watch.push(event(kind, resource));
    }
  }
}

/** `resource` with the owner and status of `stored`. */
function withState(resource: Resource, stored: Resource): Resource {
  return { ...resource, owner: stored.owner, status: stored.status };
}

function event(kind: "upsert" | "delete", resource: Resource): WatchEvent {
  return deepFreeze(create(WatchEventSchema, { event: { case: kind, value: { resource } } }));
}
