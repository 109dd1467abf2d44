import type { Resource, Tenancy, WatchEvent } from "@raftstore/proto";
import { matchesQuery, type UnversionedType, type ValidID, Wildcard } from "@raftstore/storage";

/** A watch's registration: its query and where its live events go. */
export interface Subscription {
  readonly type: UnversionedType;
  readonly tenancy: Tenancy;
  readonly namePrefix: string;
  /** Queues a live event. Never blocks and never throws; may end the watch (lag bound). */
  deliver(event: WatchEvent): void;
  /** Ends the watch with `error`. */
  end(error: Error): void;
}

/** The subscriptions of one group and kind. */
interface TypeSubscriptions {
  /** Queries with a wildcard partition or namespace: filtered per event. */
  readonly wildcard: Set<Subscription>;
  /** Queries with a fixed tenancy, by partition and namespace: only the name prefix is checked. */
  readonly byTenancy: Map<string, Map<string, Set<Subscription>>>;
}

/**
 * The registry of live watches, indexed the way Consul's publisher splits subjects: by type,
 * then by exact tenancy, with wildcard queries apart. Publishing a change costs O(watches on
 * that type with a wildcard tenancy + watches on that exact tenancy), not O(all watches), so a
 * thousand watches on other types cost a write nothing.
 */
export class Subscriptions {
  // Nested by group, then kind (rather than keyed by a "group.kind" string) so that publishing,
  // which runs on every write, allocates nothing when no one watches the type.
  readonly #byType = new Map<string, Map<string, TypeSubscriptions>>();
  #size = 0;

  /** The number of registered subscriptions. */
  get size(): number {
    return this.#size;
  }

  /** Registers `subscription`; the returned function unregisters it (idempotent). */
  add(subscription: Subscription): () => void {
    const { type, tenancy } = subscription;
    const kinds = this.#byType.get(type.group) ?? new Map<string, TypeSubscriptions>();
    this.#byType.set(type.group, kinds);
    const forType = kinds.get(type.kind) ?? { wildcard: new Set(), byTenancy: new Map() };
    kinds.set(type.kind, forType);
    let set = forType.wildcard;
    const exact = tenancy.partition !== Wildcard && tenancy.namespace !== Wildcard;
    if (exact) {
      const namespaces = forType.byTenancy.get(tenancy.partition) ?? new Map();
      forType.byTenancy.set(tenancy.partition, namespaces);
      set = namespaces.get(tenancy.namespace) ?? new Set();
      namespaces.set(tenancy.namespace, set);
    }
    set.add(subscription);
    this.#size++;
    return () => {
      if (!set.delete(subscription)) return;
      this.#size--;
      // Drop what is left empty, so that watches on many short-lived types do not leak memory.
      if (exact && set.size === 0) {
        const namespaces = forType.byTenancy.get(tenancy.partition);
        namespaces?.delete(tenancy.namespace);
        if (namespaces?.size === 0) forType.byTenancy.delete(tenancy.partition);
      }
      if (forType.wildcard.size === 0 && forType.byTenancy.size === 0) {
        kinds.delete(type.kind);
        if (kinds.size === 0) this.#byType.delete(type.group);
      }
    };
  }

  /**
   * Delivers the event for a change of `record` to every subscription whose query matches it.
   * The event is built once, and only if some subscription wants it.
   */
  publish(record: Resource, makeEvent: (record: Resource) => WatchEvent): void {
    const id = record.id as ValidID;
    const forType = this.#byType.get(id.type.group)?.get(id.type.kind);
    if (forType === undefined) return;
    let event: WatchEvent | undefined;
    for (const s of forType.wildcard) {
      if (!matchesQuery(id, s.type, s.tenancy, s.namePrefix)) continue;
      event ??= makeEvent(record);
      s.deliver(event);
    }
    const exact = forType.byTenancy.get(id.tenancy.partition)?.get(id.tenancy.namespace);
    if (exact === undefined) return;
    for (const s of exact) {
      if (!id.name.startsWith(s.namePrefix)) continue;
      event ??= makeEvent(record);
      s.deliver(event);
    }
  }

  /** Ends every subscription with `error` (each one unregisters itself as it ends). */
  endAll(error: () => Error): void {
    const all: Subscription[] = [];
    for (const kinds of this.#byType.values()) {
      for (const forType of kinds.values()) {
        all.push(...forType.wildcard);
        for (const namespaces of forType.byTenancy.values()) {
          for (const set of namespaces.values()) all.push(...set);
        }
      }
    }
    for (const s of all) s.end(error());
  }
}
