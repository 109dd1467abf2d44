import { create, isMessage } from "@bufbuild/protobuf";
import { type ID, type Resource, type Tenancy, type Type, TypeSchema } from "@raftstore/proto";
import { InvalidArgumentError, unknownFields, Wildcard } from "@raftstore/storage";

// What the public API accepts, which is stricter than what storage accepts: names, partitions
// and namespaces are lowercase DNS labels, so they are safe in URLs, logs and file names, and
// cannot collide with the query wildcard "*".

const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const typePart = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

/** The tenancy applied where a request leaves a field empty. */
export const DEFAULT_TENANCY_VALUE = "default";

function checkLabel(value: string, field: string): void {
  if (!dnsLabel.test(value)) {
    throw new InvalidArgumentError(
      field,
      `must be a lowercase DNS label (a–z, 0–9 and "-", 1 to 63 characters, starting and ending with a letter or digit), got ${JSON.stringify(value)}`,
    );
  }
}

/** Validates a type: group, group version and kind are identifiers of up to 63 characters. */
export function checkType(type: Type | undefined, field: string, { requireVersion = true } = {}) {
  if (type === undefined) throw new InvalidArgumentError(field, "is required");
  if (!typePart.test(type.group)) {
    throw new InvalidArgumentError(
      `${field}.group`,
      `must be an identifier, got ${JSON.stringify(type.group)}`,
    );
  }
  if (requireVersion || type.groupVersion !== "") {
    if (!typePart.test(type.groupVersion)) {
      throw new InvalidArgumentError(
        `${field}.groupVersion`,
        `must be an identifier such as "v1", got ${JSON.stringify(type.groupVersion)}`,
      );
    }
  }
  if (!typePart.test(type.kind)) {
    throw new InvalidArgumentError(
      `${field}.kind`,
      `must be an identifier, got ${JSON.stringify(type.kind)}`,
    );
  }
  return type;
}

/** A tenancy with empty fields set to "default"; each field then a DNS label. */
export function normalizeTenancy(tenancy: Tenancy | undefined, field: string): Tenancy {
  const partition = tenancy?.partition || DEFAULT_TENANCY_VALUE;
  const namespace = tenancy?.namespace || DEFAULT_TENANCY_VALUE;
  checkLabel(partition, `${field}.partition`);
  checkLabel(namespace, `${field}.namespace`);
  return tenancyOf(partition, namespace);
}

// Every request makes a tenancy and an id: as literals of the generated types, which TypeScript
// checks complete, they cost a fraction of protobuf-es's reflective `create`.

function tenancyOf(partition: string, namespace: string): Tenancy {
  return { $typeName: "raftstore.resource.v1.Tenancy", partition, namespace };
}

/** A tenancy for List and WatchList: "*" per field matches any value; empty means "default". */
export function normalizeQueryTenancy(tenancy: Tenancy | undefined, field: string): Tenancy {
  const partition = tenancy?.partition || DEFAULT_TENANCY_VALUE;
  const namespace = tenancy?.namespace || DEFAULT_TENANCY_VALUE;
  if (partition !== Wildcard) checkLabel(partition, `${field}.partition`);
  if (namespace !== Wildcard) checkLabel(namespace, `${field}.namespace`);
  return tenancyOf(partition, namespace);
}

/** An id with a valid type, a normalized tenancy and a DNS-label name. */
export function normalizeId(id: ID | undefined, field: string): ID {
  if (id === undefined) throw new InvalidArgumentError(field, "is required");
  const type = checkType(id.type, `${field}.type`);
  const tenancy = normalizeTenancy(id.tenancy, `${field}.tenancy`);
  checkLabel(id.name, `${field}.name`);
  return {
    $typeName: "raftstore.resource.v1.ID",
    uid: id.uid,
    name: id.name,
    // A caller's plain object (typed as a Type) becomes a message, as `create` would make it.
    type: isMessage(type, TypeSchema) ? type : create(TypeSchema, type),
    tenancy,
  };
}

/** A name prefix must be lowercase, since names are. */
export function checkNamePrefix(prefix: string, field: string): void {
  if (prefix !== prefix.toLowerCase()) {
    throw new InvalidArgumentError(field, `must be lowercase, got ${JSON.stringify(prefix)}`);
  }
}

/** Rejects a resource whose encoding is larger than the limit. */
export function checkSize(size: number, limit: number, field: string): void {
  if (size > limit) {
    throw new InvalidArgumentError(
      field,
      `is ${size} bytes encoded, larger than the limit of ${limit} bytes (--max-resource-bytes)`,
    );
  }
}

/**
 * The resource's id and owner validated and normalized; the rest is left to the handlers. A
 * shallow copy: the handlers make new objects rather than change nested ones, and the input is
 * left as it was (a deep clone through protobuf-es's reflection cost more than the rest of this
 * validation together).
 */
export function normalizeResource(resource: Resource | undefined, field: string): Resource {
  if (resource === undefined) throw new InvalidArgumentError(field, "is required");
  refuseUnknownFields(resource, field);
  const id = normalizeId(resource.id, `${field}.id`);
  const owner =
    resource.owner === undefined ? undefined : normalizeId(resource.owner, `${field}.owner`);
  return { ...resource, id, owner };
}

/**
 * Refuses a message with fields this server's API does not know (a client built from a newer
 * one): it would store the resource without them, and say nothing.
 */
export function refuseUnknownFields(message: object, field: string): void {
  const found = unknownFields(message, field);
  if (found.length > 0) {
    throw new InvalidArgumentError(
      field,
      `carries fields this server does not know (${found.join(", ")}), and would not store them: a client of a newer API? Leave them unset, or upgrade the servers`,
    );
  }
}
