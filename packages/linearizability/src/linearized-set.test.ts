import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LinearizedSet } from "./linearized-set.js";

function setOf(capacity: number, members: Iterable<number>): LinearizedSet {
  const set = new LinearizedSet(capacity);
  for (const op of members) set.add(op);
  return set;
}

describe("LinearizedSet", () => {
  it("gives equal keys to equal sets and different keys to different sets", () => {
    const capacity = 80;
    const members = fc.uniqueArray(fc.integer({ min: 0, max: capacity - 1 }), { maxLength: 40 });
    fc.assert(
      fc.property(members, members, (a, b) => {
        const same = new Set(a).size === new Set([...a, ...b]).size && a.length === b.length;
        expect(setOf(capacity, a).key() === setOf(capacity, b).key()).toBe(same);
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps its key exact through any sequence of additions and removals", () => {
    const capacity = 70;
    const actions = fc.array(fc.integer({ min: 0, max: capacity - 1 }), { maxLength: 200 });
    fc.assert(
      fc.property(actions, (toggles) => {
        const set = new LinearizedSet(capacity);
        const reference = new Set<number>();
        for (const op of toggles) {
          if (reference.has(op)) {
            reference.delete(op);
            set.remove(op);
          } else {
            reference.add(op);
            set.add(op);
          }
          expect(set.size).toBe(reference.size);
          expect(set.key()).toBe(setOf(capacity, reference).key());
        }
        for (let op = 0; op < capacity; op++) expect(set.has(op)).toBe(reference.has(op));
      }),
      { numRuns: 300 },
    );
  });

  it("distinguishes sets of operations numbered beyond 16 bits", () => {
    const capacity = 200_000;
    const keys = new Set([
      setOf(capacity, [0, 70_000]).key(),
      setOf(capacity, [0, 70_000 + 65_536]).key(),
      setOf(capacity, [0, 4_464]).key(),
      setOf(capacity, [0, 1, 70_000]).key(),
    ]);
    expect(keys.size).toBe(4);
  });

  it("keeps keys short when the members are a prefix plus a few stragglers", () => {
    // 10,000 members with two holes: high, the hole count and two holes, two code units each.
    const members = Array.from({ length: 10_002 }, (_, op) => op).filter(
      (op) => op !== 17 && op !== 9_000,
    );
    expect(setOf(10_002, members).key()).toHaveLength(8);
  });

  it("lets a caller append to the key without ambiguity", () => {
    // Without the hole count, [hole 1] + "\u0002\u0000" and [holes 1, 2] + "" would collide.
    const oneHole = setOf(4, [0, 2]).key();
    const twoHoles = setOf(4, [0, 3]).key();
    expect(oneHole + String.fromCharCode(2, 0)).not.toBe(twoHoles);
  });
});
