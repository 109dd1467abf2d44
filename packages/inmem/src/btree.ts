import sortedBtree from "sorted-btree";

// sorted-btree is CommonJS with `exports.default = BTree` and no ESM build. Under tsc and Node's
// ESM loader a default import is `module.exports` (the class is its `.default`); vitest's interop
// hands over the class itself. Resolving it once here keeps every other file free of the trap.
type BTreeClass = typeof sortedBtree.default;
const BTreeRuntime: BTreeClass =
  (sortedBtree as { default?: BTreeClass }).default ?? (sortedBtree as unknown as BTreeClass);

/** A copy-on-write B+ tree: O(log n) edits, O(1) `clone()`, ordered range scans. */
export type BTree<K, V> = sortedBtree.default<K, V>;

/**
 * Orders keys by UTF-16 code unit, which is byte order for the ASCII names storage keys hold (and
 * NUL, the segment terminator, sorts before everything). A two-way `<`/`>` comparator is faster
 * than sorted-btree's default, which also has to handle numbers, dates and arrays.
 */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An empty tree of string keys in storage-key order. */
export function newIndex<V>(): BTree<string, V> {
  return new BTreeRuntime<string, V>(undefined, compareKeys);
}

/**
 * The least string above every string that starts with `prefix` (in code unit order), or
 * undefined when there is none (an empty prefix, or one of only U+FFFF characters).
 */
export function prefixEnd(prefix: string): string | undefined {
  let end = prefix.length;
  while (end > 0 && prefix.charCodeAt(end - 1) === 0xffff) end--;
  if (end === 0) return undefined;
  return prefix.slice(0, end - 1) + String.fromCharCode(prefix.charCodeAt(end - 1) + 1);
}

/**
 * Calls `visit` for every entry whose key starts with `prefix`, in key order. Keys sharing a
 * prefix are contiguous, so this is one range scan from the prefix to its end: O(log n + matches).
 */
export function scanPrefix<V>(
  tree: BTree<string, V>,
  prefix: string,
  visit: (key: string, value: V) => void,
): void {
  const end = prefixEnd(prefix);
  if (end !== undefined) {
    tree.forRange(prefix, end, false, visit);
    return;
  }
  const last = tree.maxKey();
  if (last !== undefined) tree.forRange(prefix, last, true, visit);
}
