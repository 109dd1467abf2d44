import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { newIndex, prefixEnd, scanPrefix } from "./btree.js";

describe("the storage-key B+ tree", () => {
  it("loads sorted-btree's CommonJS class in whatever way the runtime imports it", () => {
    const tree = newIndex<number>();
    tree.set("b", 2);
    tree.set("a", 1);
    expect([...tree.keys()]).toEqual(["a", "b"]);
    const clone = tree.clone();
    clone.set("c", 3);
    expect(tree.size).toBe(2);
    expect(clone.size).toBe(3);
  });

  it("orders keys by code unit, with the NUL terminator before every other character", () => {
    const tree = newIndex<true>();
    for (const key of ["a\u0000b\u0000", "a\u0000", "a-\u0000", "A\u0000", "ab\u0000"]) {
      tree.set(key, true);
    }
    expect([...tree.keys()]).toEqual([
      "A\u0000",
      "a\u0000",
      "a\u0000b\u0000",
      "a-\u0000",
      "ab\u0000",
    ]);
  });

  it("computes the end of a prefix range, including prefixes ending in U+FFFF", () => {
    expect(prefixEnd("ab")).toBe("ac");
    expect(prefixEnd("a\u0000")).toBe("a\u0001");
    expect(prefixEnd("a\uffff\uffff")).toBe("b");
    expect(prefixEnd("\uffff")).toBeUndefined();
    expect(prefixEnd("")).toBeUndefined();
  });

  it("scans exactly the keys that start with a prefix, in order", () => {
    const alphabet = fc.constantFrom("\u0000", "a", "b", "\uffff", "\ufffe", "é");
    const key = fc.string({ unit: alphabet, maxLength: 5 });
    fc.assert(
      fc.property(fc.uniqueArray(key, { maxLength: 60 }), key, (keys, prefix) => {
        const tree = newIndex<string>();
        for (const k of keys) tree.set(k, k);
        const scanned: string[] = [];
        scanPrefix(tree, prefix, (k, v) => {
          expect(v).toBe(k);
          scanned.push(k);
        });
        const expected = keys.filter((k) => k.startsWith(prefix)).sort();
        expect(scanned).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});
