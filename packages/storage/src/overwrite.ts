import { equals } from "@bufbuild/protobuf";
import { type Resource, StatusSchema } from "@raftstore/proto";
import { CASFailureError, WrongUidError } from "./errors.js";
import { ownerKey } from "./key.js";

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
 * The condition of `OverwritingBackend.overwrite`, for backends to share: throws what the
 * overwrite of `stored` (undefined: nothing stored) by `resource` fails with, in the contract's
 * order; returns when the overwrite may go ahead.
 */
export function checkOverwrite(stored: Resource | undefined, resource: Resource): void {
  if (stored === undefined) throw new CASFailureError();
  if (stored.id?.uid !== resource.id?.uid) throw new WrongUidError();
  const owner = (r: Resource) => (r.owner === undefined ? "" : ownerKey(r.owner));
  if (owner(stored) !== owner(resource) || !sameStatus(stored.status, resource.status)) {
    throw new CASFailureError();
  }
}
