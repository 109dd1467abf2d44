import type { Resource } from "@raftstore/proto";
import { InvalidArgumentError } from "@raftstore/storage";

// A record is what the store keeps and hands out: a deeply frozen resource that no one can
// change, so reads, lists, views and watch events share it without copying. Records are built
// from inputs the store does not own (callers may change them afterwards), so building one copies
// every part of the input that is not already immutable.
//
// A part is reused as-is when it is frozen and everything under it is reused too — the parts of
// an earlier record, of a resource changed with immer's `produce`, or any deeply frozen value.
// Everything else is copied and frozen. Byte arrays are always copied: a typed array cannot be
// frozen, so sharing one would let the caller change a stored resource.
//
// Types and tenancies repeat across millions of records, so they are interned: every record of
// one type shares one frozen Type object (and likewise for tenancies). That saves about 100 bytes
// per record and keeps the group version check of a read on an object that is already in cache.
//
// Copies are built by adding properties one by one to `{}`, never with a spread: V8 gives the
// result of a spread a hidden class of its own, and freezing it then costs a new hidden class per
// object (about 240 bytes each, and megamorphic reads). Built in order, all records of one shape
// share their hidden classes.

/** Protobuf messages nest a handful of levels; anything deeper is a cycle or garbage. */
const MAX_DEPTH = 64;

// Shared frozen empties: empty maps (metadata, status) and lists cost no memory per record.
const EMPTY_OBJECT: object = Object.freeze({});
const EMPTY_ARRAY: readonly unknown[] = Object.freeze([]);

/**
 * Builds the record stored for `input`: a deeply frozen copy with `version` set, sharing every
 * part of `input` that is already deeply frozen. `input` is never changed.
 *
 * Throws InvalidArgumentError for an input nested deeper than any resource can be (a cycle).
 */
export function freezeRecord(input: Resource, version: string): Resource {
  const record: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    record[key] = key === "version" ? version : immutable(input[key as keyof Resource], 1);
  }
  record.version = version;
  return Object.freeze(record) as unknown as Resource;
}

/** `value` itself when it is deeply frozen, else a deeply frozen copy of it. */
function immutable(value: unknown, depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_DEPTH) {
    throw new InvalidArgumentError(
      "resource",
      `must be a tree of at most ${MAX_DEPTH} levels, found a deeper (or cyclic) value`,
    );
  }
  if (ArrayBuffer.isView(value)) return copyBytes(value);
  const frozen = Object.isFrozen(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return frozen ? value : EMPTY_ARRAY;
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = immutable(value[i], depth + 1);
      if (copy === undefined && (item !== value[i] || !frozen)) copy = value.slice(0, i);
      copy?.push(item);
    }
    return copy === undefined ? value : Object.freeze(copy);
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return frozen ? value : EMPTY_OBJECT;
  const source = value as Record<string, unknown>;
  const canonical = interned(source, keys.length);
  if (canonical !== undefined) return canonical;
  let copy: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const part = immutable(source[key], depth + 1);
    if (copy === undefined && (part !== source[key] || !frozen)) {
      copy = {};
      for (let j = 0; j < i; j++) copy[keys[j] as string] = source[keys[j] as string];
    }
    if (copy !== undefined) copy[key] = part;
  }
  return copy === undefined ? value : Object.freeze(copy);
}

/** Distinct types and tenancies are few; the bound only guards against pathological input. */
const MAX_INTERNED = 10_000;
let internedCount = 0;
// Nested by field rather than keyed by a joined string, so that a lookup allocates nothing.
const internedTypes = new Map<string, Map<string, Map<string, object>>>();
const internedTenancies = new Map<string, Map<string, object>>();

/**
 * The shared frozen copy of a Type or Tenancy message of exactly the standard shape (no other
 * fields, all strings), or undefined for anything else, which is then copied as usual.
 */
function interned(value: Record<string, unknown>, keyCount: number): object | undefined {
  if (value.$typeName === "raftstore.resource.v1.Type" && keyCount === 4) {
    const { group, groupVersion, kind } = value;
    if (typeof group !== "string" || typeof groupVersion !== "string" || typeof kind !== "string") {
      return undefined;
    }
    const found = internedTypes.get(group)?.get(groupVersion)?.get(kind);
    if (found !== undefined || internedCount >= MAX_INTERNED) return found;
    return intern(child(child(internedTypes, group), groupVersion), kind, value);
  }
  if (value.$typeName === "raftstore.resource.v1.Tenancy" && keyCount === 3) {
    const { partition, namespace } = value;
    if (typeof partition !== "string" || typeof namespace !== "string") return undefined;
    const found = internedTenancies.get(partition)?.get(namespace);
    if (found !== undefined || internedCount >= MAX_INTERNED) return found;
    return intern(child(internedTenancies, partition), namespace, value);
  }
  return undefined;
}

function child<V>(parent: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let map = parent.get(key);
  if (map === undefined) {
    map = new Map();
    parent.set(key, map);
  }
  return map;
}

function intern(table: Map<string, object>, key: string, value: Record<string, unknown>): object {
  const copy: Record<string, unknown> = {};
  for (const field of Object.keys(value)) copy[field] = value[field];
  const canonical = Object.freeze(copy);
  table.set(key, canonical);
  internedCount++;
  return canonical;
}

function copyBytes(view: ArrayBufferView): ArrayBufferView {
  // Uint8Array's own slice: a Node.js Buffer overrides slice() with a view of the same memory.
  if (view instanceof Uint8Array) return Uint8Array.prototype.slice.call(view);
  // Protobuf-es only uses Uint8Array; any other view is copied byte for byte into its own type.
  const Ctor = view.constructor as new (buffer: ArrayBuffer) => ArrayBufferView;
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
  return new Ctor(bytes.buffer);
}
