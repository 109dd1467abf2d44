import type { ID, Tenancy, Type } from "@raftstore/proto";
import { type UnversionedType, Wildcard } from "./backend.js";

// Storage keys are strings whose segments each end with a NUL character, in the order
// group, kind, partition, namespace, name. NUL sorts before every other character and names
// cannot contain it (validation rejects it), so key order is segment-by-segment order and a
// prefix scan up to the first wildcard finds exactly the candidates of a List.

const END = "\u0000";

/** The part of a type that identity uses: group and kind, without the group version. */
export function unversionedType(type: Type | UnversionedType): UnversionedType {
  return { group: type.group, kind: type.kind };
}

/** `group.kind`, for messages and labels. */
export function unversionedTypeString(type: Type | UnversionedType): string {
  return `${type.group}.${type.kind}`;
}

/**
 * The storage key of a resource: group, kind, partition, namespace and name. Neither the uid
 * nor the group version is part of it. The id must be valid (see `validateId`).
 */
export function resourceKey(id: ID): string {
  const type = id.type as Type;
  const tenancy = id.tenancy as Tenancy;
  return (
    type.group +
    END +
    type.kind +
    END +
    tenancy.partition +
    END +
    tenancy.namespace +
    END +
    id.name +
    END
  );
}

/**
 * The key of an owner reference: the resource key plus the uid, because references are
 * anchored to one incarnation of the owner.
 */
export function ownerKey(owner: ID): string {
  return resourceKey(owner) + owner.uid + END;
}

/**
 * The longest key prefix every match of a List query shares: the type, then the partition and
 * namespace up to the first wildcard, then (if no wildcard stopped it) the raw name prefix.
 * A scan from this prefix must still filter with `matchesQuery`.
 */
export function listPrefix(type: UnversionedType, tenancy: Tenancy, namePrefix: string): string {
  let prefix = type.group + END + type.kind + END;
  if (tenancy.partition === Wildcard) return prefix;
  prefix += tenancy.partition + END;
  if (tenancy.namespace === Wildcard) return prefix;
  return prefix + tenancy.namespace + END + namePrefix;
}

/**
 * Whether a resource id matches a List or WatchList query: same group and kind (any group
 * version), partition and namespace equal or wildcarded, name starting with `namePrefix`.
 */
export function matchesQuery(
  id: ID,
  type: UnversionedType,
  tenancy: Tenancy,
  namePrefix: string,
): boolean {
  const idType = id.type;
  const idTenancy = id.tenancy;
  if (idType === undefined || idTenancy === undefined) return false;
  return (
    idType.group === type.group &&
    idType.kind === type.kind &&
    (tenancy.partition === Wildcard || tenancy.partition === idTenancy.partition) &&
    (tenancy.namespace === Wildcard || tenancy.namespace === idTenancy.namespace) &&
    id.name.startsWith(namePrefix)
  );
}
