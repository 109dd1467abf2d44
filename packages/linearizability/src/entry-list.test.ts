import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EntryList, isReturnEntry, operationOf } from "./entry-list.js";

const inf = Number.POSITIVE_INFINITY;

function walk(list: EntryList): string[] {
  const seen: string[] = [];
  for (let entry = list.first(); entry !== list.tail; entry = list.after(entry)) {
    seen.push(`${isReturnEntry(entry) ? "ret" : "call"}${operationOf(entry)}`);
  }
  return seen;
}

describe("EntryList", () => {
  it("orders events by time, calls before returns at equal times, and ∞ last", () => {
    const list = new EntryList(Float64Array.of(0, 5, 5, 1), Float64Array.of(5, 5, inf, 2));
    expect(walk(list)).toEqual([
      "call0",
      "call3",
      "ret3",
      "call1",
      "call2",
      "ret0",
      "ret1",
      "ret2",
    ]);
  });

  it("restores the exact order when lifted operations are put back in reverse order", () => {
    const intervals = fc.array(
      fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 5 })),
      { minLength: 1, maxLength: 12 },
    );
    fc.assert(
      fc.property(intervals, fc.array(fc.nat()), (ops, picks) => {
        const list = new EntryList(
          Float64Array.from(ops, ([call]) => call),
          Float64Array.from(ops, ([call, length]) => call + length),
        );
        const snapshots = [walk(list)];
        const lifted: number[] = [];
        for (const pick of picks.slice(0, ops.length)) {
          const remaining = ops.map((_, op) => op).filter((op) => !lifted.includes(op));
          const op = remaining[pick % remaining.length];
          list.lift(op);
          lifted.push(op);
          expect(walk(list)).not.toContain(`call${op}`);
          expect(walk(list)).not.toContain(`ret${op}`);
          snapshots.push(walk(list));
        }
        while (lifted.length > 0) {
          list.unlift(lifted.pop() as number);
          snapshots.pop();
          expect(walk(list)).toEqual(snapshots.at(-1));
        }
        expect(list.isEmpty()).toBe(false);
      }),
    );
  });

  it("is empty once every operation is lifted", () => {
    const list = new EntryList(Float64Array.of(0, 1), Float64Array.of(3, 2));
    list.lift(1);
    list.lift(0);
    expect(list.isEmpty()).toBe(true);
    expect(list.first()).toBe(list.tail);
    list.unlift(0);
    expect(walk(list)).toEqual(["call0", "ret0"]);
  });
});
