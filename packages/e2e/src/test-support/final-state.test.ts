import { describe, expect, it } from "vitest";
import { lostWrites } from "./final-state.js";
import type { WriteRecord } from "./register-values.js";

const record = (r: Omit<WriteRecord, "invokedAt">): WriteRecord => ({ ...r, invokedAt: 0 });
const history = [
  record({ key: "a", value: "a1", status: "ok", version: "3" }),
  record({ key: "a", value: "a2", status: "ok", version: "8" }),
  record({ key: "a", value: "a3", status: "failed" }),
  record({ key: "b", value: "b1", status: "unknown" }),
];
const writes = new Map(history.map((w) => [w.value, w]));
const acknowledged = history.filter((w) => w.status === "ok");

describe("lostWrites", () => {
  it("accepts a final state at or beyond every acknowledged version", () => {
    const state = new Map([
      ["a", { value: "a2", version: "8", uid: "u" }],
      ["b", { value: "b1", version: "9", uid: "v" }],
    ]);
    expect(lostWrites(acknowledged, state, writes)).toEqual([]);
  });

  it("reports an acknowledged write rolled back to an older version", () => {
    const state = new Map([["a", { value: "a1", version: "3", uid: "u" }]]);
    expect(lostWrites(acknowledged, state, writes)).toEqual([
      "a=a2 was acknowledged at version 8, but the key ends at 3",
    ]);
  });

  it("reports a final value that only a refused write could have written", () => {
    const state = new Map([["a", { value: "a3", version: "10", uid: "u" }]]);
    expect(lostWrites(acknowledged, state, writes)).toEqual([
      "a ends with a3@10, which no successful write wrote",
    ]);
  });
});
