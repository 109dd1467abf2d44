import { describe, expect, it } from "vitest";
import { type DataDirOptions, openDataDir } from "./data-dir.js";
import {
  isDataDirLockedError,
  isStableStateCorruptionError,
  isUnsupportedFormatError,
  isWalCorruptionError,
} from "./errors.js";
import type { ProcessProbe } from "./lock-file.js";
import { entries, recordingLogger } from "./test-support/fixtures.js";
import { keepUnsynced } from "./testing/crash-policy.js";
import { SimFileSystem } from "./testing/sim-file-system.js";

/** A process as the lock sees it: `pid`, on boot "boot-1", with the given live processes. */
function processProbe(pid: number, alive: number[] = [pid], bootId = "boot-1"): ProcessProbe {
  return { pid, bootId, isAlive: (p) => alive.includes(p) };
}

function options(fs: SimFileSystem, probe = processProbe(100)): DataDirOptions {
  return { fs, process: probe, logger: recordingLogger(), segmentSize: 200 };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => "opened",
    (error: unknown) => error,
  );
}

describe("the data directory", () => {
  it("creates its layout on first open and reopens what it holds", async () => {
    const fs = new SimFileSystem();
    const dir = await openDataDir("/srv/node", options(fs));
    expect(fs.list("/srv/node")).toEqual(["FORMAT", "LOCK", "snapshots", "stable", "wal"]);
    expect(new TextDecoder().decode(fs.contents("/srv/node/FORMAT"))).toBe(
      "raftstore data directory\nformat 1\n",
    );
    await dir.log.append(entries(1, 3));
    await dir.stable.save({ term: 2, vote: "n1" });
    await dir.close();
    expect(fs.list("/srv/node")).not.toContain("LOCK");

    const again = await openDataDir("/srv/node", options(fs.restart(keepUnsynced)));
    expect((await again.log.load()).entries).toEqual(entries(1, 3));
    expect(await again.stable.load()).toEqual({ term: 2, vote: "n1" });
    await again.close();
  });

  it("fails at once with DataDirLockedError naming the holder when the directory is open", async () => {
    const fs = new SimFileSystem();
    const first = await openDataDir("/data", options(fs, processProbe(100, [100, 200])));
    const second = await failure(openDataDir("/data", options(fs, processProbe(200, [100, 200]))));
    expect(isDataDirLockedError(second) && second.pid).toBe(100);
    expect((second as Error).message).toContain("process 100 has it open");
    const same = await failure(openDataDir("/data", options(fs, processProbe(100, [100, 200]))));
    expect((same as Error).message).toContain("this process (pid 100) already has it open");
    await first.close();
    const third = await openDataDir("/data", options(fs, processProbe(200, [100, 200])));
    await third.close();
  });

  it("reclaims the lock of a process that is gone", async () => {
    const fs = new SimFileSystem();
    await openDataDir("/data", options(fs, processProbe(100)));
    // Process 100 dies without closing; process 200 finds its lock.
    const disk = fs.restart(keepUnsynced);
    const logger = recordingLogger();
    const dir = await openDataDir("/data", { ...options(disk, processProbe(200, [200])), logger });
    expect(logger.records.some((r) => r.message?.includes("reclaimed"))).toBe(true);
    expect(new TextDecoder().decode(disk.contents("/data/LOCK"))).toBe(
      '{"pid":200,"bootId":"boot-1"}\n',
    );
    await dir.close();
  });

  it("treats a lock from an earlier boot as stale, whatever its pid", async () => {
    const fs = new SimFileSystem();
    await openDataDir("/data", options(fs, processProbe(100, [100], "boot-1")));
    const disk = fs.restart(keepUnsynced);
    // After a reboot, pid 100 is alive again, but it is another process.
    const dir = await openDataDir("/data", options(disk, processProbe(100, [100], "boot-2")));
    await dir.close();
  });

  it("refuses an unreadable lock file without touching it", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/data");
    const handle = await fs.open("/data/LOCK", "createNew");
    await handle.write(new TextEncoder().encode("garbage"), 0);
    await handle.close();
    const error = await failure(openDataDir("/data", options(fs)));
    expect(isDataDirLockedError(error) && error.pid).toBeUndefined();
    expect((error as Error).message).toContain('holds "garbage", not a process id');
    expect(new TextDecoder().decode(fs.contents("/data/LOCK"))).toBe("garbage");
  });

  it("refuses another format version, saying what it found and what it supports", async () => {
    const fs = new SimFileSystem();
    await (await openDataDir("/data", options(fs))).close();
    fs.overwrite("/data/FORMAT", new TextEncoder().encode("raftstore data directory\nformat 2\n"));
    const error = await failure(openDataDir("/data", options(fs)));
    expect(isUnsupportedFormatError(error) && [error.found, error.supported]).toEqual([
      "format 2",
      '"raftstore data directory" format 1',
    ]);
    expect(fs.list("/data")).not.toContain("LOCK");
  });

  it("refuses to take over a directory holding other files", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/home/me");
    await (await fs.open("/home/me/thesis.tex", "createNew")).close();
    const error = await failure(openDataDir("/home/me", options(fs)));
    expect(isUnsupportedFormatError(error) && error.found).toContain(
      "other files in the directory (thesis.tex)",
    );
    expect(fs.list("/home/me")).toEqual(["thesis.tex"]);
  });

  it("refuses a directory whose FORMAT file is gone but whose log holds entries", async () => {
    const fs = new SimFileSystem();
    const dir = await openDataDir("/data", options(fs));
    await dir.log.append(entries(1, 2));
    await dir.close();
    fs.forget("/data/FORMAT");
    const error = await failure(openDataDir("/data", options(fs)));
    expect(isUnsupportedFormatError(error) && error.found).toContain(
      "no FORMAT file, but /data/wal holds",
    );
  });

  it("refuses a directory whose hard state file is gone", async () => {
    const fs = new SimFileSystem();
    await (await openDataDir("/data", options(fs))).close();
    fs.forget("/data/stable");
    expect(isStableStateCorruptionError(await failure(openDataDir("/data", options(fs))))).toBe(
      true,
    );
  });

  it("refuses a log that starts after the newest snapshot: the entries between are lost", async () => {
    const fs = new SimFileSystem();
    const dir = await openDataDir("/data", options(fs));
    await dir.log.append(entries(1, 9, 1, 20));
    const sink = await dir.snapshots.create({
      index: 8,
      term: 1,
      config: { voters: ["n1"], learners: [] },
    });
    await sink.commit();
    await dir.log.compact(8);
    await dir.close();
    // The snapshot disappears: the log starts after entry 8, and nothing covers entries 1 to 8.
    const [snapshot] = fs.list("/data/snapshots") as [string];
    fs.forget(`/data/snapshots/${snapshot}`);
    const error = await failure(openDataDir("/data", options(fs)));
    expect(isWalCorruptionError(error) && error.message).toContain(
      "the log starts after entry 8, but the newest snapshot covers entries up to 0 only",
    );
  });

  it("refuses nonsensical options with a RangeError, and lets go of the lock", async () => {
    const fs = new SimFileSystem();
    for (const bad of [
      { segmentSize: 0 },
      { maxBatchBytes: 1.5 },
      { retainSnapshots: 0 },
      { slowSyncMs: -1 },
    ]) {
      await expect(openDataDir("/data", { ...options(fs), ...bad })).rejects.toThrow(RangeError);
      expect(fs.list("/data")).not.toContain("LOCK");
    }
  });
});
