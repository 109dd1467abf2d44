import type { ID, Resource, Tenancy, Type } from "@raftstore/proto";
import { ReadConsistency, type UnversionedType } from "./backend.js";
import { InconsistentError, InvalidArgumentError } from "./errors.js";

// Backends call these first, before touching any state, so that malformed input is rejected
// with one error type and changes nothing. They check shape, not policy: storage accepts any
// name, partition or namespace that cannot corrupt a key (no NUL characters); DNS-label rules
// belong to the resource service.

/** A valid id: with a type (non-empty group and kind), a tenancy and a non-empty name. */
export type ValidID = ID & { type: Type; tenancy: Tenancy };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function checkString(value: unknown, field: string, { nonEmpty = false } = {}): void {
  if (typeof value !== "string") {
    throw new InvalidArgumentError(field, `must be a string, got ${describe(value)}`);
  }
  if (nonEmpty && value === "") throw new InvalidArgumentError(field, "is required");
  if (value.includes("\u0000")) {
    throw new InvalidArgumentError(field, "must not contain NUL characters");
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

/** Throws InvalidArgumentError unless `type` has a non-empty group and kind. */
export function validateType(
  type: unknown,
  field = "type",
): asserts type is Type | UnversionedType {
  if (!isObject(type)) throw new InvalidArgumentError(field, "is required");
  checkString(type.group, `${field}.group`, { nonEmpty: true });
  checkString(type.kind, `${field}.kind`, { nonEmpty: true });
  if (type.groupVersion !== undefined) checkString(type.groupVersion, `${field}.groupVersion`);
}

/** Throws InvalidArgumentError unless `tenancy` has a string partition and namespace. */
export function validateTenancy(tenancy: unknown, field = "tenancy"): asserts tenancy is Tenancy {
  if (!isObject(tenancy)) throw new InvalidArgumentError(field, "is required");
  checkString(tenancy.partition, `${field}.partition`);
  checkString(tenancy.namespace, `${field}.namespace`);
}

/** Throws InvalidArgumentError unless `id` has a type, a tenancy and a non-empty name. */
export function validateId(id: unknown, field = "id"): asserts id is ValidID {
  if (!isObject(id)) throw new InvalidArgumentError(field, "is required");
  validateType(id.type, `${field}.type`);
  validateTenancy(id.tenancy, `${field}.tenancy`);
  checkString(id.name, `${field}.name`, { nonEmpty: true });
  checkString(id.uid, `${field}.uid`);
}

/** Throws InvalidArgumentError unless `version` is a string. */
export function validateVersion(version: unknown, field = "version"): asserts version is string {
  checkString(version, field);
}

/** Throws InvalidArgumentError unless `resource` has a valid id, owner (if any) and version. */
export function validateResource(
  resource: unknown,
  field = "resource",
): asserts resource is Resource & { id: ValidID } {
  if (!isObject(resource)) throw new InvalidArgumentError(field, "is required");
  validateId(resource.id, `${field}.id`);
  if (resource.owner !== undefined) validateId(resource.owner, `${field}.owner`);
  validateVersion(resource.version, `${field}.version`);
  checkMapKeys(resource.metadata, `${field}.metadata`);
  checkMapKeys(resource.status, `${field}.status`);
}

/**
 * A map (metadata, status) may not have the key "__proto__": protobuf-es reads a map into a
 * plain object, where assigning "__proto__" sets the prototype instead, so the entry would be
 * lost on the first decode (a forwarded write, a Raft log entry, a snapshot). Refused up front,
 * with a clear error, rather than dropped without a word.
 */
function checkMapKeys(map: unknown, field: string): void {
  if (isObject(map) && Object.hasOwn(map, "__proto__")) {
    throw new InvalidArgumentError(
      field,
      'cannot have the key "__proto__" (protobuf maps in JavaScript cannot hold it)',
    );
  }
}

/** Throws InvalidArgumentError unless the arguments of a List or WatchList are well formed. */
export function validateListQuery(type: unknown, tenancy: unknown, namePrefix: unknown): void {
  validateType(type, "type");
  validateTenancy(tenancy, "tenancy");
  if (typeof namePrefix !== "string") {
    throw new InvalidArgumentError("namePrefix", `must be a string, got ${describe(namePrefix)}`);
  }
}

/**
 * Throws InconsistentError for a consistency that is neither Eventual nor Strong, as Consul
 * does: a caller that asks for a guarantee we do not know must not silently get a weaker one.
 */
export function validateConsistency(consistency: unknown): asserts consistency is ReadConsistency {
  if (consistency !== ReadConsistency.Eventual && consistency !== ReadConsistency.Strong) {
    throw new InconsistentError(`unknown consistency ${JSON.stringify(consistency)}`);
  }
}
