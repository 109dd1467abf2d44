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

/**
 * What is wrong with a value: the path of the offending field below it (`""`: the value itself)
 * and how it is wrong. The checks below return one instead of throwing, and build no string at
 * all for valid input: field paths are joined only for an error. A point read validates its id,
 * and a write its resource, every time; joining "resource.id.type.group" and the other twelve
 * paths up front took half of that.
 */
interface Problem {
  path: string;
  message: string;
}

/** `problem` (a problem of the field `path` names) as a problem of the value holding it. */
function under(path: string, problem: Problem): Problem {
  problem.path = path + problem.path;
  return problem;
}

function stringProblem(value: unknown, nonEmpty = false): Problem | undefined {
  if (typeof value !== "string") {
    return { path: "", message: `must be a string, got ${describe(value)}` };
  }
  if (nonEmpty && value === "") return { path: "", message: "is required" };
  if (value.includes("\u0000")) return { path: "", message: "must not contain NUL characters" };
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

function fail(field: string, problem: Problem | undefined): void {
  if (problem !== undefined) throw new InvalidArgumentError(field + problem.path, problem.message);
}

function typeProblem(type: unknown): Problem | undefined {
  if (!isObject(type)) return { path: "", message: "is required" };
  let problem = stringProblem(type.group, true);
  if (problem !== undefined) return under(".group", problem);
  problem = stringProblem(type.kind, true);
  if (problem !== undefined) return under(".kind", problem);
  if (type.groupVersion === undefined) return undefined;
  problem = stringProblem(type.groupVersion);
  return problem === undefined ? undefined : under(".groupVersion", problem);
}

function tenancyProblem(tenancy: unknown): Problem | undefined {
  if (!isObject(tenancy)) return { path: "", message: "is required" };
  let problem = stringProblem(tenancy.partition);
  if (problem !== undefined) return under(".partition", problem);
  problem = stringProblem(tenancy.namespace);
  return problem === undefined ? undefined : under(".namespace", problem);
}

function idProblem(id: unknown): Problem | undefined {
  if (!isObject(id)) return { path: "", message: "is required" };
  let problem = typeProblem(id.type);
  if (problem !== undefined) return under(".type", problem);
  problem = tenancyProblem(id.tenancy);
  if (problem !== undefined) return under(".tenancy", problem);
  problem = stringProblem(id.name, true);
  if (problem !== undefined) return under(".name", problem);
  problem = stringProblem(id.uid);
  return problem === undefined ? undefined : under(".uid", problem);
}

/** Throws InvalidArgumentError unless `type` has a non-empty group and kind. */
export function validateType(
  type: unknown,
  field = "type",
): asserts type is Type | UnversionedType {
  fail(field, typeProblem(type));
}

/** Throws InvalidArgumentError unless `tenancy` has a string partition and namespace. */
export function validateTenancy(tenancy: unknown, field = "tenancy"): asserts tenancy is Tenancy {
  fail(field, tenancyProblem(tenancy));
}

/** Throws InvalidArgumentError unless `id` has a type, a tenancy and a non-empty name. */
export function validateId(id: unknown, field = "id"): asserts id is ValidID {
  fail(field, idProblem(id));
}

/**
 * Whether `id` has the shape validateId checks: objects and strings where they belong, without
 * looking inside the strings (non-empty, no NUL characters). Never false for an id validateId
 * accepts, so a caller may validate lazily: look the id up on this check alone, and call
 * validateId only when the lookup does not succeed. That is sound when success means every
 * string of the id equals a stored id's, which passed validateId when it was stored, and so
 * holds the same characters. A store's point read does that, and saves the NUL scans of six
 * fresh strings, about a tenth of a read.
 */
export function hasIdShape(id: unknown): id is ValidID {
  if (!isObject(id)) return false;
  const { type, tenancy } = id;
  return (
    isObject(type) &&
    typeof type.group === "string" &&
    typeof type.kind === "string" &&
    (type.groupVersion === undefined || typeof type.groupVersion === "string") &&
    isObject(tenancy) &&
    typeof tenancy.partition === "string" &&
    typeof tenancy.namespace === "string" &&
    typeof id.name === "string" &&
    typeof id.uid === "string"
  );
}

/** Throws InvalidArgumentError unless `version` is a string. */
export function validateVersion(version: unknown, field = "version"): asserts version is string {
  fail(field, stringProblem(version));
}

/** Throws InvalidArgumentError unless `resource` has a valid id, owner (if any) and version. */
export function validateResource(
  resource: unknown,
  field = "resource",
): asserts resource is Resource & { id: ValidID } {
  fail(field, resourceProblem(resource));
}

function resourceProblem(resource: unknown): Problem | undefined {
  if (!isObject(resource)) return { path: "", message: "is required" };
  let problem = idProblem(resource.id);
  if (problem !== undefined) return under(".id", problem);
  if (resource.owner !== undefined) {
    problem = idProblem(resource.owner);
    if (problem !== undefined) return under(".owner", problem);
  }
  problem = stringProblem(resource.version);
  if (problem !== undefined) return under(".version", problem);
  problem = mapKeysProblem(resource.metadata);
  if (problem !== undefined) return under(".metadata", problem);
  problem = mapKeysProblem(resource.status);
  return problem === undefined ? undefined : under(".status", problem);
}

/**
 * A map (metadata, status) may not have the key "__proto__": protobuf-es reads a map into a
 * plain object, where assigning "__proto__" sets the prototype instead, so the entry would be
 * lost on the first decode (a forwarded write, a Raft log entry, a snapshot). Refused up front,
 * with a clear error, rather than dropped without a word.
 */
function mapKeysProblem(map: unknown): Problem | undefined {
  if (!isObject(map) || !Object.hasOwn(map, "__proto__")) return undefined;
  return {
    path: "",
    message: 'cannot have the key "__proto__" (protobuf maps in JavaScript cannot hold it)',
  };
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
