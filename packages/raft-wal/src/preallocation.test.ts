import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDataDir } from "./data-dir.js";
import { isWalCorruptionError } from "./errors.js";
import { silentLogger } from "./logger.js";
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
import { segmentHeaderSize } from "./wal-format.js";

// The newest segment holds zeros ahead of its next record, so that an append's fdatasync changes
// neither the file's size nor its block map (README.md, "Preallocation"). The crash-consistency
// and engine-simulation suites run with it on; these tests pin down its shape.

const temporary: string[] = [];
afterAll(async () => {
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

describe("preallocation", () => {
  it("writes zeros ahead, writes records over them, and seals a full segment back to its records", async () => {
    const fs = new SimFileSystem();
    const wal = await openTestWal(fs, { segmentSize: 8192, preallocateBytes: 1024 });
    await wal.append([entry(1, 1, 100)]);
    const [first] = fs.list("/wal");
    const path = `/wal/${first}`;
    // Header, one record, 1 KiB of zeros, rounded up to a page.
    expect(fs.contents(path)?.length).toBe(4096);
    const writes = () => fs.calls;
    const before = writes();
    await wal.append(entries(2, 10, 1, 100));
    // Still one write and one sync per append, and the file did not grow.
    expect(writes() - before).toBe(2);
    expect(fs.contents(path)?.length).toBe(4096);
    // Past the zeros, the same write extends them.
    await wal.append(entries(11, 40, 1, 100));
    const grown = fs.contents(path)?.length as number;
    expect(grown).toBeGreaterThan(4096);
    expect(grown).toBeLessThanOrEqual(8192);
    // Fill the segment: the next one starts, and this one is cut back to its records.
    for (let i = 41; i <= 80; i++) await wal.append([entry(i, 1, 100)]);
    const names = fs.list("/wal");
    expect(names.length).toBeGreaterThan(1);
    const sealed = fs.contents(path) as Uint8Array;
    expect(sealed.length).toBeLessThanOrEqual(8192);
    expect(sealed.at(-1)).not.toBe(0);
    await wal.close();

    const reopened = await openTestWal(fs.restart(keepUnsynced), {
      segmentSize: 8192,
      preallocateBytes: 1024,
    });
    expect(indexes((await reopened.load()).entries)).toEqual(
      Array.from({ length: 80 }, (_, i) => i + 1),
    );
    await reopened.close();
  });

  it("cuts off, or refuses, a flipped byte in the zeros ahead, and loses no entry", async () => {
    const fs = new SimFileSystem();
    const wal = await openTestWal(fs, { segmentSize: 4096, preallocateBytes: 512 });
    await wal.append(entries(1, 3, 1, 20));
    await wal.close();
    const base = fs.restart(keepUnsynced);
    const path = `/wal/${base.list("/wal")[0]}`;
    const original = base.contents(path) as Uint8Array;
    const recordsEnd = segmentHeaderSize + 3 * (40 + 20);
    expect(isZero(original.subarray(recordsEnd))).toBe(true);
    for (let offset = recordsEnd; offset < original.length; offset += 7) {
      for (const mask of [0xff, 0x01, 0x80]) {
        const disk = base.restart(keepUnsynced);
        const damaged = original.slice();
        damaged[offset] = (damaged[offset] as number) ^ mask;
        disk.overwrite(path, damaged);
        const result = await openWal({
          fs: disk,
          dir: "/wal",
          guard: newGuard(),
          logger: recordingLogger(),
        }).then(
          async (reopened) => indexes((await reopened.load()).entries),
          (error: unknown) => error,
        );
        if (!isWalCorruptionError(result)) expect(result).toEqual([1, 2, 3]);
      }
    }
  });

  it("preallocates real segment files and reads them back after a restart", async () => {
    const root = await mkdtemp(join(tmpdir(), "raft-wal-prealloc-"));
    temporary.push(root);
    const path = join(root, "node");
    const dir = await openDataDir(path, { logger: silentLogger });
    await dir.log.append(entries(1, 5, 1, 256));
    const [segment] = await readdir(join(path, "wal"));
    expect((await stat(join(path, "wal", segment as string))).size).toBe(256 * 1024 + 4096);
    await dir.close();
    const again = await openDataDir(path, { logger: silentLogger });
    expect((await again.log.load()).entries).toEqual(entries(1, 5, 1, 256));
    expect(again.log.recovery.tornTail).toBeUndefined();
    await again.close();
  });
});
