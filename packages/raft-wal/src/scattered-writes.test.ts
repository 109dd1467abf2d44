import { createEntry, type Entry, EntryType } from "@raftstore/raft";
import { describe, expect, it } from "vitest";
import { WalCorruptionError } from "./errors.js";
import {
  entries,
  indexes,
  newGuard,
  openTestWal,
  recordingLogger,
} from "./test-support/fixtures.js";
import { type CrashPolicy, keepUnsynced } from "./testing/crash-policy.js";
import { SimFileSystem } from "./testing/sim-file-system.js";
import { openWal, type Wal } from "./wal.js";
import {
  decodeRecord,
  encodeRecord,
  hasLaterWrite,
  lastOfWriteFlag,
  looksLikeLostSector,
  recordSize,
  segmentHeaderSize,
} from "./wal-format.js";

// A write over space already on disk (the zeros preallocation writes ahead) can reach the disk
// scattered when the power fails during its fdatasync: some of its sectors and not others, in any
// order, not only a prefix. Recovery must take that for the crash it is (the write was never
// acknowledged) and still refuse damage to what was synced.

/** The disk's sector: what a lost write loses at a time. */
const sectorSize = 512;

/** Two synced writes: 720 bytes, then 1,360 (which holds the whole sector 1024..1536). */
const synced = [entries(1, 3, 1, 200), entries(4, 7, 1, 300)];
/** The last write: 6 entries of 300 bytes, 2,040 bytes over five sectors. */
const last = entries(8, 13, 1, 300);
const syncedCount = 7;

/** The byte offset of each write's first record in the segment, and where the last one ends. */
function layout() {
  const starts: number[] = [];
  let offset = segmentHeaderSize;
  for (const write of [...synced, last]) {
    starts.push(offset);
    offset += write.reduce((n, e) => n + recordSize(e), 0);
  }
  return { starts, end: offset };
}

/**
 * A log holding the synced writes, and a disk that crashed during the fdatasync of the last
 * write: the next boot sees only the sectors of that write that `scatter` lists (0 is the first
 * sector it touches).
 */
async function crashedDuringLastWrite(
  scatter: readonly number[],
  scenario: Scenario = { before: appendSynced, last },
): Promise<SimFileSystem> {
  let holdSyncs = false;
  const fs = new SimFileSystem({
    delay: (operation) =>
      holdSyncs && operation.kind === "datasync" ? new Promise<void>(() => {}) : undefined,
  });
  const wal = await openTestWal(fs);
  await scenario.before(wal);
  holdSyncs = true;
  void wal.append(scenario.last).catch(() => {});
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  fs.crash();
  const policy: CrashPolicy = {
    file: ({ path, pending }) =>
      path.endsWith(".wal") ? { keep: 0, scatter } : { keep: pending.length },
    directory: ({ pending }) => pending,
  };
  return fs.restart(policy);
}

/** What happens before the last write (all of it synced), and the last write. */
interface Scenario {
  before(wal: Wal): Promise<void>;
  readonly last: readonly Entry[];
}

async function appendSynced(wal: Wal): Promise<void> {
  for (const write of synced) await wal.append(write);
}

/** The indexes of the sectors a write of `list` at `position` touches, from 0. */
function sectorsOf(position: number, list: readonly Entry[]): number[] {
  const end = position + list.reduce((n, e) => n + recordSize(e), 0);
  const count = Math.floor((end - 1) / sectorSize) - Math.floor(position / sectorSize) + 1;
  return [...Array(count).keys()];
}

/** Every subset of `sectors`. */
function subsets(sectors: readonly number[]): number[][] {
  return Array.from({ length: 2 ** sectors.length }, (_, pattern) =>
    sectors.filter((s) => (pattern >> s) & 1),
  );
}

/** Entry `index` whose data is `size` zero bytes (a sector of zeros in the middle of it). */
function zeroEntry(index: number, size: number): Entry {
  return createEntry(index, 1, EntryType.Normal, new Uint8Array(size));
}

