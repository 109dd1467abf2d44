import { createEntry, EntryType, type LogContents } from "@raftstore/raft";
import { describe, expect, it } from "vitest";
import { isInvalidEntryError, isLogIndexError, isStoreClosedError } from "./errors.js";
import { entries, entry, indexes, openTestWal, payload, settle } from "./test-support/fixtures.js";
import { keepUnsynced } from "./testing/crash-policy.js";
import { SimFileSystem, type SimOperation } from "./testing/sim-file-system.js";

/** A disk whose datasyncs wait until released, to watch group commit happen. */
function heldSyncs() {
  const waiting: (() => void)[] = [];
  const operations: SimOperation[] = [];
  const fs = new SimFileSystem({
    delay(operation) {
      operations.push(operation);
      if (operation.kind !== "datasync") return undefined;
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
  });
  return {
    fs,
    datasyncs: () => operations.filter((o) => o.kind === "datasync").length,
    release() {
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

/**
 * Runs `appenders` appenders that each append `rounds` entries, one at a time, on a disk whose
 * syncs wait for a release; the first `early` of them start one sync ahead of the rest. Returns
 * how many syncs their appends took.
 */
async function syncsOfAppenders(appenders: number, rounds: number, early: number) {
  const disk = heldSyncs();
  const opening = openTestWal(disk.fs);
  await settle();
  disk.release();
  const wal = await opening;
  const syncsBefore = disk.datasyncs();
  let next = 1;
  const appender = async () => {
    for (let round = 0; round < rounds; round++) await wal.append([entry(next++)]);
  };
  const started = Array.from({ length: early }, appender);
  await settle();
  started.push(...Array.from({ length: appenders - early }, appender));
  let done = false;
  void Promise.all(started).then(() => {
    done = true;
  });
  while (!done) {
    disk.release();
    await settle();
  }
  expect(indexes((await wal.load()).entries)).toEqual(
    Array.from({ length: appenders * rounds }, (_, i) => i + 1),
  );
  return { syncs: disk.datasyncs() - syncsBefore };
}

describe("the write-ahead log", () => {
  it("reads back what was appended, after a reopen", async () => {
    const fs = new SimFileSystem();
    const wal = await openTestWal(fs);
    await wal.append(entries(1, 5));
    await wal.append(entries(6, 9, 2));
    await wal.close();

    const reopened = await openTestWal(fs.restart(keepUnsynced));
    const { compactedIndex, entries: loaded } = await reopened.load();
    expect(compactedIndex).toBe(0);
    expect(loaded).toEqual([...entries(1, 5), ...entries(6, 9, 2)]);
  });

  it("refuses an append that does not continue the log, and changes nothing", async () => {
    const wal = await openTestWal(new SimFileSystem());
    await wal.append(entries(1, 3));
    const gap = await wal.append([entry(5)]).catch((e: unknown) => e);
    const hole = await wal.append([entry(4), entry(6)]).catch((e: unknown) => e);
    expect(isLogIndexError(gap) && gap.message).toBe(
      "append: expected entry 4 (appends continue the log without a gap), found entry 5",
    );
    expect(isLogIndexError(hole)).toBe(true);
    await wal.append([entry(4)]);
    expect(indexes((await wal.load()).entries)).toEqual([1, 2, 3, 4]);
  });

  it("refuses an entry whose checksum does not match its contents, before writing anything", async () => {
    const fs = new SimFileSystem();
    const wal = await openTestWal(fs);
    const good = entry(1);
    const damaged = { ...good, data: payload(2) };
    const error = await wal.append([damaged]).catch((e: unknown) => e);
    expect(isInvalidEntryError(error) && error.index).toBe(1);
    expect((await wal.load()).entries).toEqual([]);
    await wal.append([good]);
    expect((await wal.load()).entries).toEqual([good]);
  });

  it("shares one fdatasync among the appends that queue up while a sync runs (group commit)", async () => {
    const disk = heldSyncs();
    const openingSyncs = 1; // the first segment's header
    const opening = openTestWal(disk.fs);
    await settle();
    disk.release();
    const wal = await opening;
    expect(disk.datasyncs()).toBe(openingSyncs);

    const acknowledged: number[] = [];
    const first = wal.append([entry(1)]).then(() => acknowledged.push(1));
    await settle();
    const rest = Array.from({ length: 20 }, (_, i) =>
      wal.append([entry(i + 2)]).then(() => acknowledged.push(i + 2)),
    );
    await settle();
    expect(acknowledged).toEqual([]);
    expect(disk.datasyncs()).toBe(openingSyncs + 1);

    disk.release();
    await first;
    await settle();
    expect(acknowledged).toEqual([1]);
    expect(disk.datasyncs()).toBe(openingSyncs + 2);

    disk.release();
    await Promise.all(rest);
    expect(acknowledged).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(disk.datasyncs()).toBe(openingSyncs + 2);
  });

  it("lets the appenders a group commit woke join the next one, so they do not split into cohorts", async () => {
    // 16 appenders, each appending its next entry as soon as its previous one is durable. All
    // start together: every sync carries all 16.
    const together = await syncsOfAppenders(16, 10, 0);
    expect(together.syncs).toBe(10);
    // One starts alone and the other 15 while its sync runs: after that first sync, which
    // carries one entry, the two groups merge instead of alternating.
    const staggered = await syncsOfAppenders(16, 10, 1);
    expect(staggered.syncs).toBe(11);
  });

  it("starts a new segment when the next record would pass the segment size", async () => {
    const fs = new SimFileSystem();
    const wal = await openTestWal(fs, { segmentSize: 200 });
    for (let i = 1; i <= 12; i++) await wal.append([entry(i, 1, 20)]);
    // A 20-byte entry takes 60 bytes: a 40-byte header and two records fill 160 of 200 bytes.
    expect(wal.segmentCount).toBe(6);
    expect(fs.list("/wal")).toEqual([
      "0000000000000001-0000000000000001.wal",
      "0000000000000002-0000000000000003.wal",
      "0000000000000003-0000000000000005.wal",
      "0000000000000004-0000000000000007.wal",
      "0000000000000005-0000000000000009.wal",
      "0000000000000006-000000000000000b.wal",
    ]);
    const reopened = await openTestWal(fs.restart(keepUnsynced), { segmentSize: 200 });
    expect((await reopened.load()).entries).toEqual(entries(1, 12, 1, 20));
  });

  it("splits one group commit across segments when it does not fit", async () => {
    const fs = new SimFileSystem();
    const wal = await openTestWal(fs, { segmentSize: 200 });
    await Promise.all([wal.append(entries(1, 3, 1, 20)), wal.append(entries(4, 7, 1, 20))]);
    expect(wal.segmentCount).toBe(4);
    expect((await wal.load()).entries).toEqual(entries(1, 7, 1, 20));
  });

  it("gives an entry larger than a segment a segment of its own", async () => {
    const wal = await openTestWal(new SimFileSystem(), { segmentSize: 200 });
    await wal.append([entry(1, 1, 10)]);
    await wal.append([entry(2, 1, 1000)]);
    await wal.append([entry(3, 1, 10)]);
    expect(wal.segmentCount).toBe(3);
    expect((await wal.load()).entries).toEqual([
      entry(1, 1, 10),
      entry(2, 1, 1000),
      entry(3, 1, 10),
    ]);
  });

  it("truncates the tail after a conflict, across segments, and continues after it", async () => {
    const fs = new SimFileSystem();
    const wal = await openTestWal(fs, { segmentSize: 200 });
    for (let i = 1; i <= 9; i++) await wal.append([entry(i, 1, 20)]);
    expect(wal.segmentCount).toBe(5);

    await wal.truncateAfter(4);
    expect(wal.lastIndex).toBe(4);
    // Segments held 1-2, 3-4, 5-6, 7-8, 9: the last two are gone, the one entry 5 starts is empty.
    expect(wal.segmentCount).toBe(3);
    await wal.append(entries(5, 6, 2, 20));

    const reopened = await openTestWal(fs.restart(keepUnsynced), { segmentSize: 200 });
    expect((await reopened.load()).entries).toEqual([
      ...entries(1, 4, 1, 20),
      ...entries(5, 6, 2, 20),
    ]);
  });

  it("treats truncateAfter at or past the last entry as a no-op, and refuses one into compacted entries", async () => {
    const wal = await openTestWal(new SimFileSystem(), { segmentSize: 200 });
    await wal.append(entries(1, 6, 1, 20));
    await wal.truncateAfter(6);
    await wal.truncateAfter(10);
    expect(wal.lastIndex).toBe(6);
    await wal.compact(4);
    const error = await wal.truncateAfter(3).catch((e: unknown) => e);
    expect(isLogIndexError(error)).toBe(true);
    expect(wal.lastIndex).toBe(6);
  });

  it("removes only whole segments the compaction index covers, never the newest", async () => {
    const fs = new SimFileSystem();
    const wal = await openTestWal(fs, { segmentSize: 200 });
    for (let i = 1; i <= 9; i++) await wal.append([entry(i, 1, 20)]);

    await wal.compact(5);
    // Segments hold 1-2, 3-4, 5-6, 7-8, 9: the first two are covered.
    expect(wal.compactedIndex).toBe(4);
    expect(wal.segmentCount).toBe(3);
    await wal.compact(9);
    expect(wal.compactedIndex).toBe(8);
    expect(wal.segmentCount).toBe(1);

    const reopened = await openTestWal(fs.restart(keepUnsynced), { segmentSize: 200 });
    const loaded = await reopened.load();
    expect(loaded.compactedIndex).toBe(8);
    expect(loaded.entries).toEqual([entry(9, 1, 20)]);
  });

  it("refuses to compact past the last entry", async () => {
    const wal = await openTestWal(new SimFileSystem());
    await wal.append(entries(1, 3));
    expect(isLogIndexError(await wal.compact(4).catch((e: unknown) => e))).toBe(true);
  });

  it("removes every entry on reset and continues the log after the given index", async () => {
    const fs = new SimFileSystem();
    const wal = await openTestWal(fs, { segmentSize: 200 });
    await wal.append(entries(1, 7, 1, 20));
    await wal.reset(100);
    expect(wal.compactedIndex).toBe(100);
    expect(wal.lastIndex).toBe(100);
    expect(fs.list("/wal")).toEqual(["0000000000000005-0000000000000065.wal"]);
    await wal.append([entry(101, 3)]);

    const reopened = await openTestWal(fs.restart(keepUnsynced), { segmentSize: 200 });
    expect(await reopened.load()).toEqual({ compactedIndex: 100, entries: [entry(101, 3)] });
  });

  it("runs calls in call order even when the caller does not wait for each", async () => {
    const wal = await openTestWal(new SimFileSystem(), { segmentSize: 200 });
    const calls = [
      wal.append(entries(1, 5, 1, 20)),
      wal.truncateAfter(2),
      wal.append(entries(3, 4, 2, 20)),
      wal.load(),
      wal.reset(10),
      wal.append([entry(11, 3)]),
    ];
    const results = await Promise.all(calls);
    expect(indexes((results[3] as LogContents).entries)).toEqual([1, 2, 3, 4]);
    expect(await wal.load()).toEqual({ compactedIndex: 10, entries: [entry(11, 3)] });
  });

  it("reads a range back, verified, and refuses one outside the retained entries", async () => {
    const wal = await openTestWal(new SimFileSystem(), { segmentSize: 200 });
    await wal.append(entries(1, 9, 1, 20));
    await wal.compact(4);
    expect(await wal.read(5, 7)).toEqual(entries(5, 7, 1, 20));
    expect(await wal.read(6, 5)).toEqual([]);
    expect(isLogIndexError(await wal.read(1, 5).catch((e: unknown) => e))).toBe(true);
    expect(isLogIndexError(await wal.read(8, 10).catch((e: unknown) => e))).toBe(true);
  });

  it("keeps an entry's own checksum, type and term through the disk", async () => {
    const fs = new SimFileSystem();
    const wal = await openTestWal(fs);
    const written = [
      createEntry(1, 7, EntryType.NoOp, new Uint8Array(0)),
      createEntry(2, 7, EntryType.Config, new TextEncoder().encode('{"voters":["a"]}')),
      createEntry(3, 9, EntryType.Normal, payload(3, 4096)),
    ];
    await wal.append(written);
    const reopened = await openTestWal(fs.restart(keepUnsynced));
    const loaded = (await reopened.load()).entries;
    expect(loaded).toEqual(written);
    expect(loaded.map((e) => e.checksum)).toEqual(written.map((e) => e.checksum));
  });

  it("lets pending calls finish on close, then refuses every call", async () => {
    const wal = await openTestWal(new SimFileSystem());
    const pending = wal.append(entries(1, 3));
    await wal.close();
    await pending;
    for (const call of [
      wal.append([entry(4)]),
      wal.load(),
      wal.truncateAfter(1),
      wal.compact(1),
      wal.reset(9),
    ]) {
      expect(isStoreClosedError(await call.catch((e: unknown) => e))).toBe(true);
    }
  });
});
