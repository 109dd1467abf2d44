import type { Resource } from "@raftstore/proto";
import type { ValidID } from "@raftstore/storage";
import { NameTable } from "./name-table.js";

type Names<V> = NameTable<V, Resource>;
type Namespaces<V> = Map<string, Names<V>>;
type Partitions<V> = Map<string, Namespaces<V>>;
type Kinds<V> = Map<string, Partitions<V>>;

/** The names of one type and tenancy, and the key segments they were last found under. */
interface Found<V> {
  readonly group: string;
  readonly kind: string;
  readonly partition: string;
  readonly namespace: string;
  readonly names: Names<V>;
}

/**
 * A hash index of the current records (the store keeps each in a `Slot`) by key, for point
 * lookups: every read, and the CAS check of every write. It nests one level per key segment
 * (group, kind, partition, namespace, name) rather than keying one table by full storage keys,
 * because a lookup then allocates nothing — a storage key is a fresh 10-part string that has to
 * be built, flattened and hashed on every call, which measured at about a third of a point read
 * at a million records. The upper levels are a few small maps that stay in cache; the last one,
 * which holds every record, is a `NameTable` (a Map's lookups at a million records cost half
 * again as much) keyed by the record's own name string, so the index costs one table entry per
 * record and no key strings of its own.
 *
 * Beside each value it keeps the record a read returns, tagged with its group version, so that
 * `read` answers without touching the value (a slot, elsewhere in the heap: a cache miss that
 * measured a fifth of a read at a million records).
 *
 * Mutable and never shared: MVCC views read through their B+ trees instead.
 */
export class PointIndex<V> {
  readonly #groups = new Map<string, Kinds<V>>();
  #size = 0;
  /**
   * The last names table a lookup found. Reads and writes tend to come in runs on one type and
   * tenancy (a controller's, a client's), and comparing four short strings with the last ones
   * costs a fraction of looking them up: each lookup hashes a fresh string (a request's), a call
   * into the runtime. Dropped with its table.
   */
  #last: Found<V> | undefined;

  /** The number of records. */
  get size(): number {
    return this.#size;
  }

  /** How many maps the index holds, at every level: what the tests check for leaks. */
  get mapCount(): number {
    let count = 0;
    for (const kinds of this.#groups.values()) {
      count++;
      for (const partitions of kinds.values()) {
        count++;
        for (const namespaces of partitions.values()) count += 1 + namespaces.size;
      }
    }
    return count;
  }

  /** The value stored under `id`'s key (the uid and group version play no part). */
  get(id: ValidID): V | undefined {
    return this.#names(id)?.get(id.name);
  }

  /**
   * The record stored under `id`'s key, if it has `id`'s group version (absent: ""). The uid
   * plays no part.
   */
  read(id: ValidID): Resource | undefined {
    return this.#names(id)?.shown(id.name, id.type.groupVersion ?? "");
  }

  /**
   * Stores `value` under `id`'s key, replacing what was there, with `record`, what a read of the
   * key returns: set it again whenever that changes. The index keeps `id.name` as the key of its
   * last map: `id` should be `record`'s own, which lives as long as it does.
   */
  set(id: ValidID, value: V, record: Resource): void {
    const names = this.#names(id) ?? this.#create(id);
    const size = names.size;
    names.set(id.name, value, record, id.type.groupVersion ?? "");
    this.#size += names.size - size;
  }

  /** Removes the record under `id`'s key, and any map it leaves empty. */
  delete(id: ValidID): void {
    const { group, kind } = id.type;
    const { partition, namespace } = id.tenancy;
    const kinds = this.#groups.get(group);
    const partitions = kinds?.get(kind);
    const namespaces = partitions?.get(partition);
    const names = namespaces?.get(namespace);
    if (names === undefined || !names.delete(id.name)) return;
    this.#size--;
    // Empty maps are dropped, so that churn through many tenancies does not leak memory.
    if (names.size > 0) return;
    if (this.#last?.names === names) this.#last = undefined;
    namespaces?.delete(namespace);
    if (namespaces?.size !== 0) return;
    partitions?.delete(partition);
    if (partitions?.size !== 0) return;
    kinds?.delete(kind);
    if (kinds?.size === 0) this.#groups.delete(group);
  }

  /** A new names table for `id`'s type and tenancy, and the maps above it that are missing. */
  #create(id: ValidID): Names<V> {
    const { group, kind } = id.type;
    const { partition, namespace } = id.tenancy;
    const kinds = child(this.#groups, group);
    const partitions = child(kinds, kind);
    const namespaces = child(partitions, partition);
    const names = new NameTable<V, Resource>();
    namespaces.set(namespace, names);
    return names;
  }

  /** The names table of `id`'s type and tenancy, if any: the last one found, or a lookup. */
  #names(id: ValidID): Names<V> | undefined {
    const { type, tenancy } = id;
    const last = this.#last;
    if (
      last !== undefined &&
      last.namespace === tenancy.namespace &&
      last.partition === tenancy.partition &&
      last.kind === type.kind &&
      last.group === type.group
    ) {
      return last.names;
    }
    const names = this.#groups
      .get(type.group)
      ?.get(type.kind)
      ?.get(tenancy.partition)
      ?.get(tenancy.namespace);
    if (names === undefined) return undefined;
    this.#last = {
      group: type.group,
      kind: type.kind,
      partition: tenancy.partition,
      namespace: tenancy.namespace,
      names,
    };
    return names;
  }
}

function child<V>(parent: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let map = parent.get(key);
  if (map === undefined) {
    map = new Map();
    parent.set(key, map);
  }
  return map;
}
