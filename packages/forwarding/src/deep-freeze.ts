/**
 * Freezes `value` and everything reachable from it, in place, and returns it.
 *
 * Resources handed out by a backend must never change afterwards (the storage contract), and
 * the ones the client decodes are fresh objects nobody else holds, so freezing them in place is
 * safe. Messages are trees, so the walk ends. Typed arrays (the bytes of `data`) cannot be frozen and are left as they are.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !ArrayBuffer.isView(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
