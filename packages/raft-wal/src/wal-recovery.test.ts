import type { Entry } from "@raftstore/raft";
import { describe, expect, it } from "vitest";
import { isUnsupportedFormatError, isWalCorruptionError, WalCorruptionError } from "./errors.js";
import {
  entries,
  entry,
  indexes,
  newGuard,
  openTestWal,
  recordingLogger,
} from "./test-support/fixtures.js";
import { keepUnsynced } from "./testing/crash-policy.js";
import { SimFileSystem } from "./testing/sim-file-system.js";
import { openWal } from "./wal.js";
import {
  encodeRecord,
  encodeSegmentHeader,
  recordSize,
  resetFlag,
  segmentHeaderSize,
  segmentName,
} from "./wal-format.js";

const segmentSize = 200;

/** A quiescent disk holding entries 1..`last` (20 data bytes each, two per segment). */
async function diskWith(last: number): Promise<SimFileSystem> {
  const fs = new SimFileSystem();
  // No preallocation: these cases place bytes right after the last record.
  const wal = await openTestWal(fs, { segmentSize, preallocateBytes: 0 });
  for (let i = 1; i <= last; i++) await wal.append([entry(i, 1, 20)]);
  await wal.close();
  return fs.restart(keepUnsynced);
}

function segmentPaths(fs: SimFileSystem): string[] {
  return fs.list("/wal").map((name) => `/wal/${name}`);
}

function lastSegment(fs: SimFileSystem): string {
  return segmentPaths(fs).at(-1) as string;
}

/** A segment file built by hand: its header, then the given entries' records. */
function segmentBytes(
  seq: number,
  firstIndex: number,
  list = entries(firstIndex, firstIndex - 1),
  flags = 0,
) {
  const bytes = Buffer.alloc(segmentHeaderSize + list.reduce((n, e) => n + recordSize(e), 0));
  encodeSegmentHeader({ version: 1, flags, seq, firstIndex }).copy(bytes, 0);
  let offset = segmentHeaderSize;
  for (const e of list) offset = encodeRecord(e, bytes, offset);
  return bytes;
}

async function writeFile(fs: SimFileSystem, path: string, bytes: Uint8Array) {
  const handle = await fs.open(path, "createNew");
  await handle.write(bytes, 0);
  await handle.close();
  fs.overwrite(path, bytes);
}

async function reopen(fs: SimFileSystem, logger = recordingLogger()) {
  return openWal({
    fs,
    dir: "/wal",
    guard: newGuard(),
    logger,
    options: { segmentSize, preallocateBytes: 0 },
  });
}

async function openError(fs: SimFileSystem): Promise<unknown> {
  return reopen(fs).then(
    () => "opened",
    (error: unknown) => error,
  );
}