function reopen(fs: SimFileSystem) {
  return openWal({ fs, dir: "/wal", guard: newGuard(), logger: recordingLogger() });
}

function segmentPath(fs: SimFileSystem): string {
  return `/wal/${fs.list("/wal")[0]}`;
}

describe("recovery from a last write that reached the disk scattered", () => {
  it("opens after every combination of the last write's sectors, keeping every synced entry and a prefix of that write", async () => {
    const { starts } = layout();
    const lastStart = starts[2] as number;
    const sectors =
      Math.floor((layout().end - 1) / sectorSize) - Math.floor(lastStart / sectorSize) + 1;
    expect(sectors).toBe(5);
    const outcomes = new Set<string>();
    for (let pattern = 0; pattern < 2 ** sectors; pattern++) {
      const scatter = [...Array(sectors).keys()].filter((s) => (pattern >> s) & 1);
      const fs = await crashedDuringLastWrite(scatter);
      const wal = await reopen(fs);
      const loaded = indexes((await wal.load()).entries);
      const kept = loaded.length - syncedCount;
      expect(loaded, `sectors ${scatter}`).toEqual(
        Array.from({ length: syncedCount + kept }, (_, i) => i + 1),
      );
      expect(kept).toBeLessThanOrEqual(last.length);
      outcomes.add(kept === 6 ? "all" : wal.recovery.tornTail === undefined ? "none" : "torn");
      // The log goes on after the repair, and keeps what it writes.
      const next = syncedCount + kept + 1;
      await wal.append(entries(next, next, 2));
      await wal.close();
      const again = await reopen(fs.restart(keepUnsynced));
      expect(indexes((await again.load()).entries).at(-1)).toBe(next);
      await again.close();
    }
    expect([...outcomes].sort()).toEqual(["all", "none", "torn"]);
  });

  it("says in its report and its warning that a sector of the last write never arrived", async () => {
    // The second sector lost, the later ones arrived: out of order, no prefix. Entry 8 lies in
    // the first sector, entry 9 reaches into the second.
    const fs = await crashedDuringLastWrite([0, 2, 3, 4]);
    const wal = await reopen(fs);
    expect(wal.recovery.tornTail?.problem).toMatch(
      /a sector of the last write never reached the disk; sectors after it did/,
    );
    expect(indexes((await wal.load()).entries)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("refuses a lost sector in a synced write, followed by a later write, as corruption", async () => {
    const fs = await crashedDuringLastWrite([0, 1, 2, 3, 4]);
    const path = segmentPath(fs);
    const bytes = fs.contents(path) as Uint8Array;
    const { starts } = layout();
    // Zero a sector inside the second (synced) write, as a lost write of it would have.
    const sector = Math.ceil((starts[1] as number) / sectorSize) * sectorSize;
    expect(sector + sectorSize).toBeLessThan(starts[2] as number);
    bytes.fill(0, sector, sector + sectorSize);
    fs.overwrite(path, bytes);
    const error = await reopen(fs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalCorruptionError);
    expect((error as WalCorruptionError).file).toBe(path);
  });

  it("refuses a flipped bit in the last write, which no crash explains, as corruption", async () => {
    const fs = await crashedDuringLastWrite([0, 1, 2, 3, 4]);
    const path = segmentPath(fs);
    const bytes = fs.contents(path) as Uint8Array;
    const { starts } = layout();
    const at = (starts[2] as number) + recordSize(last[0] as Entry) + 100;
    bytes[at] = (bytes[at] as number) ^ 0x04;
    fs.overwrite(path, bytes);
    const error = await reopen(fs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalCorruptionError);
    expect(error).toMatchObject({ file: path });
  });
});

describe("recovery from a scattered last write, in harder places", () => {
  it("opens after every combination of sectors of a write that follows a truncation in the middle of a write", async () => {
    const scenario: Scenario = {
      async before(wal) {
        await appendSynced(wal);
        await wal.truncateAfter(5);
      },
      last: entries(6, 7, 2, 300),
    };
    const position = (layout().starts[1] as number) + 2 * recordSize(synced[1]?.[0] as Entry);
    for (const scatter of subsets(sectorsOf(position, scenario.last))) {
      const fs = await crashedDuringLastWrite(scatter, scenario);
      const wal = await reopen(fs);
      const loaded = (await wal.load()).entries;
      expect(indexes(loaded).slice(0, 5), `sectors ${scatter}`).toEqual([1, 2, 3, 4, 5]);
      for (const e of loaded.slice(5)) expect(e.term, `sectors ${scatter}`).toBe(2);
      await wal.close();
    }
  });

  it("opens after every combination when an entry of the last write holds a copy of an earlier record", async () => {
    // The data of entry 10 holds a whole, flagged record of entry 2, then more bytes, in the
    // write's third sector: not a later write, whatever the sectors that arrive (losing the
    // second sector breaks entry 9, before the copy).
    const copied = synced[0]?.[1] as Entry;
    const data = Buffer.alloc(300 + recordSize(copied) + 60, 9);
    encodeRecord(copied, data, 300, lastOfWriteFlag);
    const scenario: Scenario = {
      before: appendSynced,
      last: [...entries(8, 9, 1, 300), createEntry(10, 1, EntryType.Normal, data)],
    };
    for (const scatter of subsets(sectorsOf(layout().starts[2] as number, scenario.last))) {
      const fs = await crashedDuringLastWrite(scatter, scenario);
      const wal = await reopen(fs);
      expect(indexes((await wal.load()).entries).slice(0, syncedCount)).toEqual(
        [...Array(syncedCount).keys()].map((i) => i + 1),
      );
      await wal.close();
    }
  });

  it("refuses a flipped bit in a last write whose data holds a sector of zeros", async () => {
    const scenario: Scenario = {
      async before(wal) {
        await appendSynced(wal);
      },
      last: [zeroEntry(8, 1200), zeroEntry(9, 1200)],
    };
    const whole = await crashedDuringLastWrite([0, 1, 2, 3, 4, 5], scenario);
    const path = segmentPath(whole);
    const clean = whole.contents(path) as Uint8Array;
    const start = layout().starts[2] as number;
    // Every byte of entry 9's record: a flip there is damage to an acknowledged entry, never a
    // crash, although its data holds whole sectors of zeros.
    const first = start + recordSize(scenario.last[0] as Entry);
    for (let at = first; at < first + recordSize(scenario.last[1] as Entry); at += 7) {
      const fs = whole.restart(keepUnsynced);
      const bytes = clean.slice();
      bytes[at] = (bytes[at] as number) ^ 0x01;
      fs.overwrite(path, bytes);
      const error = await reopen(fs).catch((e: unknown) => e);
      expect(error, `flip at ${at}`).toBeInstanceOf(WalCorruptionError);
    }
  });

  it("refuses zeros in place of a synced write's end, when a later write follows", async () => {
    const fs = await crashedDuringLastWrite([0, 1, 2, 3, 4]);
    const path = segmentPath(fs);
    const bytes = fs.contents(path) as Uint8Array;
    // The end marker of entry 7, the record that ended the second write.
    const end = layout().starts[2] as number;
    bytes.fill(0, end - 4, end);
    fs.overwrite(path, bytes);
    const error = await reopen(fs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalCorruptionError);
    expect(error).toMatchObject({ file: path, offset: end - recordSize(synced[1]?.[3] as Entry) });
  });
});

describe("the last-of-write flag", () => {
  it("marks the last record of each write, and nothing else", async () => {
    const fs = await crashedDuringLastWrite([0, 1, 2, 3, 4]);
    const bytes = Buffer.from(fs.contents(segmentPath(fs)) as Uint8Array);
    const flagged: number[] = [];
    let offset = segmentHeaderSize;
    for (let index = 1; index <= 13; index++) {
      const record = decodeRecord(bytes, offset, index);
      if (!record.ok) throw new Error(record.problem);
      if (bytes[offset + 6] === lastOfWriteFlag) flagged.push(index);
      offset = record.end;
    }
    expect(flagged).toEqual([3, 7, 13]);
  });

  it("refuses a record with a flag it does not know", () => {
    const [first] = entries(1, 1);
    const bytes = Buffer.alloc(recordSize(first as Entry));
    encodeRecord(first as Entry, bytes, 0, 2);
    const record = decodeRecord(bytes, 0, 1);
    expect(record.ok).toBe(false);
    expect(!record.ok && record.damaged).toBe(true);
    encodeRecord(first as Entry, bytes, 0, lastOfWriteFlag);
    expect(decodeRecord(bytes, 0, 1)).toMatchObject({ ok: true });
    expect(bytes[6]).toBe(lastOfWriteFlag);
  });
});

describe("the evidence recovery reads", () => {
  /** Records `list` back to back, the last flagged as ending its write, then `tail` bytes of 9. */
  function recordsOf(list: readonly Entry[], tail = 0): Buffer {
    const bytes = Buffer.alloc(list.reduce((n, e) => n + recordSize(e), 0) + tail, 9);
    let offset = 0;
    list.forEach((e, i) => {
      offset = encodeRecord(e, bytes, offset, i === list.length - 1 ? lastOfWriteFlag : 0);
    });
    return bytes;
  }

  it("takes zeros for a lost sector only over a whole end marker, or over both header checksums", () => {
    const [e] = entries(5, 5);
    const whole = recordsOf([e as Entry]);
    const end = whole.length;
    const marker = Buffer.from(whole);
    marker.fill(0, end - 4, end);
    expect(looksLikeLostSector(marker, 0, end, 5)).toBe(true);
    const threeOfFour = Buffer.from(whole);
    threeOfFour.fill(0, end - 4, end - 1);
    expect(looksLikeLostSector(threeOfFour, 0, end, 5)).toBe(false);

    const header = Buffer.from(whole);
    header.fill(0, 24, 32);
    expect(looksLikeLostSector(header, 0, undefined, 5)).toBe(true);
    const oneChecksum = Buffer.from(whole);
    oneChecksum.fill(0, 28, 32);
    expect(looksLikeLostSector(oneChecksum, 0, undefined, 5)).toBe(false);
    // The header's other fields must be zero or what entry 5's header holds.
    const otherIndex = Buffer.from(header);
    otherIndex[8] = 6;
    expect(looksLikeLostSector(otherIndex, 0, undefined, 5)).toBe(false);
  });

  it("finds a later write only by a whole, flagged record of a later, plausible entry with data after it", () => {
    // A bad record of entry 5 (unflagged), then the flagged end of its write (entry 6).
    const write = recordsOf(entries(5, 6));
    const withMore = Buffer.concat([write, Buffer.alloc(16, 9)]);
    expect(hasLaterWrite(withMore, 0, withMore.length, 5)).toBe(true);
    // Zeros after the write's end: no later write.
    const withZeros = Buffer.concat([write, Buffer.alloc(16)]);
    expect(hasLaterWrite(withZeros, 0, write.length, 5)).toBe(false);
    // The same record as entry 5 (not later), or as an entry too far ahead to fit, or with
    // damaged data: none of them proves a later write.
    const [five] = entries(5, 5);
    const unflagged = Buffer.alloc(recordSize(five as Entry));
    encodeRecord(five as Entry, unflagged, 0, 0);
    for (const index of [5, 5 + 1000]) {
      const copy = Buffer.concat([unflagged, recordsOf(entries(index, index), 16)]);
      expect(hasLaterWrite(copy, 0, copy.length, 5), `entry ${index}`).toBe(false);
    }
    const damagedData = Buffer.from(withMore);
    damagedData[recordSize(five as Entry) + 40] ^= 0x01;
    expect(hasLaterWrite(damagedData, 0, damagedData.length, 5)).toBe(false);
  });
});
