import { describe, expect, it } from "vitest";
import { checksum, createEntry } from "../checksum.js";
import { type Entry, EntryType, type SnapshotMeta } from "../log-types.js";
import {
  decodeRestoreEntry,
  encodeRestoreChunk,
  encodeRestoreCommit,
  type RestoreCommit,
} from "../restore-entry.js";
import { Applier, type RestoreOutcome } from "./applier.js";
import { MemoryLogStore } from "./memory-log-store.js";
import { MemorySnapshotStore } from "./memory-snapshot-store.js";
import { MemoryStableStore } from "./memory-stable-store.js";
import { createMemoryNetwork } from "./memory-transport.js";
import { resolveOptions } from "./options.js";
import { RestoreRun } from "./restore-run.js";

const text = (s: string) => new TextEncoder().encode(s);
const chunk = (index: number, term: number, seq: number, piece: string) =>
  createEntry(index, term, EntryType.Restore, encodeRestoreChunk(seq, text(piece)));
const commitOf = (index: number, term: number, c: Omit<RestoreCommit, "kind">) =>
  createEntry(index, term, EntryType.Restore, encodeRestoreCommit(c));
const normal = (index: number, term: number) =>
  createEntry(index, term, EntryType.Normal, text("{}"));

function contentsOf(pieces: string[]) {
  let crc = 0;
  for (const piece of pieces) crc = checksum(text(piece), crc);
  return { size: pieces.join("").length, checksum: crc };
}

describe("restore entries", () => {
  it("round-trip chunks and commits, and say what is wrong with anything else", () => {
    expect(decodeRestoreEntry(encodeRestoreChunk(7, text("abc")))).toEqual({
      kind: "chunk",
      seq: 7,
      piece: text("abc"),
    });
    const commit = { first: 2 ** 40, chunks: 3, size: 2 ** 33, checksum: 0xffffffff };
    expect(decodeRestoreEntry(encodeRestoreCommit(commit))).toEqual({ kind: "commit", ...commit });
    expect(decodeRestoreEntry(new Uint8Array([9, 1]))).toMatch(/expected a restore entry of kind/);
    expect(decodeRestoreEntry(new Uint8Array([2, 1]))).toMatch(
      /expected a restore commit of 25 bytes, found 2/,
    );
  });
});

describe("a restore run", () => {
  it("collects contiguous chunks of one term and hands them over at a matching commit", () => {
    const run = new RestoreRun();
    expect(run.next(normal(4, 2))).toBeUndefined();
    expect(run.next(chunk(5, 2, 0, "ab"))).toBeUndefined();
    expect(run.openSince).toBe(5);
    expect(run.next(chunk(6, 2, 1, "cd"))).toBeUndefined();
    const result = run.next(commitOf(7, 2, { first: 5, chunks: 2, ...contentsOf(["ab", "cd"]) }));
    expect(result).toMatchObject({ commit: { first: 5, chunks: 2, size: 4 } });
    expect((result as { contents: { pieces: readonly Uint8Array[] } }).contents.pieces).toEqual([
      text("ab"),
      text("cd"),
    ]);
    // Open until the applier restored it.
    expect(run.openSince).toBe(5);
    run.reset();
    expect(run.openSince).toBeUndefined();
  });

  it("ends at any other entry, and a commit after that is refused", () => {
    const run = new RestoreRun();
    run.next(chunk(5, 2, 0, "ab"));
    run.next(normal(6, 3));
    expect(run.openSince).toBeUndefined();
    const result = run.next(commitOf(7, 3, { first: 5, chunks: 1, ...contentsOf(["ab"]) }));
    expect(result).toEqual({
      refused: "expected the 1 chunks from entry 5 right before the commit at 7, found none",
    });
  });

  it("does not continue a run with a chunk of another term or out of sequence", () => {
    const run = new RestoreRun();
    run.next(chunk(5, 2, 0, "ab"));
    run.next(chunk(6, 3, 1, "cd"));
    expect(run.openSince).toBeUndefined();
    run.next(chunk(7, 3, 0, "ef"));
    run.next(chunk(8, 3, 2, "gh"));
    expect(run.openSince).toBeUndefined();
  });

  it("refuses a commit whose count, size or checksum disagrees with the chunks", () => {
    const cases: [Omit<RestoreCommit, "kind">, RegExp][] = [
      [{ first: 5, chunks: 3, ...contentsOf(["ab", "cd"]) }, /expected 3 chunks of 4 bytes/],
      [{ first: 5, chunks: 2, size: 5, checksum: 0 }, /expected 2 chunks of 5 bytes/],
      [{ first: 5, chunks: 2, size: 4, checksum: 1 }, /expected contents with CRC32C 1/],
      [{ first: 4, chunks: 2, ...contentsOf(["ab", "cd"]) }, /from entry 4 .* found chunks 5 to 6/],
    ];
    for (const [commit, message] of cases) {
      const run = new RestoreRun();
      run.next(chunk(5, 2, 0, "ab"));
      run.next(chunk(6, 2, 1, "cd"));
      const result = run.next(commitOf(7, 2, commit)) as { refused: string };
      expect(result.refused).toMatch(message);
    }
  });
});