describe("recovery of the write-ahead log", () => {
  it("cuts off a final record that a crash left incomplete, at every length, and logs it", async () => {
    const base = await diskWith(5);
    const path = lastSegment(base);
    const whole = base.contents(path) as Uint8Array;
    const recordStart = segmentHeaderSize;
    for (let cut = recordStart + 1; cut < whole.length; cut++) {
      for (const zeroFill of [false, true]) {
        const fs = base.restart(keepUnsynced);
        const torn = new Uint8Array(zeroFill ? Math.max(whole.length, 512) : cut);
        torn.set(whole.subarray(0, cut));
        fs.overwrite(path, torn);
        const logger = recordingLogger();
        const wal = await reopen(fs, logger);
        expect(indexes((await wal.load()).entries)).toEqual([1, 2, 3, 4]);
        expect(wal.recovery.tornTail).toMatchObject({ file: path, offset: recordStart });
        expect(logger.records.some((r) => r.level === "warn" && r.message?.includes("torn"))).toBe(
          true,
        );
        expect(fs.contents(path)?.length).toBe(recordStart);
        await wal.append([entry(5, 2)]);
        expect((await (await reopen(fs.restart(keepUnsynced))).load()).entries.at(-1)).toEqual(
          entry(5, 2),
        );
      }
    }
  });

  it("cuts off a header torn inside a write's first record (flag 0), and refuses one whose written bytes disagree", async () => {
    const fs = new SimFileSystem();
    const wal = await openTestWal(fs, { segmentSize: 4096, preallocateBytes: 0 });
    await wal.append(entries(1, 2, 1, 20));
    await wal.append(entries(3, 4, 1, 20));
    await wal.close();
    const base = fs.restart(keepUnsynced);
    const path = lastSegment(base);
    const whole = base.contents(path) as Uint8Array;
    const start = segmentHeaderSize + 2 * recordSize(entry(1, 1, 20));
    for (let cut = start + 1; cut < start + 32; cut++) {
      const torn = base.restart(keepUnsynced);
      torn.overwrite(path, whole.slice(0, cut));
      const reopened = await reopen(torn);
      expect(indexes((await reopened.load()).entries), `cut at ${cut}`).toEqual([1, 2]);
    }
    // The same prefix with its record type zeroed: no crash writes a later byte and not that one.
    const wrong = base.restart(keepUnsynced);
    const bytes = whole.slice(0, start + 16);
    bytes[start + 4] = 0;
    wrong.overwrite(path, bytes);
    expect(await openError(wrong)).toMatchObject({ name: "WalCorruptionError", offset: start });
  });

  it("refuses a complete final record with a flipped bit, naming the file and offset", async () => {
    const fs = await diskWith(5);
    const path = lastSegment(fs);
    const bytes = fs.contents(path) as Uint8Array;
    bytes[segmentHeaderSize + 40] = (bytes[segmentHeaderSize + 40] as number) ^ 0x10;
    fs.overwrite(path, bytes);
    const error = await openError(fs);
    expect(error).toBeInstanceOf(WalCorruptionError);
    expect(error).toMatchObject({ file: path, offset: segmentHeaderSize });
    expect((error as Error).message).toContain("checksum mismatch in the data of entry 5");
  });

  it("refuses data after the last record that no crash leaves, but keeps zeros", async () => {
    const fs = await diskWith(4);
    const path = lastSegment(fs);
    const bytes = fs.contents(path) as Uint8Array;
    // A byte where the next record's header would hold index 5: no crash writes that.
    const withGarbage = new Uint8Array(bytes.length + 16);
    withGarbage.set(bytes);
    withGarbage[bytes.length + 10] = 7;
    fs.overwrite(path, withGarbage);
    expect(await openError(fs)).toMatchObject({
      name: "WalCorruptionError",
      file: path,
      offset: bytes.length,
    });
    // The same byte with a whole header's room after it, the checksums' place zero as a lost
    // sector leaves it: still not what any write of entry 5 held.
    const longer = new Uint8Array(bytes.length + 64);
    longer.set(withGarbage.subarray(0, bytes.length + 16));
    fs.overwrite(path, longer);
    expect(await openError(fs)).toMatchObject({ name: "WalCorruptionError", offset: bytes.length });

    // Zeros are what preallocation leaves (or a lost write): kept, not reported, written over.
    const zeros = new Uint8Array(bytes.length + 300);
    zeros.set(bytes);
    fs.overwrite(path, zeros);
    const logger = recordingLogger();
    const wal = await reopen(fs, logger);
    expect(wal.lastIndex).toBe(4);
    expect(wal.recovery.tornTail).toBeUndefined();
    expect(logger.records.filter((r) => r.level === "warn")).toEqual([]);
    expect(fs.contents(path)?.length).toBe(bytes.length + 300);
    // Entry 5 does not fit in this segment: it is sealed, cut back to its records, first.
    await wal.append([entry(5, 2)]);
    expect(fs.contents(path)?.length).toBe(bytes.length);
    expect((await (await reopen(fs.restart(keepUnsynced))).load()).entries.at(-1)).toEqual(
      entry(5, 2),
    );
  });

  it("refuses damage at the end of a segment that is not the newest", async () => {
    const fs = await diskWith(5);
    const [first] = segmentPaths(fs) as [string];
    const bytes = fs.contents(first) as Uint8Array;
    fs.overwrite(first, bytes.subarray(0, bytes.length - 3));
    expect(await openError(fs)).toMatchObject({
      name: "WalCorruptionError",
      file: first,
      offset: segmentHeaderSize + recordSize(entry(1, 1, 20)),
    });
  });

  it("refuses a log with a missing segment, naming the segment after the hole", async () => {
    const fs = await diskWith(7);
    const paths = segmentPaths(fs);
    fs.forget(paths[1] as string);
    const error = await openError(fs);
    expect(isWalCorruptionError(error) && error.file).toBe(paths[2]);
    expect((error as Error).message).toContain("a segment is missing");
  });

  it("refuses segments whose contents were swapped", async () => {
    const fs = await diskWith(7);
    const [a, b] = segmentPaths(fs).slice(1, 3) as [string, string];
    const [bytesA, bytesB] = [fs.contents(a) as Uint8Array, fs.contents(b) as Uint8Array];
    fs.overwrite(a, bytesB);
    fs.overwrite(b, bytesA);
    const error = await openError(fs);
    expect(isWalCorruptionError(error) && error.file).toBe(a);
    expect((error as Error).message).toContain("the file name says segment 2");
  });

  it("refuses a gap in the indexes within a segment, even with every checksum intact", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/wal");
    const list = [entry(1), entry(2), entry(4)];
    await writeFile(fs, `/wal/${segmentName(1, 1)}`, segmentBytes(1, 1, list));
    const error = await openError(fs);
    expect(error).toMatchObject({
      name: "WalCorruptionError",
      offset: segmentHeaderSize + recordSize(entry(1)) + recordSize(entry(2)),
    });
    expect((error as Error).message).toContain("expected entry 3, found entry 4");
  });

  it("refuses a segment that does not start after the previous one's last entry", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/wal");
    await writeFile(fs, `/wal/${segmentName(1, 1)}`, segmentBytes(1, 1, entries(1, 3)));
    await writeFile(fs, `/wal/${segmentName(2, 5)}`, segmentBytes(2, 5, entries(5, 6)));
    const error = await openError(fs);
    expect(isWalCorruptionError(error) && error.file).toBe(`/wal/${segmentName(2, 5)}`);
    expect((error as Error).message).toContain("expected the segment to start at entry 4");
  });

  it("finishes a reset a crash interrupted: segments older than the reset one are removed", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/wal");
    await writeFile(fs, `/wal/${segmentName(1, 1)}`, segmentBytes(1, 1, entries(1, 3)));
    await writeFile(fs, `/wal/${segmentName(2, 4)}`, segmentBytes(2, 4, entries(4, 5)));
    await writeFile(fs, `/wal/${segmentName(3, 51)}`, segmentBytes(3, 51, [], resetFlag));
    const wal = await reopen(fs);
    expect(await wal.load()).toEqual({ compactedIndex: 50, entries: [] });
    expect(wal.recovery.removedSegments).toEqual([segmentName(1, 1), segmentName(2, 4)]);
    expect(fs.list("/wal")).toEqual([segmentName(3, 51)]);
  });

  it("removes a newest segment whose header a crash cut short, at every length", async () => {
    const base = await diskWith(4);
    const header = encodeSegmentHeader({ version: 1, flags: 0, seq: 3, firstIndex: 5 });
    for (let cut = 0; cut < segmentHeaderSize; cut++) {
      for (const zeroFill of [false, true]) {
        const fs = base.restart(keepUnsynced);
        const bytes = new Uint8Array(zeroFill ? 512 : cut);
        bytes.set(header.subarray(0, cut));
        await writeFile(fs, `/wal/${segmentName(3, 5)}`, bytes);
        const wal = await reopen(fs);
        expect(wal.lastIndex).toBe(4);
        expect(wal.recovery.removedSegments).toEqual([segmentName(3, 5)]);
      }
    }
  });

  it("refuses a complete segment header that fails its checksum", async () => {
    const fs = await diskWith(4);
    const header = encodeSegmentHeader({ version: 1, flags: 0, seq: 3, firstIndex: 5 });
    header[20] = (header[20] as number) ^ 1;
    await writeFile(fs, `/wal/${segmentName(3, 5)}`, header);
    expect(await openError(fs)).toMatchObject({ name: "WalCorruptionError", offset: 0 });
  });

  it("reads a format 1 segment (no last-of-write flags), and never takes zeros in it for a scattered write", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/wal");
    const list = entries(1, 3, 1, 40);
    const bytes = segmentBytes(1, 1, list);
    await writeFile(fs, `/wal/${segmentName(1, 1)}`, bytes);
    expect(indexes((await (await reopen(fs)).load()).entries)).toEqual([1, 2, 3]);
    // Zeros over entry 2's end marker, entry 3 after it: a format 2 segment without flags would
    // have nothing to show a later write by; format 1 keeps the old rule and refuses.
    const end = segmentHeaderSize + recordSize(list[0] as Entry) + recordSize(list[1] as Entry);
    const damaged = Buffer.from(bytes);
    damaged.fill(0, end - 4, end);
    const again = new SimFileSystem();
    await again.mkdir("/wal");
    await writeFile(again, `/wal/${segmentName(1, 1)}`, damaged);
    expect(await openError(again)).toMatchObject({
      name: "WalCorruptionError",
      offset: segmentHeaderSize + recordSize(list[0] as Entry),
    });
  });

  it("refuses a segment written in a format it does not know", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/wal");
    await writeFile(
      fs,
      `/wal/${segmentName(1, 1)}`,
      encodeSegmentHeader({ version: 3, flags: 0, seq: 1, firstIndex: 1 }),
    );
    const error = await openError(fs);
    expect(isUnsupportedFormatError(error) && error.found).toBe("log segment format 3");
    expect(isUnsupportedFormatError(error) && error.supported).toBe("log segment format 1 or 2");
  });

  it("refuses two segments with one sequence number", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/wal");
    await writeFile(fs, `/wal/${segmentName(1, 1)}`, segmentBytes(1, 1, entries(1, 2)));
    await writeFile(fs, `/wal/${segmentName(1, 3)}`, segmentBytes(1, 3, entries(3, 4)));
    expect(((await openError(fs)) as Error).message).toContain(
      "expected one segment with sequence number 1",
    );
  });

  it("leaves files that are not segments alone, with a warning", async () => {
    const fs = await diskWith(2);
    await writeFile(fs, "/wal/notes.txt", new Uint8Array([1, 2, 3]));
    const logger = recordingLogger();
    const wal = await reopen(fs, logger);
    expect(wal.recovery.ignoredFiles).toEqual(["notes.txt"]);
    expect(logger.records.some((r) => r.level === "warn")).toBe(true);
    expect(fs.contents("/wal/notes.txt")).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("refuses a log directory without segments unless it is being created", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/wal");
    const error = await openError(fs);
    expect((error as Error).message).toContain("expected at least one log segment");
  });

  it("refuses an intact record whose entry does not match its own checksum, even at the tail", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/wal");
    const bad = { ...entry(2), checksum: entry(2).checksum ^ 1 };
    await writeFile(fs, `/wal/${segmentName(1, 1)}`, segmentBytes(1, 1, [entry(1), bad]));
    const error = await openError(fs);
    expect((error as Error).message).toContain("entry 2 (its own checksum)");
  });

  it("verifies records on every read, not only at open", async () => {
    const fs = await diskWith(5);
    const wal = await reopen(fs);
    const [first] = segmentPaths(fs) as [string];
    const bytes = fs.contents(first) as Uint8Array;
    bytes[segmentHeaderSize + 35] = (bytes[segmentHeaderSize + 35] as number) ^ 0x01;
    fs.overwrite(first, bytes);
    const error = await wal.read(1, 5).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: "WalCorruptionError",
      file: first,
      offset: segmentHeaderSize,
    });
    expect(await wal.read(3, 5)).toEqual(entries(3, 5, 1, 20));
  });
});
