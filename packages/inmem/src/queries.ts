import type { ID, Resource, Tenancy } from "@raftstore/proto";
import {
  GroupVersionMismatchError,
  listPrefix,
  matchesQuery,
  NotFoundError,
  ownerKey,
  type UnversionedType,
  type ValidID,
  Wildcard,
} from "@raftstore/storage";
import { scanPrefix } from "./btree.js";
import type { Indexes, Slot } from "./tables.js";

// The read side of the store, shared by the store itself (on its current tables) and by views
// (on tables frozen in time). Inputs are validated by the callers.

/**
 * The outcome of a read of `id` that found `stored` (or nothing) under its key: the uid check
 * first (an empty uid matches any incarnation), then the group version check.
 */
export function readResult(id: ValidID, stored: Slot | undefined): Resource {
  if (stored === undefined) throw new NotFoundError();
  if (!sameIncarnation(id, stored)) throw new NotFoundError();
  if (!sameGroupVersion(id, stored)) throw new GroupVersionMismatchError(id.type, stored.record);
  return stored.record;
}

/**
 * Whether a read of `id` that found `stored` under its key returns it. When it does, the id's
 * uid and group version are `""`, absent or equal to the stored id's (what `Store.read`'s lazy
 * validation relies on).
 */
export function readsAs(id: ValidID, stored: Slot): boolean {
  return sameIncarnation(id, stored) && sameGroupVersion(id, stored);
}

/** An empty uid matches any incarnation. */
function sameIncarnation(id: ValidID, stored: Slot): boolean {
  return id.uid === "" || id.uid === stored.uid;
}

function sameGroupVersion(id: ValidID, stored: Slot): boolean {
  return (id.type.groupVersion ?? "") === (stored.type.groupVersion ?? "");
}

/**
 * Every record matching a List query, in key order: a range scan from the key prefix up to the
 * first wildcard, then a filter. Without a wildcard the prefix spells out the whole query (type,
 * tenancy and name prefix), so every key in range matches and the filter is skipped.
 */
export function listMatching(
  indexes: Indexes,
  type: UnversionedType,
  tenancy: Tenancy,
  namePrefix: string,
): Resource[] {
  const result: Resource[] = [];
  const prefix = listPrefix(type, tenancy, namePrefix);
  if (!hasWildcard(tenancy)) {
    scanPrefix(indexes.byId, prefix, (_key, slot) => void result.push(slot.record));
    return result;
  }
  scanPrefix(indexes.byId, prefix, (_key, { record }) => {
    if (matchesQuery(record.id as ID, type, tenancy, namePrefix)) result.push(record);
  });
  return result;
}

function hasWildcard(tenancy: Tenancy): boolean {
  return tenancy.partition === Wildcard || tenancy.namespace === Wildcard;
}

/** Every record owned by that incarnation (uid) of `owner`, of any type, in key order. */
export function listOwnedBy(indexes: Indexes, owner: ID): Resource[] {
  const result: Resource[] = [];
  scanPrefix(indexes.byOwner, ownerKey(owner), (_key, slot) => void result.push(slot.record));
  return result;
}

/**
 * The records matching a WatchList query, read lazily from `indexes` (which must not change
 * while the iteration runs: pass shared indexes).
 */
export function* matchingRecords(
  indexes: Indexes,
  type: UnversionedType,
  tenancy: Tenancy,
  namePrefix: string,
): Generator<Resource, void, undefined> {
  const prefix = listPrefix(type, tenancy, namePrefix);
  const pair: (string | Slot)[] = [];
  for (const [key, { record }] of indexes.byId.entries(prefix, pair) as IterableIterator<
    [string, Slot]
  >) {
    if (!key.startsWith(prefix)) return;
    if (matchesQuery(record.id as ID, type, tenancy, namePrefix)) yield record;
  }
}
