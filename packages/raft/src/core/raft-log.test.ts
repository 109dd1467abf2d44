import { describe, expect, it } from "vitest";
import { createEntry } from "../checksum.js";
import { EntryType } from "../log-types.js";
import { logWithTerms } from "../test-support/core-harness.js";
import { RaftLog } from "./raft-log.js";

const config = { voters: ["n1"], learners: [] };
const none = { index: 0, term: 0, config };

function log(terms: number[]) {
  return new RaftLog(none, 0, logWithTerms(["n1"], terms));
}

describe("the core's log", () => {
  it("knows the term of every retained entry, of the snapshot's index and of index 0, and no other", () => {
    const l = new RaftLog(
      { index: 5, term: 3, config },
      3,
      logWithTerms(["n1"], [1, 1, 2, 3, 3, 4]).slice(3),
    );
    expect(l.firstIndex()).toBe(4);
    expect(l.lastIndex()).toBe(6);
    expect([0, 2, 3, 4, 5, 6, 7].map((i) => l.term(i))).toEqual([
      0,
      undefined,
      undefined,
      3,
      3,
      4,
      undefined,
    ]);
  });

  it("appends only from the first conflicting entry, keeping entries it already holds", () => {
    const l = log([1, 1, 2, 2]);
    const same = [createEntry(3, 2, EntryType.Normal, new Uint8Array())];
    expect(l.maybeAppend(2, 1, same)).toBe(3);
    expect(l.lastIndex()).toBe(4);
    const conflicting = [createEntry(3, 3, EntryType.Normal, new Uint8Array())];
    expect(l.maybeAppend(2, 1, conflicting)).toBe(3);
    expect(l.lastIndex()).toBe(3);
    expect(l.term(3)).toBe(3);
  });

  it("refuses an append whose previous entry does not match", () => {
    const l = log([1, 1, 2]);
    expect(l.maybeAppend(3, 3, [])).toBeUndefined();
    expect(l.maybeAppend(5, 2, [])).toBeUndefined();
  });

  it("throws rather than overwrite a committed entry", () => {
    const l = log([1, 1, 2]);
    l.commitTo(3);
    expect(() =>
      l.maybeAppend(2, 1, [createEntry(3, 5, EntryType.Normal, new Uint8Array())]),
    ).toThrow(/safety violation/);
  });

  it("hands out entries to persist once, and forgets a late acknowledgement for replaced entries", () => {
    const l = log([1]);
    l.append([
      createEntry(2, 2, EntryType.Normal, new Uint8Array()),
      createEntry(3, 2, EntryType.Normal, new Uint8Array()),
    ]);
    expect(l.takeEntriesToPersist().map((e) => e.index)).toEqual([2, 3]);
    expect(l.hasEntriesToPersist()).toBe(false);
    // A new leader replaces entry 3 before the write of 2..3 completes.
    l.maybeAppend(2, 2, [createEntry(3, 3, EntryType.Normal, new Uint8Array())]);
    expect(l.takeEntriesToPersist().map((e) => [e.index, e.term])).toEqual([[3, 3]]);
    l.stableTo(3, 2); // the old write completes: it covered a different entry 3
    expect(l.persisted).toBe(1);
    l.stableTo(3, 3);
    expect(l.persisted).toBe(3);
  });

  it("hands out committed entries for applying only once they are durable locally", () => {
    const l = log([1]);
    l.append([createEntry(2, 1, EntryType.Normal, new Uint8Array())]);
    l.commitTo(2);
    expect(l.takeEntriesToApply(1 << 20).map((e) => e.index)).toEqual([1]);
    expect(l.hasEntriesToApply()).toBe(false);
    l.takeEntriesToPersist();
    l.stableTo(2, 1);
    expect(l.takeEntriesToApply(1 << 20).map((e) => e.index)).toEqual([2]);
    expect(l.hasEntriesToApply()).toBe(false);
  });

  it("finds the last entry at or below an index whose term is at most a given term", () => {
    const l = log([1, 1, 2, 2, 5, 5]);
    expect(l.findConflictByTerm(6, 3)).toEqual({ index: 4, term: 2 });
    expect(l.findConflictByTerm(6, 5)).toEqual({ index: 6, term: 5 });
    expect(l.findConflictByTerm(9, 1)).toEqual({ index: 2, term: 1 });
  });

  it("compacts only what a snapshot covers and what is durable", () => {
    const l = log([1, 1, 1, 1]);
    l.commitTo(4);
    l.appliedTo(4);
    expect(() => l.compact(3)).toThrow(/cannot compact/);
    l.setSnapshot({ index: 3, term: 1, config });
    l.compact(2);
    expect(l.firstIndex()).toBe(3);
    expect(l.term(2)).toBeUndefined();
    expect(l.slice(2, 4)).toBeUndefined();
    expect(l.slice(3, 5)?.map((e) => e.index)).toEqual([3, 4]);
  });

  it("keeps the bytes of its entries through appends, conflicts, compactions and restores", () => {
    const entry = (index: number, term: number, size: number) =>
      createEntry(index, term, EntryType.Normal, new Uint8Array(size));
    const l = new RaftLog(none, 0, [entry(1, 1, 10), entry(2, 1, 20)]);
    expect(l.bytes()).toBe(30);
    l.append([entry(3, 1, 30), entry(4, 1, 40)]);
    expect(l.bytes()).toBe(100);
    // Entry 3 conflicts: 3 and 4 go, 3' and 4' and 5' come.
    expect(l.maybeAppend(2, 1, [entry(3, 2, 1), entry(4, 2, 2), entry(5, 2, 3)])).toBe(5);
    expect(l.bytes()).toBe(36);
    l.commitTo(5);
    l.appliedTo(5);
    l.takeEntriesToPersist();
    l.stableTo(5, 2);
    l.setSnapshot({ index: 4, term: 2, config });
    l.compact(3);
    expect(l.bytes()).toBe(5);
    l.restore({ index: 9, term: 3, config });
    expect(l.bytes()).toBe(0);
  });

  it("finds where a trail of at most so many entries and so many bytes behind an index starts", () => {
    // Entries 1 to 6 hold 10, 20, 30, 40, 50 and 60 bytes; the first two are compacted.
    const entries = [10, 20, 30, 40, 50, 60].map((size, i) =>
      createEntry(i + 1, 1, EntryType.Normal, new Uint8Array(size)),
    );
    const l = new RaftLog(none, 2, entries.slice(2));
    const unbounded = Number.POSITIVE_INFINITY;
    // Behind 5: entries 5 (50), 4 (40), 3 (30).
    expect(l.trailStart(5, 2, unbounded)).toBe(3);
    expect(l.trailStart(5, unbounded, 90)).toBe(3);
    expect(l.trailStart(5, unbounded, 89)).toBe(4);
    expect(l.trailStart(5, 0, unbounded)).toBe(5);
    expect(l.trailStart(5, unbounded, 49)).toBe(5);
    // Every retained entry fits: the trail starts where the log does.
    expect(l.trailStart(5, 10, unbounded)).toBe(2);
    expect(l.trailStart(6, 4, 180)).toBe(2);
    expect(l.trailStart(6, 4, 179)).toBe(3);
  });
});
