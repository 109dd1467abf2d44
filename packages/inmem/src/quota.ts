import type { Resource } from "@raftstore/proto";
import { InvalidArgumentError, QuotaExceededError } from "@raftstore/storage";
import type { Store } from "./store.js";
import { recordBytes } from "./tables.js";

/**
 * Throws InvalidArgumentError unless `quotaBytes` is undefined (no quota) or a positive integer:
 * the check of a backend's `quotaBytes` option.
 */
export function validateQuotaBytes(quotaBytes: unknown, field = "options.quotaBytes"): void {
  if (quotaBytes === undefined) return;
  if (typeof quotaBytes === "number" && Number.isSafeInteger(quotaBytes) && quotaBytes > 0) return;
  throw new InvalidArgumentError(field, `must be a positive integer, got ${String(quotaBytes)}`);
}

/**
 * Refuses, with QuotaExceededError, a write of `resource` that would grow `store` past
 * `quotaBytes` (in the bytes of `Store.bytes`; undefined: no quota). A write that does not grow
 * the store always passes, so that a store left over its quota (a quota lowered at a restart, a
 * snapshot installed) can still be changed and shrunk. Deletes are never checked. The memory is
 * finite: this refusal is what keeps a store from growing until its process runs out of heap.
 *
 * A backend checks before it applies (or, replicated, before it proposes) a write, never on
 * apply: every replica must apply what the log holds. `resource` must have passed
 * `validateResource` (both backends validate first).
 */
export function checkQuota(store: Store, resource: Resource, quotaBytes: number | undefined): void {
  if (quotaBytes === undefined) return;
  const now = store.bytes;
  // A write adds at most its own record: far below the quota (nearly always), that settles it
  // without looking up what the write replaces.
  if (now + recordBytes(resource) <= quotaBytes) return;
  const after = store.bytesWith(resource);
  if (after <= quotaBytes || after <= now) return;
  throw new QuotaExceededError(
    `write refused: it would grow the store to ${describeBytes(after)}, past its quota of ` +
      `${describeBytes(quotaBytes)} (it holds ${describeBytes(now)}). Delete resources that are ` +
      "no longer needed, or raise the quota",
  );
}

/** A byte count for people: MiB with one decimal, and the exact count. */
function describeBytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB (${bytes} bytes)`;
}
