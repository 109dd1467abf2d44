import { equals } from "@bufbuild/protobuf";
import { type ID, type Resource, StatusSchema } from "@raftstore/proto";
import { CASFailureError, WrongUidError } from "./errors.js";

/** Whether two resources' statuses hold the same keys with equal values. */
export function sameStatus(a: Resource["status"], b: Resource["status"]): boolean {
  let keys = 0;
  for (const key in a) {
    const x = a[key];
    const y = Object.hasOwn(b, key) ? b[key] : undefined;
    if (x === undefined || y === undefined || !equals(StatusSchema, x, y)) return false;
    keys++;
  }
  for (const key in b) if (Object.hasOwn(b, key)) keys--;
  return keys === 0;
}

/**
 * Whether two owner references name the same incarnation of the same resource (group, kind,
 * tenancy, name and uid; the group version is ignored, as `ownerKey` ignores it), or are both
 * absent. Compared field by field: no key is built.
 */
export function sameOwner(a: ID | undefined, b: ID | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.uid === b.uid &&
    a.name === b.name &&
    a.type?.group === b.type?.group &&
    a.type?.kind === b.type?.kind &&
    a.tenancy?.partition === b.tenancy?.partition &&
    a.tenancy?.namespace === b.tenancy?.namespace
  );
}

/**
 * The condition of `OverwritingBackend.overwrite`, for backends to share: throws what the
 * overwrite of `stored` (undefined: nothing stored) by `resource` fails with, in the contract's
 * order; returns when the overwrite may go ahead.
 */
export function checkOverwrite(stored: Resource | undefined, resource: Resource): void {
  if (stored === undefined) throw new CASFailureError();
  if (stored.id?.uid !== resource.id?.uid) throw new WrongUidError();
  if (!sameOwner(stored.owner, resource.owner) || !sameStatus(stored.status, resource.status)) {
    throw new CASFailureError();
  }
}