describe("the applier and a restore run", () => {
  function applier() {
    const restored: { meta: SnapshotMeta; text: string }[] = [];
    const results = new Map<number, unknown>();
    const fsm = {
      apply: () => ({ ok: true }),
      snapshot: async function* () {},
      restore: async (contents: AsyncIterable<Uint8Array>, meta: SnapshotMeta) => {
        let all = "";
        for await (const piece of contents) all += new TextDecoder().decode(piece);
        if (all === "bad") throw new Error("not a snapshot");
        restored.push({ meta, text: all });
      },
    };
    const options = resolveOptions({
      id: "n1",
      voters: ["n1"],
      logStore: new MemoryLogStore(),
      stableStore: new MemoryStableStore(),
      snapshotStore: new MemorySnapshotStore(),
      transport: createMemoryNetwork().transport("n1"),
      fsm,
    });
    let applied = 0;
    const a = new Applier(
      {
        options,
        running: () => true,
        exclusive: (fn) => fn(),
        configAt: () => ({ voters: ["n1"], learners: [] }),
        entryApplied: (entry: Entry, result: unknown) => results.set(entry.index, result),
        batchApplied: (index: number) => {
          applied = index;
        },
        restored: () => {},
        userRestored: () => {},
        fail: (error: unknown) => {
          throw error;
        },
      },
      3,
    );
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    return { a, restored, results, settle, applied: () => applied };
  }

  it("places a snapshot taken amid the chunks before them, and after the commit once restored", async () => {
    const { a, restored, results, settle } = applier();
    a.enqueueEntries([normal(4, 2), chunk(5, 2, 0, "ab"), chunk(6, 2, 1, "cd")]);
    await settle();
    expect(a.appliedIndex).toBe(6);
    expect(a.snapshotPoint()).toBe(4);
    a.enqueueEntries([commitOf(7, 2, { first: 5, chunks: 2, ...contentsOf(["ab", "cd"]) })]);
    await settle();
    expect(restored).toEqual([
      { meta: { index: 7, term: 2, config: { voters: ["n1"], learners: [] } }, text: "abcd" },
    ]);
    expect(results.get(7)).toEqual({ restored: true, index: 7 } satisfies RestoreOutcome);
    expect(a.snapshotPoint()).toBe(7);
    expect(a.lastRestoreIndex).toBe(7);
  });

  it("turns contents the state machine refuses into a RestoreRejectedError, and moves on", async () => {
    const { a, restored, results, settle } = applier();
    a.enqueueEntries([
      chunk(4, 2, 0, "bad"),
      commitOf(5, 2, { first: 4, chunks: 1, ...contentsOf(["bad"]) }),
      normal(6, 2),
    ]);
    await settle();
    expect(restored).toEqual([]);
    const outcome = results.get(5) as RestoreOutcome;
    expect(outcome.restored).toBe(false);
    expect(!outcome.restored && outcome.error.message).toMatch(/rejected .*not a snapshot/);
    expect(a.appliedIndex).toBe(6);
    expect(a.lastRestoreIndex).toBe(0);
  });
});
