import { describe, expect, it } from "vitest";
import { NameTable, seededHash } from "./name-table.js";

/** A deterministic pseudo-random sequence, so that a failure can be replayed. */
function lcg(seed: number): (bound: number) => number {
  let state = seed;
  return (bound) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % bound;
  };
}

/**
 * Key `k` of a test's key space: short and long (equal in their first 20 code units, which the
 * table keeps inline, and differing only after them), of odd and even lengths, with code units
 * beyond ASCII and beyond 0x7fff (which make a negative word when two are packed into one).
 */
function keyOf(k: number): string {
  switch (k % 4) {
    case 0:
      return `name-${k}`;
    case 1:
      return `${"x".repeat(24)}-${k}`;
    case 2:
      return `\u00e9\uffff-${k}`;
    default:
      return `${"\ud7ff".repeat(19)}${k}`;
  }
}

/**
 * Runs `steps` random sets and deletes over `keys` keys against both a table and a Map, checking
 * every key after each step: its value, and what a read is shown with its tag and with another.
 * A hash with few values makes long runs, collisions and wrap-arounds that the seeded hash would
 * make only in a huge table.
 */
function checkAgainstMap(
  table: NameTable<number, string>,
  keys: number,
  steps: number,
  seed: number,
) {
  const model = new Map<string, { value: number; shown: string; tag: string }>();
  const random = lcg(seed);
  for (let step = 0; step < steps; step++) {
    const key = keyOf(random(keys));
    if (random(3) === 0) {
      expect(table.delete(key)).toBe(model.delete(key));
    } else {
      const entry = { value: step, shown: `shown-${step}`, tag: random(2) === 0 ? "v1" : "v2" };
      table.set(key, entry.value, entry.shown, entry.tag);
      model.set(key, entry);
    }
    expect(table.size).toBe(model.size);
    // Compared plainly, with one expect per step: an expect per key takes seconds. Each key is
    // built afresh, as a decoded request's would be.
    const wrong: string[] = [];
    for (let k = 0; k < keys; k++) {
      const name = keyOf(k);
      const entry = model.get(name);
      if (
        table.get(name) !== entry?.value ||
        table.shown(name, "v1") !== (entry?.tag === "v1" ? entry.shown : undefined) ||
        table.shown(name, "v2") !== (entry?.tag === "v2" ? entry.shown : undefined)
      ) {
        wrong.push(name);
      }
    }
    expect(wrong, `step ${step}`).toEqual([]);
  }
}

/** Stores `value` under `key`, shown as itself to reads tagged "". */
function put<V>(table: NameTable<V>, key: string, value: V): void {
  table.set(key, value, value, "");
}

describe("NameTable", () => {
  it("stores, replaces and deletes values by key", () => {
    const table = new NameTable<string>();
    put(table, "web", "1");
    put(table, "api", "1");
    put(table, "web", "2");
    expect(table.size).toBe(2);
    expect(table.get("web")).toBe("2");
    expect(table.shown("web", "")).toBe("2");
    expect(table.shown("web", "v1")).toBeUndefined();
    // A key built at run time (a decoded request's) finds the entry of an equal literal.
    expect(table.get(["a", "p", "i"].join(""))).toBe("1");
    expect(table.delete("web")).toBe(true);
    expect(table.delete("web")).toBe(false);
    expect(table.get("web")).toBeUndefined();
    expect(table.get("")).toBeUndefined();
    expect(table.size).toBe(1);
    put(table, "", "empty");
    expect(table.get("")).toBe("empty");
    expect(table.get("api")).toBe("1");
  });

  it("agrees with a Map through random sets and deletes, when every key collides", () => {
    checkAgainstMap(new NameTable<number, string>(() => 5), 40, 2_000, 1);
  });

  it("agrees with a Map through random sets and deletes, with runs that wrap around", () => {
    // Homes at the last two positions and the first two, whatever the capacity: runs cross the
    // end of the array, and a delete shifts entries back across it.
    const homes = [0x3fffffff, 0x3ffffffe, 0, 1];
    const hash = (key: string) => homes[key.charCodeAt(key.length - 1) % 4] as number;
    for (const seed of [2, 3, 4])
      checkAgainstMap(new NameTable<number, string>(hash), 60, 1_500, seed);
  });

  it("agrees with a Map with the seeded hash, through growing and shrinking", () => {
    checkAgainstMap(new NameTable<number, string>(), 300, 3_000, 5);
  });

  it("stays at most half full, and gives memory back when emptied", () => {
    const table = new NameTable<number>();
    put(table, "artist-0", 0);
    expect(table.capacity).toBe(2); // one table per tenancy: a tenancy of one costs little
    for (let i = 0; i < 10_000; i++) put(table, `artist-${i}`, i);
    expect(table.capacity).toBe(32_768);
    for (let i = 0; i < 10_000; i++) expect(table.get(`artist-${i}`)).toBe(i);
    for (let i = 0; i < 9_990; i++) table.delete(`artist-${i}`);
    expect(table.size).toBe(10);
    expect(table.capacity).toBeLessThanOrEqual(128);
    for (let i = 9_990; i < 10_000; i++) expect(table.get(`artist-${i}`)).toBe(i);
  });

  it("refuses a key beyond its largest capacity, and changes nothing", () => {
    const table = new NameTable<number>(seededHash, 16);
    for (let i = 0; i < 8; i++) put(table, `artist-${i}`, i);
    expect(() => put(table, "one-too-many", 8)).toThrow(RangeError);
    expect(table.size).toBe(8);
    expect(table.get("one-too-many")).toBeUndefined();
    for (let i = 0; i < 8; i++) expect(table.get(`artist-${i}`)).toBe(i);
    put(table, "artist-0", 10); // replacing needs no room
    expect(table.get("artist-0")).toBe(10);
  });

  it("hashes to 30 bits, spreading names that differ in their last character", () => {
    const low = new Set<number>();
    for (let i = 0; i < 1_000; i++) {
      const h = seededHash(`artist-${String(i).padStart(7, "0")}`);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 30);
      low.add(h & 1023);
    }
    // 1,000 keys thrown into 1,024 buckets fill about 63 % of them when spread at random.
    expect(low.size).toBeGreaterThan(560);
  });
});
